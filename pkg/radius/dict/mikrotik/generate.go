// Package mikrotik holds the MikroTik vendor attributes pptpbox honours,
// generated from dictionaries/dictionary.mikrotik.
package mikrotik

//go:generate go tool radius-dict-gen -package mikrotik -output generated.go ../../../../dictionaries/dictionary.mikrotik
