package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/cli"
	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/control/controltest"
)

var t0 = time.Date(2026, 12, 2, 21, 0, 0, 0, time.UTC)

func fakeBox() *controltest.Fake {
	alice := control.Session{User: "alice", Peer: "198.51.100.7", PeerPort: 50123, IP: "10.0.0.2", CallID: 7, PeerCall: 9,
		MPPE: "MPPE 128-bit stateless", Uptime: 3*time.Hour + 4*time.Minute, BytesIn: 1536, BytesOut: 5 << 20,
		PktsIn: 1200, PktsOut: 4500, State: "network", Auth: "mschapv2", AuthSource: "radius", AcctSessionID: "0000000A",
		RateLimit: "512k/2M", LimitedIn: 3, LimitedOut: 41, Routes: []string{"10.10.0.0/24", "10.20.0.0/16"}}
	bob := control.Session{User: "bob", Peer: "203.0.113.9", IP: "10.0.0.3", CallID: 8, Uptime: 42 * time.Second, AuthSource: "local"}
	return &controltest.Fake{
		SessionList: []control.Session{alice, bob},
		Details: map[string]control.SessionDetail{"alice": {Session: alice,
			LCP:    []control.Option{{Dir: "local", Name: "mru", Value: "1400"}, {Dir: "peer", Name: "auth", Value: "chap MS-v2"}},
			CCP:    []control.Option{{Dir: "local", Name: "mppe", Value: "+H -M +S -L -D -C"}},
			IPCP:   []control.Option{{Dir: "peer", Name: "addr", Value: "10.0.0.2"}, {Dir: "local", Name: "ms-dns", Value: "192.168.1.1"}},
			Radius: []control.Attribute{{Name: "Framed-IP-Address", Value: "10.0.0.2"}, {Name: "MS-MPPE-Recv-Key", Value: "(masked)"}},
			Drops:  []control.Counter{{Name: "mppe_out_of_order", Value: 3}}, Counters: []control.Counter{{Name: "lcp_echo_sent", Value: 12}}}},
		StatsReply: control.StatsReply{Stats: control.Stats{Sessions: 2, GREMalformed: 5, Control: control.ControlCounters{BadMagic: 4}},
			Radius: &control.RadiusCounters{Timeouts: 6}, Goroutines: 33},
		RadiusReply: control.RadiusReply{Enabled: true, Servers: []control.RadiusServer{
			{Address: "192.0.2.10:1812", Role: "auth", Up: true, LastRTT: 2500 * time.Microsecond, AvgRTT: 3 * time.Millisecond, Requests: 40, Timeouts: 1, LastSeen: time.Now().Add(-time.Minute)},
			{Address: "192.0.2.11:1813", Role: "acct", Requests: 4, Timeouts: 4}}, Counters: &control.RadiusCounters{Accepts: 38, Rejects: 2}},
		NATReply: control.NATReply{Enabled: true, Table: "inet pptpbox", Rules: []control.NATRule{
			{Chain: "postrouting", Comment: "masquerade LAN to WAN", Counter: "masq", Packets: 12000, Bytes: 3 << 20}},
			Counters: []control.Counter{{Name: "wan_in_dropped", Value: 77}}},
		DialOutList: []control.DialOut{{Name: "hq", Iface: "dial-hq", Server: "198.51.100.7:1723", Routes: []string{"10.20.0.0/16"}, Masquerade: true,
			State: "up", Since: time.Now().Add(-90 * time.Second), Local: "10.79.97.10", Peer: "10.79.97.1", Connects: 2},
			{Name: "dc", Iface: "dial-dc", Server: "192.0.2.9:1723", Routes: []string{"10.30.0.0/24"}, State: "backoff", Since: time.Now(),
				Failures: 3, LastError: "connection refused", NextDial: time.Now().Add(8 * time.Second)}},
		LeaseList: []control.Lease{{IP: "192.168.1.100", MAC: "52:54:00:12:34:56", Hostname: "laptop", Expires: time.Now().Add(2*time.Hour + 30*time.Second)}},
		Ifaces: []control.Interface{{Name: "eth0", Role: "wan", Up: true, MTU: 1500, MAC: "52:54:00:00:00:01",
			Addresses: []string{"198.51.100.1/24"}, RxBytes: 2048, RxPackets: 10, TxBytes: 4096, TxPackets: 20, RxDropped: 1}},
		RouteList: []control.Route{{Dst: "default", Gateway: "198.51.100.254", Dev: "eth0", Protocol: "dhcp", Metric: 100}},
		SystemReply: control.System{Version: "v9.1", Board: "apu2", Hostname: "box", Uptime: 26 * time.Hour, BoxdUptime: 90 * time.Second,
			Load: [3]float64{0.5, 0.25, 0.01}, MemTotal: 2 << 30, MemAvailable: 1 << 30, ConfigFile: "/run/pptpbox.toml",
			ConfigStore: "/config/pptpbox.toml", ConfigSource: "CONFIG partition", Pending: &control.Pending{RevertAt: t0},
			Ports: []control.Port{{Role: "wan", Iface: "wan", Present: true}, {Role: "lan", Iface: "lan", Off: []string{"LAN DHCP server"}}},
			Time:  t0, Clock: &control.Clock{Synced: true, SetsClock: true, Server: "pool.ntp.org", Stratum: 2, Offset: -3400 * time.Microsecond,
				Action: "slewed", LastSync: t0.Add(-2 * time.Minute), NextPoll: t0.Add(6 * time.Minute)},
			Syslog: &control.Syslog{Server: "192.0.2.9:514", Sent: 10, Dropped: 1, LastError: "connection refused"},
			Firmware: &control.Firmware{Running: "B", Committed: "A", Slots: []control.FirmwareSlot{{Name: "A", Version: "v9.0"}, {Name: "B", Version: "v9.1"}},
				LastUpgrade: "slot B (v9.1) on trial"}},
		Previous: control.PreviousLog{File: "/config/log/previous.log", Saved: t0, Lines: []string{`boxd: level=INFO msg="pptp server ready"`, "pptpbox: reboot"}},
		LogLines: []control.LogLine{{Time: t0, Level: "INFO", Text: `level=INFO msg="pptp server ready"`},
			{Time: t0, Level: "WARN", Text: `level=WARN msg="radius timeout"`}},
		Events: []control.TraceEvent{{Time: t0, CallID: 7, User: "alice", Layer: "lcp", Dir: "rcvd", Text: "[LCP ConfReq id=0x1 <mru 1400>]"},
			{Time: t0, CallID: 7, User: "alice", Layer: "radius", Text: "Access-Accept id=3 <MS-MPPE-Recv-Key (masked)>"}},
		ProbeLines:  []control.ProbeLine{{Text: "64 bytes from 192.0.2.1: icmp_seq=1 ttl=64 time=0.5 ms"}, {Text: "1 packets transmitted, 1 received", Done: true}},
		UserList:    []control.User{{Name: "alice"}, {Name: "albert", IP: "10.0.0.50"}},
		Running:     control.ConfigText{Which: control.Running, Path: "/config/pptpbox.toml", Text: "[pptp]\nmppe = \"require-128\"\n"},
		Cand:        control.ConfigText{Which: control.Candidate, Path: "/config/pptpbox.toml", Text: "[pptp]\nmppe = \"allow\"\n"},
		Check:       control.CheckResult{OK: true},
		Diff:        "-mppe = \"require-128\"\n+mppe = \"allow\"\n",
		Commit:      control.CommitResult{Path: "/config/pptpbox.toml", Changed: true, Applied: []string{"users"}, Restart: []string{"lan"}},
		ReloadReply: control.ReloadResult{Config: "/run/pptpbox.toml", Applied: []string{"radius"}},
	}
}

