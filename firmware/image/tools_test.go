package image

import (
	"context"
	"strings"
	"testing"
)

// TestMissingToolNamesPackage: a host tool that is not installed (seen on a fresh Debian:
// `depmod: executable file not found`) fails with the package that has it and `make deps`.
func TestMissingToolNamesPackage(t *testing.T) {
	b := &builder{}
	t.Setenv("PATH", t.TempDir())
	_, err := b.run(context.Background(), "", nil, "depmod", "-b", "/nonexistent", "6.1")
	if err == nil || !strings.Contains(err.Error(), "install the Debian package kmod") || !strings.Contains(err.Error(), "make deps") {
		t.Fatalf("err = %v", err)
	}
	_, err = b.run(context.Background(), "", nil, "no-such-tool-xyz")
	if err == nil || !strings.Contains(err.Error(), "make deps") {
		t.Fatalf("err = %v", err)
	}
}
