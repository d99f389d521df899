package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/confstore"
	"github.com/pptpbox/pptpbox/pkg/control"
)

// TestAPIReload: a file that fails validation is refused with CodeRefused
// and its file:line: key: message in Details, and the box keeps its
// config; a good one is applied and says what changed live and what waits
// for a restart.
func TestAPIReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pptpbox.toml")
	good := "[[user]]\nname = \"alice\"\npassword = \"a\"\n"
	os.WriteFile(path, []byte(good), 0o600)
	cfg, text, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	b := newBox(cfg, boxFiles{path: path, text: text, store: confstore.Store{Path: path}}, sysInfo{}, io.Discard)
	api := boxAPI{b}
	ctx := context.Background()

	os.WriteFile(path, []byte(good+"[pptp]\nremote_ip = \"10.0.0.1-300\"\n"), 0o600)
	_, err = api.Reload(ctx)
	var e *control.Error
	if !errors.As(err, &e) || e.Code != control.CodeRefused || len(e.Details) != 1 || !strings.HasPrefix(e.Details[0], path+":5: pptp.remote_ip: ") {
		t.Fatalf("bad file: %#v", err)
	}
	if users, _ := api.Users(ctx); len(users) != 1 {
		t.Fatalf("users after a refused reload: %+v", users)
	}

	os.WriteFile(path, []byte(good+"[[user]]\nname = \"bob\"\npassword = \"b\"\nip = \"*\"\n[pptp]\nmtu = 1300\n"), 0o600)
	res, err := api.Reload(ctx)
	if err != nil || res.Config != path || !slices.Equal(res.Applied, []string{"user"}) || !slices.Equal(res.Restart, []string{"pptp"}) {
		t.Fatalf("good file: %+v %v", res, err)
	}
	if users, _ := api.Users(ctx); len(users) != 2 || users[1] != (control.User{Name: "bob"}) {
		t.Errorf("users: %+v", users)
	}
	if text, _ := api.ConfigShow(ctx, control.Running); text.Path != path || text.Text[:8] != "[[user]]" {
		t.Errorf("running: %+v", text)
	}
}

// TestStartRevertsPendingCommit: boxd started while a commit confirmed
// waits (it stopped before the confirmation) puts the rollback point back
// in the store and the run file before it reads its config, and runs it.
func TestStartRevertsPendingCommit(t *testing.T) {
	dir := t.TempDir()
	runFile, store := filepath.Join(dir, "run.toml"), filepath.Join(dir, "store.toml")
	before := "[pptp]\nenabled = false\n"
	unconfirmed := before + "[[user]]\nname = \"x\"\npassword = \"y\"\n"
	for path, text := range map[string]string{runFile: unconfirmed, store: unconfirmed, store + ".prev": before, store + ".pending": `{"revert_at":"2026-12-02T22:00:00Z"}`} {
		os.WriteFile(path, []byte(text), 0o600)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var log strings.Builder
	if err := run(ctx, []string{"-config", runFile, "-config-store", store, "-control", ""}, io.Discard, &log); err != nil {
		t.Fatalf("boxd: %v\n%s", err, log.String())
	}
	for _, path := range []string{runFile, store} {
		if b, _ := os.ReadFile(path); string(b) != before {
			t.Errorf("%s: %q, want the rollback point", path, b)
		}
	}
	if _, err := os.Stat(store + ".pending"); err == nil {
		t.Error("the pending marker stayed")
	}
	if !strings.Contains(log.String(), "reverted to the rollback point") {
		t.Errorf("the revert is not logged:\n%s", log.String())
	}
}