// run runs line on the tree and returns what it printed.
func run(t *testing.T, tree *cli.Tree, line string, ask func(string) (string, error)) (string, error) {
	t.Helper()
	words, err := cli.Split(line)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = tree.Exec(context.Background(), words, &out, ask)
	return out.String(), err
}

// TestCommands runs each command against the fake box: its output has
// what the operator needs, and the API got the arguments typed.
func TestCommands(t *testing.T) {
	for _, tc := range []struct {
		line  string
		want  []string // in the output, in this order
		never []string
		call  string // the API call it made (its last)
	}{
		{"show sessions", []string{"USER", "PEER", "TUNNEL", "STATE", "MPPE", "AUTH", "LIMIT", "ID",
			"alice", "198.51.100.7:50123", "10.0.0.2", "network", "3h04m", "1.5 KiB", "5.0 MiB", "1.2k/4.5k", "MPPE 128-bit stateless", "radius", "512k/2M", "#7",
			"bob", "203.0.113.9", "42s", "local", "#8"}, []string{"203.0.113.9:"}, "Sessions"},
		{"sh sess alice", []string{"session #7, user alice", "peer", "198.51.100.7:50123", "tunnel address", "10.0.0.2",
			"auth", "mschapv2 (radius)", "MPPE 128-bit stateless", "acct session id", "0000000A",
			"rate limit", "512k/2M bits/s (in/out), dropped 3 in, 41 out", "routes", "10.10.0.0/24, 10.20.0.0/16",
			"LCP", "local mru", "1400", "peer auth", "chap MS-v2", "CCP", "+H -M +S -L -D -C", "IPCP", "peer addr", "local ms-dns",
			"RADIUS attributes", "Framed-IP-Address", "MS-MPPE-Recv-Key", "(masked)", "counters", "lcp_echo_sent", "12",
			"drops", "mppe_out_of_order", "3"}, nil, "Session alice"},
		{"show session #8", []string{"session #8, user bob", "auth", "- (local)"}, []string{"LCP", "RADIUS", "routes"}, "Session #8"},
		{"kick 10.0.0.3", []string{"kicked bob (#8, 10.0.0.3 from 203.0.113.9)"}, nil, "Kick 10.0.0.3"},
		{"show interfaces", []string{"NAME", "eth0", "wan", "up", "1500", "198.51.100.1/24", "2.0 KiB/10", "4.0 KiB/20", "1/0"}, nil, "Interfaces"},
		{"show routes", []string{"DESTINATION", "default", "198.51.100.254", "eth0", "dhcp", "100"}, nil, "Routes"},
		{"show dialout", []string{"NAME", "DEV", "SERVER", "STATE", "TUNNEL", "ROUTES", "CONNECTS", "LAST ERROR",
			"hq", "dial-hq", "198.51.100.7:1723", "up 1m3", "10.79.97.10 -> 10.79.97.1", "10.20.0.0/16 (masquerade)", "2",
			"dc", "dial-dc", "backoff", "next dial in ", "10.30.0.0/24", "connection refused"}, nil, "DialOuts"},
		{"show leases", []string{"192.168.1.100", "52:54:00:12:34:56", "laptop", "(in 2h00m)"}, nil, "Leases"},
		{"show nat", []string{"table inet pptpbox", "postrouting", "masquerade LAN to WAN", "masq", "12.0k", "3.0 MiB", "wan_in_dropped", "77"}, nil, "NAT"},
		{"show radius", []string{"192.0.2.10:1812", "auth", "up", "2.5 ms", "3.0 ms", "40", "1m00s ago",
			"192.0.2.11:1813", "acct", "down", "never", "counters", "accepts", "38"}, nil, "Radius"},
		{"show system", []string{"version", "v9.1", "board", "apu2", "uptime", "1d02h", "boxd uptime", "1m30s", "load", "0.50 0.25 0.01",
			"memory", "1.0 GiB available of 2.0 GiB", "config source", "CONFIG partition", "commit confirmed", "unless `config confirm`",
			"port wan", "wan up", "port lan", "lan MISSING: served without it until it appears; off: LAN DHCP server",
			"time", "2026-12-02 21:00:00 UTC", "clock", "synced to pool.ntp.org stratum 2, offset -3ms (slewed), 2m00s ago, next poll in 6m00s",
			"syslog", "192.0.2.9:514, 10 sent, 1 dropped (last error: connection refused)",
			"slot A", "v9.0 (committed)", "slot B", "v9.1", "last upgrade", "slot B (v9.1) on trial"}, []string{"measured only"}, "System"},
		{"show log previous", []string{"saved 2026-12-02 21:00:00 UTC in /config/log/previous.log (2 lines)", `boxd: level=INFO msg="pptp server ready"`, "pptpbox: reboot"}, nil, "LogPrevious"},
		{"show stats", []string{"sessions", "2", "gre_malformed", "5", "control.bad_magic", "4", "radius.timeouts", "6", "goroutines", "33"}, nil, "Stats"},
		{"show log", []string{`msg="pptp server ready"`, `msg="radius timeout"`}, nil, "Log 0"},
		{"show log 1", []string{`msg="radius timeout"`}, []string{"ready"}, "Log 1"},
		{"users list", []string{"USER", "alice", "(pool)", "albert", "10.0.0.50"}, nil, "Users"},
		{`users add carol "s3cret pw" 10.0.0.9`, []string{"user carol added; staged"}, nil, "UserAdd carol s3cret pw 10.0.0.9"},
		{"users add dave pw", []string{"user dave added"}, nil, "UserAdd dave pw "},
		{"users delete albert", []string{"user albert deleted"}, nil, "UserDelete albert"},
		{"users passwd alice n3w", []string{"password of alice changed"}, nil, "UserPasswd alice n3w"},
		{"ping 192.0.2.1 count 1", []string{"64 bytes from 192.0.2.1", "1 packets transmitted"}, nil, "Probe ping 192.0.2.1 1"},
		{"traceroute example.net", []string{"64 bytes"}, nil, "Probe traceroute example.net 0"},
		{"config show", []string{"# running config: /config/pptpbox.toml", `mppe = "require-128"`}, nil, "ConfigShow running"},
		{"config show candidate", []string{"# candidate config", `mppe = "allow"`}, nil, "ConfigShow candidate"},
		{"config check", []string{"the candidate config is valid"}, nil, "ConfigCheck"},
		{"config diff", []string{`+mppe = "allow"`}, nil, "ConfigDiff"},
		{"config set pptp.mppe require-128", []string{"pptp.mppe = require-128; staged"}, nil, "ConfigSet pptp.mppe require-128"},
		{"config commit", []string{"written to /config/pptpbox.toml", "applied live: users", "needs a restart: lan"}, []string{"rolls back"}, "ConfigCommit 0s"},
		{"config commit confirmed 2", []string{"written to"}, nil, "ConfigCommit 2m0s"},
		{"config confirm", []string{"written to"}, nil, "ConfigConfirm"},
		{"config rollback", []string{"written to"}, nil, "ConfigRollback"},
		{"config discard", []string{"staged changes discarded"}, nil, "ConfigDiscard"},
		{"reload", []string{"reloaded /run/pptpbox.toml", "applied live: radius"}, nil, "Reload"},
	} {
		f := fakeBox()
		out, err := run(t, New(f, Local{}), tc.line, nil)
		if err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		rest := out
		for _, w := range tc.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%s: %q missing (or out of order) in\n%s", tc.line, w, out)
				break
			}
			rest = rest[i+len(w):]
		}
		for _, w := range tc.never {
			if strings.Contains(out, w) {
				t.Errorf("%s: %q in\n%s", tc.line, w, out)
			}
		}
		if calls := f.Calls(); len(calls) == 0 || calls[len(calls)-1] != tc.call {
			t.Errorf("%s: API calls %q, want the last to be %q", tc.line, calls, tc.call)
		}
	}
}

