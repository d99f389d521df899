package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/confstore"
	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// liveRig is what TestConfigCommitLive passes to its inner run.
type liveRig struct {
	Bin, ClientNS, Run, Store string
}

const liveRigEnv = "PPTPBOX_CONFIG_LIVE_RIG"

// TestConfigCommitLive: through the control API, a user added and
// committed logs in at once, without a restart, while another user's
// session stays up; a bad set is refused naming the key; a commit
// confirmed that nobody confirms reverts by itself. boxd runs in this
// test's binary (TestConfigCommitLiveInner, started inside the server's
// namespace) so that the test calls boxAPI directly; the clients are the Go
// client (pptpc) in another namespace.
func TestConfigCommitLive(t *testing.T) {
	netnstest.Require(t, "ip")
	bin := buildBinaries(t)
	srv := netnstest.NewNS(t, "csrv")
	cli := netnstest.NewNS(t, "ccli")
	linkPair(t, srv, "192.0.2.1/24", cli, "192.0.2.2/24")
	dir := t.TempDir()
	rig := liveRig{Bin: bin, ClientNS: cli.Name, Run: filepath.Join(dir, "run", "pptpbox.toml"), Store: filepath.Join(dir, "config", "pptpbox.toml")}
	text := "# the office\n[pptp]\nlisten = \"192.0.2.1:1723\"\n\n[[user]]\nname = \"carol\"\npassword = \"carol-pw\"\n"
	for _, p := range []string{rig.Run, rig.Store} {
		os.MkdirAll(filepath.Dir(p), 0o700)
		os.WriteFile(p, []byte(text), 0o600)
	}
	env, _ := json.Marshal(rig)
	cmd := srv.Cmd(os.Args[0], "-test.run=^TestConfigCommitLiveInner$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), liveRigEnv+"="+string(env))
	p := startProc(t, cmd)
	if err := p.wait(t, 3*time.Minute); err != nil {
		t.Fatalf("inner run: %v\n%s", err, p.log.String())
	}
	t.Logf("inner run:\n%s", p.log.String())
	if !strings.Contains(p.log.String(), "--- PASS: TestConfigCommitLiveInner") {
		t.Fatalf("the inner run did not pass:\n%s", p.log.String())
	}
}

func TestConfigCommitLiveInner(t *testing.T) {
	var rig liveRig
	if err := json.Unmarshal([]byte(os.Getenv(liveRigEnv)), &rig); err != nil {
		t.Skip("run by TestConfigCommitLive inside its namespace")
	}
	cfg, text, err := loadConfig(rig.Run)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	boxLog := newLogTail(pr)
	b := newBox(cfg, boxFiles{path: rig.Run, text: text, store: confstore.Store{Path: rig.Store, RunPath: rig.Run}}, sysInfo{}, pw)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.serve(ctx, "") }()
	defer func() {
		cancel()
		<-done
		pw.Close()
	}()
	boxLog.waitFor(t, "pptp server ready", 20*time.Second)
	defer func() {
		if t.Failed() {
			t.Logf("boxd log:\n%s", boxLog.String())
		}
	}()
	cli := &netnstest.NS{Name: rig.ClientNS}
	login := func(user string) *proc {
		p := startProc(t, cli.Cmd(filepath.Join(rig.Bin, "pptpc"), "-server", "192.0.2.1", "-user", user, "-password", user+"-pw", "-tun", "c-"+user))
		p.log.waitFor(t, "connected:", 30*time.Second)
		return p
	}
	carol := login("carol")
	api := boxAPI{b}

	// A bad set is refused with the key named; the candidate is unchanged.
	err = api.ConfigSet(ctx, "pptp.mttu", "1300")
	if control.CodeOf(err) != control.CodeRefused || !strings.Contains(err.Error(), "pptp.mttu") {
		t.Fatalf("bad key: %v", err)
	}
	if d, _ := api.ConfigDiff(ctx); d != "" {
		t.Fatalf("a refused set changed the candidate:\n%s", d)
	}

	// Add dave and commit: dave logs in now; carol stays up.
	if err := api.UserAdd(ctx, control.UserSpec{Name: "dave", Password: "dave-pw"}); err != nil {
		t.Fatal(err)
	}
	res, err := api.ConfigCommit(ctx, control.CommitRequest{})
	if err != nil || !res.Changed || !slices.Contains(res.Applied, "user") || len(res.Ended) != 0 {
		t.Fatalf("commit: %+v %v", res, err)
	}
	dave := login("dave")
	sessions := b.srv.Sessions()
	if len(sessions) != 2 {
		t.Fatalf("sessions after the commit: %+v", sessions)
	}
	if users, _ := api.Users(ctx); len(users) != 2 || users[1].Name != "dave" {
		t.Errorf("users: %+v", users)
	}
	for path, want := range map[string]bool{rig.Store: true, rig.Run: true, rig.Store + ".prev": false} {
		if b, _ := os.ReadFile(path); strings.Contains(string(b), `name = "dave"`) != want {
			t.Errorf("%s has dave: %v, want %v", path, !want, want)
		}
	}

	// Delete dave, commit confirmed with a short window, do not confirm:
	// dave's session ends (Admin-Reset), then the revert brings him back.
	if err := api.UserDelete(ctx, "dave"); err != nil {
		t.Fatal(err)
	}
	res, err = api.ConfigCommit(ctx, control.CommitRequest{ConfirmWithin: 2 * time.Second})
	if err != nil || len(res.Ended) != 1 || res.Ended[0].User != "dave" || res.RevertAt.IsZero() {
		t.Fatalf("commit confirmed: %+v %v", res, err)
	}
	dave.log.waitFor(t, "link down", 15*time.Second)
	if b.pendingCommit() == nil {
		t.Error("show system has no pending commit")
	}
	if _, err := os.Stat(rig.Store + ".pending"); err != nil {
		t.Errorf("no pending marker: %v", err)
	}
	boxLog.waitFor(t, "commit confirmed not confirmed in time: reverted", 10*time.Second)
	if users, _ := api.Users(ctx); len(users) != 2 {
		t.Errorf("users after the revert: %+v", users)
	}
	if b.pendingCommit() != nil {
		t.Error("still pending after the revert")
	}
	if st, _ := os.ReadFile(rig.Store); !strings.Contains(string(st), `name = "dave"`) {
		t.Errorf("the store was not reverted:\n%s", st)
	}
	login("dave")
	select {
	case <-carol.done:
		t.Fatalf("carol's client ended:\n%s", carol.log.String())
	default:
	}
	if strings.Contains(boxLog.String(), `msg="session down" user=carol`) {
		t.Error("carol's session went down")
	}
}
