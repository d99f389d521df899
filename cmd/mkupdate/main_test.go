package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeygenBuildInspect: a new key pair signs an update built from a mkfirmware output
// directory; inspect verifies it with the public half and refuses it for another board.
func TestKeygenBuildInspect(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if err := run([]string{"keygen", "-out", filepath.Join(dir, "keys")}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"keygen", "-out", filepath.Join(dir, "keys")}, &out, &errb); err == nil || !strings.Contains(err.Error(), "not overwriting") {
		t.Fatalf("second keygen: %v", err)
	}
	in := filepath.Join(dir, "out")
	os.MkdirAll(in, 0o755)
	for name, data := range map[string]string{"qemu-amd64.vmlinuz": "k", "qemu-amd64.initrd.zst": "i", "qemu-amd64.version": "v9\n"} {
		os.WriteFile(filepath.Join(in, name), []byte(data), 0o644)
	}
	if err := run([]string{"build", "-key", filepath.Join(dir, "keys", "update.key"), "-board", "board/qemu-amd64", "-in", in}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(in, "pptpbox-qemu-amd64-v9.upd")
	out.Reset()
	if err := run([]string{"inspect", "-pub", filepath.Join(dir, "keys", "update.pub"), file}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "board qemu-amd64\nversion v9\n") || !strings.HasSuffix(out.String(), "verified\n") {
		t.Fatalf("inspect:\n%s", out.String())
	}
	err := run([]string{"inspect", "-pub", filepath.Join(dir, "keys", "update.pub"), "-board", "apu2", file}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "built for board qemu-amd64, this box is apu2") {
		t.Fatalf("inspect for apu2: %v", err)
	}
}