// TestJSON: --json prints the typed reply, which decodes back to what the
// API gave; a stream prints one JSON object per line.
func TestJSON(t *testing.T) {
	f := fakeBox()
	tree := New(f, Local{})
	out, err := run(t, tree, "show sessions --json", nil)
	var ss []control.Session
	if err != nil || json.Unmarshal([]byte(out), &ss) != nil || !reflect.DeepEqual(ss, f.SessionList) {
		t.Fatalf("show sessions --json: %v\n%s", err, out)
	}
	out, err = run(t, tree, "--json show system", nil)
	var sys control.System
	if err != nil || json.Unmarshal([]byte(out), &sys) != nil || sys.Board != "apu2" || sys.Uptime != 26*time.Hour {
		t.Fatalf("--json show system: %v\n%s", err, out)
	}
	out, err = run(t, tree, "ping 192.0.2.1 --json", nil)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var last control.ProbeLine
	if err != nil || len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &last) != nil || !last.Done {
		t.Fatalf("ping --json: %v\n%s", err, out)
	}
	if out, _ := run(t, tree, "config set a.b 1 --json", nil); out != "" {
		t.Errorf("config set --json printed %q", out)
	}
}

// TestErrors: the API's errors come back as they are (code and details
// for boxctl's exit status and the console's lines); a failed check is
// refused with each error as a detail.
func TestErrors(t *testing.T) {
	f := fakeBox()
	tree := New(f, Local{})
	if _, err := run(t, tree, "kick nobody", nil); control.CodeOf(err) != control.CodeNotFound || !strings.Contains(err.Error(), `no session "nobody"`) {
		t.Errorf("kick nobody: %v", err)
	}
	bad := &control.Error{Code: control.CodeRefused, Message: "pptp.mppe: bad value", Details: []string{"pptpbox.toml:2: pptp.mppe: not one of allow, require-128"}}
	f.Errs = map[string]error{"ConfigSet": bad}
	if _, err := run(t, tree, "config set pptp.mppe sometimes", nil); err != bad {
		t.Errorf("config set: %v, want %v", err, bad)
	}
	f.Check = control.CheckResult{Errors: []string{"pptpbox.toml:4: radius.timeout: not a duration"}}
	_, err := run(t, tree, "config check", nil)
	var e *control.Error
	if !errors.As(err, &e) || e.Code != control.CodeRefused || len(e.Details) != 1 || !strings.Contains(err.Error(), "pptpbox.toml:4: radius.timeout") {
		t.Errorf("config check: %#v", err)
	}
	for _, line := range []string{"show log x", "config commit confirmed soon", "ping h count 0", "config show other"} {
		if _, err := run(t, tree, line, nil); !cli.IsUsage(err) {
			t.Errorf("%s: %v, want a usage error", line, err)
		}
	}
}

