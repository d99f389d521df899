package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/login"
)

// The update upload ([upgrade] listen; firmware/README.md, "Upgrades"):
//
//	curl -T pptpbox-qemu-amd64-v2.upd -u admin http://192.168.1.1:8080/
//
// boxd checks the password and streams the body to the init's upgrade socket, which
// verifies the file's signature, installs it and reboots; the init's lines are the reply
// (200 with "ok" last, 422 with the refusal). Any user name; one upload at a time; a wrong
// password costs a second, so guesses are slow.

// maxUpload bounds a request body (update files are ~15 MiB).
const maxUpload = 256 << 20

// serveUpgrade serves the upload on cfg's [upgrade] listen until ctx ends.
func (b *box) serveUpgrade(ctx context.Context, cfg *config.Config, wg *sync.WaitGroup) {
	ap, on := cfg.UpgradeListen()
	if !on {
		return
	}
	hs := &http.Server{Handler: upgradeHandler(cfg.Upgrade.PasswordHash, control.UpgradeSocket, b.log),
		ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	b.serveHTTP(ctx, wg, "upgrade", ap.String(), hs, 5*time.Second)
}

// upgradeHandler takes PUT or POST of an update file with the password in Basic auth and
// hands it to the init at sock.
func upgradeHandler(hash, sock string, log *slog.Logger) http.Handler {
	var auth, busy sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut && r.Method != http.MethodPost {
			w.Header().Set("Allow", "PUT, POST")
			http.Error(w, "upgrade: PUT or POST an update file (curl -T FILE -u admin URL)", http.StatusMethodNotAllowed)
			return
		}
		_, pw, ok := r.BasicAuth()
		if !ok || !login.Verify(hash, pw) {
			// Serialised and slowed: one guess a second, whatever the client does.
			auth.Lock()
			time.Sleep(time.Second)
			auth.Unlock()
			log.Warn("upgrade upload refused: wrong password", "peer", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Basic realm="pptpbox upgrade"`)
			http.Error(w, "upgrade: wrong or missing password", http.StatusUnauthorized)
			return
		}
		if !busy.TryLock() {
			http.Error(w, "upgrade: another upload is under way", http.StatusConflict)
			return
		}
		defer busy.Unlock()
		log.Info("upgrade upload", "peer", r.RemoteAddr, "bytes", r.ContentLength)
		lines, err := handToInit(r.Context(), sock, http.MaxBytesReader(w, r.Body, maxUpload))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err != nil {
			log.Warn("upgrade upload refused", "peer", r.RemoteAddr, "err", err)
			w.WriteHeader(http.StatusUnprocessableEntity)
			for _, l := range lines {
				fmt.Fprintln(w, l)
			}
			fmt.Fprintf(w, "error: %v\n", err)
			return
		}
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
		fmt.Fprintln(w, "ok")
	})
}

// handToInit streams body to the init's upgrade socket and returns its progress lines;
// the error is the init's refusal, or why it could not be asked.
func handToInit(ctx context.Context, sock string, body io.Reader) ([]string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, fmt.Errorf("upgrade: the init does not answer: %w", err)
	}
	defer c.Close()
	if _, err := fmt.Fprintf(c, "%s http\n", control.UpgradeMagic); err != nil {
		return nil, err
	}
	if _, err := io.Copy(c, body); err != nil {
		return nil, fmt.Errorf("upgrade: reading the upload: %w", err)
	}
	c.(*net.UnixConn).CloseWrite()
	var lines []string
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case l == "ok":
			return lines, nil
		case strings.HasPrefix(l, "error: "):
			return lines, errors.New(strings.TrimPrefix(l, "error: "))
		}
		lines = append(lines, l)
	}
	return lines, errors.New("upgrade: the init closed the connection without a result")
}
