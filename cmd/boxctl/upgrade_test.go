package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/control"
)

// fakeInit answers one upgrade request as the init does: it checks the request line,
// reads the file and answers with reply.
func fakeInit(t *testing.T, reply string) (sock string, got chan []byte) {
	t.Helper()
	sock = filepath.Join(t.TempDir(), "upgrade.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got = make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		line, _ := r.ReadString('\n')
		if line != control.UpgradeMagic+" boxctl\n" {
			io.WriteString(c, "error: bad request line\n")
			return
		}
		data, _ := io.ReadAll(r)
		got <- data
		io.WriteString(c, reply)
	}()
	return sock, got
}

func TestUpgrade(t *testing.T) {
	file := filepath.Join(t.TempDir(), "x.upd")
	os.WriteFile(file, []byte("update bytes"), 0o644)

	sock, got := fakeInit(t, "upgrade: writing B/vmlinuz\nok\n")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--upgrade-socket", sock, "upgrade", file}, nil, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if string(<-got) != "update bytes" || out.String() != "upgrade: writing B/vmlinuz\n" {
		t.Fatalf("out %q", out.String())
	}

	sock, _ = fakeInit(t, "error: update: refused: built for board apu2, this box is qemu-amd64\n")
	out.Reset()
	errb.Reset()
	code := run(context.Background(), []string{"--upgrade-socket", sock, "upgrade", file}, nil, &out, &errb)
	if code != exitError || !strings.Contains(errb.String(), "built for board apu2") {
		t.Fatalf("refusal: exit %d, %q", code, errb.String())
	}
	if code := run(context.Background(), []string{"--upgrade-socket", sock, "upgrade"}, nil, &out, &errb); code != exitUsage {
		t.Fatalf("no file: exit %d", code)
	}
	errb.Reset()
	code = run(context.Background(), []string{"--upgrade-socket", filepath.Join(t.TempDir(), "none"), "upgrade", file}, nil, &out, &errb)
	if code == exitOK || !strings.Contains(errb.String(), "installed by the box's init") {
		t.Fatalf("no init: exit %d, %q", code, errb.String())
	}
}