// TestStreams: trace and log follow print events until their context
// ends, which ends them without an error.
func TestStreams(t *testing.T) {
	for _, tc := range []struct {
		line, call string
		want       []string
	}{
		{"trace user alice", "Trace alice ", []string{"tracing user alice", "alice #7 rcvd [LCP ConfReq id=0x1 <mru 1400>]", "alice #7 radius: Access-Accept id=3 <MS-MPPE-Recv-Key (masked)>"}},
		{"trace peer 198.51.100.7", "Trace  198.51.100.7", []string{"tracing peer 198.51.100.7"}},
		{"show log follow level warn", "FollowLog warn", []string{"following boxd's log from level warn", `msg="radius timeout"`}},
	} {
		f := fakeBox()
		f.Streaming = make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		words, _ := cli.Split(tc.line)
		var out bytes.Buffer
		done := make(chan error)
		go func() { done <- New(f, Local{}).Exec(ctx, words, &out, nil) }()
		<-f.Streaming // the events are out; the stream follows
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v after Ctrl-C", tc.line, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: %q missing in\n%s", tc.line, w, out.String())
			}
		}
		if calls := f.Calls(); len(calls) != 1 || calls[0] != tc.call {
			t.Errorf("%s: calls %q, want %q", tc.line, calls, tc.call)
		}
	}
}

