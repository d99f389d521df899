package main

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/login"
)

// fakeInitSocket answers upgrade requests as the init does: "bad" is refused.
func fakeInitSocket(t *testing.T) (string, chan string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "upgrade.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r := bufio.NewReader(c)
			line, _ := r.ReadString('\n')
			body, _ := io.ReadAll(r)
			got <- line + string(body)
			if string(body) == "bad" {
				io.WriteString(c, "error: update: not a pptpbox update file\n")
			} else {
				io.WriteString(c, "upgrade: writing B/vmlinuz\nok\n")
			}
			c.Close()
		}
	}()
	return sock, got
}

func TestUpgradeUpload(t *testing.T) {
	h, err := login.Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	sock, got := fakeInitSocket(t)
	srv := httptest.NewServer(upgradeHandler(h, sock, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	do := func(method, pw, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+"/pptpbox.upd", strings.NewReader(body))
		if pw != "" {
			req.SetBasicAuth("admin", pw)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, _ := do("GET", "pw", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", code)
	}
	if code, _ := do("PUT", "", "x"); code != http.StatusUnauthorized {
		t.Errorf("no password: %d", code)
	}
	if code, _ := do("PUT", "guess", "x"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", code)
	}
	code, body := do("PUT", "pw", "update bytes")
	if code != http.StatusOK || body != "upgrade: writing B/vmlinuz\nok\n" {
		t.Errorf("upload: %d %q", code, body)
	}
	if g := <-got; g != control.UpgradeMagic+" http\nupdate bytes" {
		t.Errorf("the init got %q", g)
	}
	code, body = do("POST", "pw", "bad")
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "error: update: not a pptpbox update file") {
		t.Errorf("refused upload: %d %q", code, body)
	}
	srv2 := httptest.NewServer(upgradeHandler(h, filepath.Join(t.TempDir(), "none"), slog.New(slog.DiscardHandler)))
	defer srv2.Close()
	req, _ := http.NewRequest("PUT", srv2.URL, strings.NewReader("x"))
	req.SetBasicAuth("a", "pw")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(b), "the init does not answer") {
		t.Errorf("no init: %d %q", res.StatusCode, b)
	}
}
