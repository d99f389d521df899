// Package dict ties pkg/radius to the project's RADIUS dictionaries
// (dictionaries/ at the top of the tree, FreeRADIUS format).
//
// The vendor attributes layeh.com/radius does not give us from our own files
// are generated from them, one package per vendor (mikrotik, wispr), by
// layeh's radius-dict-gen, pinned as a tool in go.mod:
//
//	go generate ./pkg/radius/dict/...
//
// dict_test.go fails when the generated code is not what the generator
// makes of the files now, when a dictionary file disagrees with the
// attribute packages of layeh.com/radius (name, number, type, values), and
// when pkg/radius uses an attribute the files do not list.
package dict