// TestLocal: a nil hook hides its command; reboot asks and acts only on
// yes; edit loads what the editor returns.
func TestLocal(t *testing.T) {
	f := fakeBox()
	if _, err := run(t, New(f, Local{}), "reboot", nil); !cli.IsUsage(err) {
		t.Errorf("reboot without the hook: %v, want unknown command", err)
	}
	rebooted := 0
	edited := ""
	tree := New(f, Local{
		Reboot: func(context.Context) error { rebooted++; return nil },
		Edit: func(_ context.Context, text string) (string, error) {
			edited = text
			return strings.Replace(text, "allow", "require-128", 1), nil
		},
		SaveToUSB: func(_ context.Context, cfg control.ConfigText) (string, error) { return "usb:" + cfg.Path, nil },
	})
	answer := "n"
	ask := func(q string) (string, error) {
		if q != "Reboot the box? [y/N] " {
			t.Errorf("asked %q", q)
		}
		return answer, nil
	}
	if out, err := run(t, tree, "reboot", ask); err != nil || rebooted != 0 || !strings.Contains(out, "cancelled") {
		t.Errorf("reboot, no: %v %d %q", err, rebooted, out)
	}
	answer = "y"
	if _, err := run(t, tree, "reboot", ask); err != nil || rebooted != 1 {
		t.Errorf("reboot, yes: %v %d", err, rebooted)
	}
	if _, err := run(t, tree, "reboot", nil); control.CodeOf(err) != control.CodeRefused || rebooted != 1 {
		t.Errorf("reboot with no one to ask: %v", err)
	}
	if out, err := run(t, tree, "config edit", nil); err != nil || edited != f.Cand.Text || !strings.Contains(out, "candidate replaced") {
		t.Errorf("config edit: %v %q", err, out)
	}
	if calls := f.Calls(); calls[len(calls)-1] != `ConfigLoad "[pptp]\nmppe = \"require-128\"\n"` {
		t.Errorf("config edit loaded %q", calls[len(calls)-1])
	}
	if out, err := run(t, tree, "config save-to-usb", nil); err != nil || !strings.Contains(out, "written to usb:/config/pptpbox.toml") {
		t.Errorf("save-to-usb: %v %q", err, out)
	}
}

