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
	b := newBox(cfg, boxFiles{path: path, text: text, store: confstore.Store{Path: path}}, io.Discard)
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
