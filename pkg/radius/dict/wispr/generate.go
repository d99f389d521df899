// Package wispr holds the WISPr vendor attributes pptpbox honours,
// generated from dictionaries/dictionary.wispr.
package wispr

//go:generate go tool radius-dict-gen -package wispr -output generated.go ../../../../dictionaries/dictionary.wispr
