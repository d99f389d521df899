package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/control/controltest"
)

// fakeBoxd serves a fake API on a socket in a temp dir until the test ends.
func fakeBoxd(t *testing.T) (*controltest.Fake, string) {
	t.Helper()
	f := &controltest.Fake{
		SessionList: []control.Session{{User: "alice", Peer: "198.51.100.7", PeerPort: 50123, IP: "10.0.0.2", CallID: 7, MPPE: "MPPE 128-bit stateless", AuthSource: "local"}},
		Errs:        map[string]error{},
	}
	return f, controltest.Serve(t, control.NewHandler(f))
}

func boxctl(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestExitCodes: each outcome has its exit status, as the usage documents.
func TestExitCodes(t *testing.T) {
	f, sock := fakeBoxd(t)
	f.Errs["ConfigSet"] = &control.Error{Code: control.CodeRefused, Message: "pptp.mppe: bad value",
		Details: []string{"pptpbox.toml:2: pptp.mppe: not one of allow, require-128"}}
	f.Errs["Reload"] = errors.New("disk on fire")
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"--socket", sock, "show", "sessions"}, exitOK, "198.51.100.7:50123", ""},
		{[]string{"--socket", sock, "sh", "sess"}, exitOK, "MPPE 128-bit stateless", ""},
		{[]string{"--socket", sock, "kick", "alice"}, exitOK, "kicked alice", ""},
		{[]string{"--socket", sock, "kick", "nobody"}, exitNotFound, "", `no session "nobody"`},
		{[]string{"--socket", sock, "config", "set", "pptp.mppe", "sometimes"}, exitRefused, "", "pptpbox.toml:2: pptp.mppe: not one of"},
		{[]string{"--socket", sock, "reload"}, exitError, "", "disk on fire"},
		{[]string{"--socket", sock, "bogus"}, exitUsage, "", `"bogus" is not a command`},
		{[]string{"--socket", sock, "show"}, exitUsage, "", "incomplete command"},
		{[]string{"--socket", sock, "kick"}, exitUsage, "", "missing <user|id|address>"},
		{[]string{"--sock3t", sock}, exitUsage, "", "flag provided but not defined"},
		{[]string{"--socket", filepath.Join(t.TempDir(), "none.sock"), "show", "sessions"}, exitNotRunning, "", "boxd is not running"},
		{[]string{"--socket", sock}, exitUsage, "", "needs a terminal"},
		{[]string{"-h"}, exitOK, "Exit status: 0 ok, 1 another error, 2 usage, 3 boxd is\nnot running, 4 refused (a config that does not validate), 5 not found.", ""},
	} {
		code, out, errOut := boxctl(tc.args...)
		if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(errOut, tc.stderr) {
			t.Errorf("boxctl %q: exit %d, stdout\n%s\nstderr\n%s\nwant exit %d, %q in stdout, %q in stderr",
				tc.args, code, out, errOut, tc.code, tc.stdout, tc.stderr)
		}
	}
	if calls := f.Calls(); !strings.Contains(strings.Join(calls, ";"), "Kick alice;Kick nobody;ConfigSet pptp.mppe sometimes;Reload") {
		t.Errorf("the API saw %q", calls)
	}
}

// TestUsageListsCommands: -h and help list the whole command tree.
func TestUsageListsCommands(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"help"}, {"--help"}} {
		code, out, _ := boxctl(args...)
		if code != exitOK {
			t.Errorf("boxctl %q: exit %d", args, code)
		}
		for _, w := range []string{"show sessions", "show session <user|id|address>", "kick <user|id|address>", "trace user <name>",
			"users add <name> <password> [<ip>]", "ping <host> [count <N>]", "config commit confirmed <minutes>", "config set <key> <value>",
			"--json", "-socket"} {
			if !strings.Contains(out, w) {
				t.Errorf("boxctl %q does not list %q:\n%s", args, w, out)
			}
		}
		for _, w := range []string{"reboot", "save-to-usb"} { // the box console's only
			if strings.Contains(out, w) {
				t.Errorf("boxctl %q lists %q", args, w)
			}
		}
	}
}

// TestJSON: --json before or after the command prints the typed reply.
func TestJSON(t *testing.T) {
	f, sock := fakeBoxd(t)
	for _, args := range [][]string{{"--socket", sock, "--json", "show", "sessions"}, {"--socket", sock, "show", "sessions", "--json"}} {
		code, out, errOut := boxctl(args...)
		var ss []control.Session
		if code != exitOK || json.Unmarshal([]byte(out), &ss) != nil || len(ss) != 1 || !reflect.DeepEqual(ss[0], f.SessionList[0]) {
			t.Errorf("boxctl %q: exit %d %s %s", args, code, out, errOut)
		}
	}
}

// TestLegacyCommands: the old boxctl's commands still work, over the
// typed API.
func TestLegacyCommands(t *testing.T) {
	f, sock := fakeBoxd(t)
	f.SystemReply.Version = "v7"
	f.StatsReply.Goroutines = 12
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sessions"}, exitOK, "alice  10.0.0.2"},
		{[]string{"sessions", "--json"}, exitOK, `"user": "alice"`},
		{[]string{"stats"}, exitOK, `"goroutines": 12`},
		{[]string{"disconnect", "alice"}, exitOK, `"ended": 1`},
		{[]string{"disconnect", "nobody"}, exitNotFound, ""},
		{[]string{"disconnect"}, exitUsage, ""},
		{[]string{"ping"}, exitOK, `"version": "v7"`},
	} {
		code, out, errOut := boxctl(append([]string{"-socket", sock}, tc.args...)...)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("boxctl %q: exit %d\n%s%s", tc.args, code, out, errOut)
		}
	}
	if calls := strings.Join(f.Calls(), ";"); calls != "Sessions;Sessions;Stats;Kick alice;Kick nobody;Ping" {
		t.Errorf("the API saw %s", calls)
	}
}