// TestCompletion: session selectors and user names come from the API.
func TestCompletion(t *testing.T) {
	tree := New(fakeBox(), Local{})
	ctx := context.Background()
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"kick ", []string{"alice", "#7", "10.0.0.2", "bob", "#8", "10.0.0.3"}},
		{"show session #", []string{"#7", "#8"}},
		{"users delete al", []string{"alice", "albert"}},
		{"trace ", []string{"user", "peer"}},
		{"config sh", []string{"show"}},
		{"config show ", []string{"running", "candidate"}},
		{"show log follow ", []string{"level"}},
	} {
		if got, _ := tree.Complete(ctx, tc.line); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Complete(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
	if d := tree.Describe(ctx, "kick "); !strings.Contains(d, "<user|id|address>") || !strings.Contains(d, "alice #7 10.0.0.2") {
		t.Errorf("kick ?:\n%s", d)
	}
}

func TestHumanUnits(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{humanBytes(0), "0 B"}, {humanBytes(1023), "1023 B"}, {humanBytes(1536), "1.5 KiB"}, {humanBytes(5 << 30), "5.0 GiB"},
		{humanCount(999), "999"}, {humanCount(1200), "1.2k"}, {humanCount(3_400_000), "3.4M"},
		{humanDuration(59 * time.Second), "59s"}, {humanDuration(61 * time.Second), "1m01s"},
		{humanDuration(2*time.Hour + 3*time.Minute), "2h03m"}, {humanDuration(50 * time.Hour), "2d02h"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// TestPasswordsStayOutOfHistory: the commands that carry a password are
// secret (the shell keeps them out of its history); the others are not.
func TestPasswordsStayOutOfHistory(t *testing.T) {
	tree := New(fakeBox(), Local{})
	for line, secret := range map[string]bool{"users add bob pw": true, "users passwd bob pw": true, "users delete bob": false, "show sessions": false} {
		words, _ := cli.Split(line)
		if p, err := tree.Parse(words); err != nil || p.Node.Secret != secret {
			t.Errorf("%s: secret %v (%v), want %v", line, p != nil && p.Node.Secret, err, secret)
		}
	}
}

func TestClockLine(t *testing.T) {
	for _, tc := range []struct {
		c    *control.Clock
		want string
	}{
		{nil, "not set by boxd ([time] off)"},
		{&control.Clock{LastError: "pool.ntp.org: network is unreachable", NextPoll: t0.Add(4 * time.Second), SetsClock: true},
			"not synced: pool.ntp.org: network is unreachable, next poll in 4s"},
		{&control.Clock{Synced: true, Server: "127.0.0.1:123", Stratum: 1, Offset: 90 * time.Minute, Action: "measured", LastSync: t0},
			"synced to 127.0.0.1:123 stratum 1, offset +1h30m0s (measured), 0s ago; measured only, this boxd does not set the clock"},
	} {
		if got := clockLine(tc.c, t0); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}
