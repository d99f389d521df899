package firmware

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/pptpbox/pptpbox/qemu/rig"
	"github.com/pptpbox/pptpbox/qemu/vmtest"
)

// The operator's console password, and the user added from the console.
const (
	opConsolePass = "0perator-Console"
	opBob         = "bob"
	opBobPass     = "added at the console 2"
)

// TestFirmwareOperator is issue 9's proof: an operator at the serial console of the booted
// image (typing, waiting for the prompt, reading the screen) while a real client (Debian's
// pptp-linux + pppd, MS-CHAPv2 and MPPE-128, in a guest on the box's LAN) dials in. The
// operator logs in; show sessions lists the client with the address its ppp0 got and
// MPPE-128; a commit confirmed 1 is left unconfirmed (it rolls back by itself a minute
// later, while the next steps run); trace user shows the client's next login (LCP,
// MS-CHAPv2, CCP/MPPE, IPCP) with no password; kick ends it and the client's pppd says
// so; a bad config set is refused with the key named; the rollback's message shows and
// the running config no longer has the change; users add + config commit let a new user
// dial in without a reboot, and again after one (the commit is on the CONFIG partition).
func TestFirmwareOperator(t *testing.T) {
	gate(t)
	if os.Geteuid() != 0 {
		t.Fatal("the operator test needs root (network namespace, tap devices)")
	}
	need(t, "qemu-system-x86_64", "ip", "sgdisk", "mcopy", "mtype", "mdir")
	testStart := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	lg := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))

	guestImage, err := vmtest.BuildImage(ctx, vmtest.FlavourClient, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	// The LAN of TestFirmwareRealClient's bench; the WAN tap is there for the box's
	// static WAN (nobody is reached through it here).
	ns := e2eBench(ctx, t, "fwop", "fw")

	// The box: its disk with the operator's config (alice, and a console password hash) on
	// the CONFIG partition; the kernel and initramfs booted directly so that the command
	// line can ask for the console login (the QEMU board does not).
	hash, err := bcrypt.GenerateFromPassword([]byte(opConsolePass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	base := string(e2eConfig(t))
	cfg := strings.Replace(base, "[console]\n", "[console]\npassword_hash = \""+string(hash)+"\"\n", 1)
	if cfg == base {
		t.Fatal("default.toml has no [console] section to put the hash in")
	}
	disk := copyImage(t, imageFor(t, "qemu-amd64"))
	writeConfigFile(t, disk, "pptpbox.toml", []byte(cfg))
	args := append(directBootArgs(t, disk, "pptpbox.login=1"),
		boxTaps("fw", "52:54:00:b0:00:01", "52:54:00:b0:00:02")...)
	v := startVMWith(t, 11*time.Minute, func(name string, args ...string) *exec.Cmd {
		return ns.Command(context.Background(), name, args...)
	}, "qemu-system-x86_64", args...)

	// The client guest boots meanwhile.
	g := bootClient(ctx, t, ns, guestImage, "fwcli", lg)

	// 1. Log in.
	ready, next := v.waitFor(readyRE, 0, bootLimit)
	if ready[5] != "flash" {
		t.Fatalf("config source %s, want flash (the CONFIG partition)", ready[5])
	}
	next = opLogin(v, next)

	// 2. The client dials (an address from the box's DHCP first, as an office PC);
	// show sessions lists it with the address its ppp0 got, and MPPE-128.
	if lease := dhcpLease(ctx, t, g); !lanLeaseRE.MatchString(lease["ip"]) {
		t.Fatalf("DHCP address %q is not in 192.168.1.100-199", lease["ip"])
	}
	alice := rig.Client{Peer: "box", Server: e2eLANBox, User: e2eUser, Password: e2ePass}
	if err := rig.Configure(ctx, g, alice); err != nil {
		t.Fatal(err)
	}
	opDial(ctx, t, g, alice)
	addr := ppp0Addr(ctx, t, g)
	typeLine(v, next, "show sessions")
	_, next = v.waitFor(regexp.MustCompile(`USER\s+PEER\s+TUNNEL\s+STATE`), next, 30*time.Second)
	row, next := v.waitFor(regexp.MustCompile(`^\s*`+e2eUser+`\s+(192\.168\.1\.\d+):\d+\s+(\S+)\s+up\s.*(MPPE 128-bit \S+)`), next, 10*time.Second)
	t.Logf("show sessions: %s from %s, tunnel %s, %s", e2eUser, row[1], row[2], row[3])
	if row[2] != addr.String() {
		t.Errorf("show sessions: tunnel address %s, the client's ppp0 has %s", row[2], addr)
	}

	// 3. A commit confirmed 1 that nobody confirms. Nothing
	// else is committed until it has rolled back (a commit would confirm it).
	typeLine(v, next, "config set log.level debug")
	_, next = v.waitFor(regexp.MustCompile(`^log\.level = debug; `), next, 30*time.Second)
	typeLine(v, next, "config commit confirmed 1")
	_, next = v.waitFor(regexp.MustCompile(`written to /config/pptpbox.toml`), next, 30*time.Second)
	committed := time.Now()
	typeLine(v, next, "show system")
	_, next = v.waitFor(regexp.MustCompile(`commit confirmed\s+rolls back at `), next, 30*time.Second)
	typeLine(v, next, "config show")
	_, next = v.waitFor(regexp.MustCompile(`^level = "debug"`), next, 30*time.Second)
	_, next = v.waitFor(regexp.MustCompile(`^\[\[user\]\]`), next, 30*time.Second)

	// 4. trace user: the client's next login, from LCP to IPCP, with no password.
	typeLine(v, next, "trace user "+e2eUser)
	_, traceStart := v.waitFor(regexp.MustCompile(`^tracing user `+e2eUser+`: its next logins`), next, 30*time.Second)
	if _, err := rig.Hangup(ctx, g, alice); err != nil {
		t.Fatal(err)
	}
	res := opDial(ctx, t, g, alice)
	up := regexp.MustCompile(`session up: user "` + e2eUser + `", address ` + regexp.QuoteMeta(res.LocalIP.String()) + `, auth mschapv2, MPPE 128-bit`)
	_, traceEnd := v.waitFor(up, traceStart, 60*time.Second)
	// Ctrl-C stops it; the prompt is back when the next command answers.
	typeKeys(v, "\x03")
	next = v.waitPrompt(cliPrompt, traceEnd, 30*time.Second)
	trace := v.linesBetween(traceStart, traceEnd)
	t.Logf("trace user %s:\n%s", e2eUser, strings.Join(trace, "\n"))
	for _, want := range []string{
		`#\d+ sent \[LCP ConfReq id=\S+ .*<auth chap MS-v2>`,
		`#\d+ rcvd \[LCP ConfAck`,
		`#\d+ sent \[CHAP Challenge`,
		`#\d+ rcvd \[CHAP Response id=\S+ <hidden \d+ bytes>, name = "` + e2eUser + `"\]`,
		`MS-CHAPv2 peer authentication succeeded for "` + e2eUser + `"`,
		`#\d+ sent \[CHAP Success id=\S+ "S=<hidden>`,
		`#\d+ sent \[CCP ConfReq id=\S+ <mppe \+H -M \+S`,
		`#\d+ rcvd \[CCP ConfAck`,
		`#\d+ (sent|rcvd) \[IPCP Conf\S+ id=\S+ <addr ` + regexp.QuoteMeta(res.LocalIP.String()) + `>`,
		`ccp: MPPE 128-bit stateless compression enabled`,
	} {
		if !matchAny(regexp.MustCompile(want), trace) {
			t.Errorf("the trace has no line matching %q", want)
		}
	}
	for _, l := range trace {
		if strings.Contains(l, e2ePass) || strings.Contains(l, opConsolePass) {
			t.Errorf("the trace shows a password: %q", l)
		}
	}

	// 5. kick: the session ends, and the client's pppd says the box hung up.
	typeLine(v, next, "kick "+e2eUser)
	_, next = v.waitFor(regexp.MustCompile(`^kicked `+e2eUser+` \(#\d+, `+regexp.QuoteMeta(res.LocalIP.String())+` from 192\.168\.1\.\d+:\d+\)`), next, 30*time.Second)
	if err := rig.WaitPPPDExit(ctx, g, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	pppLog, err := g.MustRun(ctx, "cat "+alice.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the client's pppd after the kick:\n%s", lastLines(pppLog, 12))
	for _, want := range []string{`rcvd \[LCP TermReq id=\S+`, `LCP terminated by peer`, `Connection terminated`} {
		if !regexp.MustCompile(want).MatchString(pppLog) {
			t.Errorf("the client's pppd log has no %q after the kick", want)
		}
	}
	typeLine(v, next, "show sessions")
	_, next = v.waitFor(regexp.MustCompile(`^no sessions`), next, 30*time.Second)

	// 6. Bad values are refused with the key named, and leave the candidate as it was.
	badStart := next
	typeLine(v, next, "config set pptp.mtu abc")
	_, next = v.waitFor(regexp.MustCompile(`^% set pptp\.mtu refused: the candidate would not validate`), next, 30*time.Second)
	_, next = v.waitFor(regexp.MustCompile(`^\s+candidate:\d+: pptp\.mtu: incompatible types`), next, 10*time.Second)
	typeLine(v, next, "config set pptp.mtu 9000")
	_, next = v.waitFor(regexp.MustCompile(`^% set pptp\.mtu refused: the candidate would not validate`), next, 30*time.Second)
	_, next = v.waitFor(regexp.MustCompile(`^\s+candidate:\d+: pptp\.mtu: must be between 576 and 1500, got 9000`), next, 10*time.Second)
	typeLine(v, next, "config diff")
	_, next = v.waitFor(regexp.MustCompile(`^no staged changes`), next, 30*time.Second)
	t.Logf("bad values:\n%s", strings.Join(v.linesBetween(badStart, next), "\n"))

	// 7. The commit confirmed 1 of step 3 rolls back by itself: the console shows boxd's warning,
	// and the running config is the one before it.
	_, next = v.waitFor(regexp.MustCompile(`commit confirmed not confirmed in time: reverted to the rollback point`), next, 2*time.Minute)
	t.Logf("rolled back %s after the commit confirmed 1", time.Since(committed).Round(time.Second))
	if d := time.Since(committed); d < 55*time.Second {
		t.Errorf("rolled back %s after commit confirmed 1", d)
	}
	showStart := next
	typeLine(v, next, "config show")
	_, next = v.waitFor(regexp.MustCompile(`^\[\[user\]\]`), next, 30*time.Second)
	typeLine(v, next, "show system")
	_, next = v.waitFor(regexp.MustCompile(`config source\s+flash`), next, 30*time.Second)
	next = v.waitPrompt(cliPrompt, next, 30*time.Second)
	if v.count(regexp.MustCompile(`^\[console\]`), showStart, next) == 0 || v.count(regexp.MustCompile(`config source\s+flash`), showStart, next) == 0 {
		t.Fatalf("no config show or show system after the rollback")
	}
	if v.count(regexp.MustCompile(`^level = "debug"`), showStart, next) != 0 {
		t.Errorf("config show after the rollback still has level = \"debug\"")
	}
	if v.count(regexp.MustCompile(`commit confirmed\s+rolls back`), showStart, next) != 0 {
		t.Errorf("show system still has a commit confirmed pending")
	}

	// 8. users add + config commit: the new user dials in without a reboot.
	typeLine(v, next, fmt.Sprintf("users add %s %q", opBob, opBobPass))
	_, next = v.waitFor(regexp.MustCompile(`staged`), next, 30*time.Second)
	typeLine(v, next, "config commit")
	_, next = v.waitFor(regexp.MustCompile(`written to /config/pptpbox.toml`), next, 30*time.Second)
	bob := rig.Client{Peer: "box", Server: e2eLANBox, User: opBob, Password: opBobPass}
	if err := rig.Configure(ctx, g, bob); err != nil {
		t.Fatal(err)
	}
	res = opDial(ctx, t, g, bob)
	typeLine(v, next, "show sessions")
	_, next = v.waitFor(regexp.MustCompile(`^\s*`+opBob+`\s+192\.168\.1\.\d+:\d+\s+`+regexp.QuoteMeta(res.LocalIP.String())+`\s+up\s.*MPPE 128-bit`), next, 30*time.Second)
	if _, err := rig.Hangup(ctx, g, bob); err != nil {
		t.Fatal(err)
	}

	// 9. ... and after a reboot.
	typeLine(v, next, "reboot")
	next = v.waitPrompt("Reboot the box? [y/N] ", next, 30*time.Second)
	v.send("y")
	_, next = v.waitFor(regexp.MustCompile(`pptpbox: reboot`), next, 60*time.Second)
	ready, next = v.waitFor(readyRE, next, bootLimit)
	if ready[5] != "flash" {
		t.Errorf("after the reboot: config source %s, want flash", ready[5])
	}
	next = opLogin(v, next)
	res = opDial(ctx, t, g, bob)
	typeLine(v, next, "show sessions")
	_, next = v.waitFor(regexp.MustCompile(`^\s*`+opBob+`\s+192\.168\.1\.\d+:\d+\s+`+regexp.QuoteMeta(res.LocalIP.String())+`\s+up\s.*MPPE 128-bit`), next, 30*time.Second)
	if _, err := rig.Hangup(ctx, g, bob); err != nil {
		t.Error(err)
	}

	// The CONFIG partition: bob, no debug level, no pending marker.
	typeLine(v, next, "poweroff")
	next = v.waitPrompt("Power the box off? [y/N] ", next, 30*time.Second)
	v.send("y")
	v.waitFor(regexp.MustCompile(`pptpbox: poweroff`), next, 60*time.Second)
	v.waitExit(30 * time.Second)
	got := string(readConfigFile(t, disk, "pptpbox.toml"))
	if !strings.Contains(got, `name = "`+opBob+`"`) || regexp.MustCompile(`(?m)^level = "debug"`).MatchString(got) {
		t.Errorf("CONFIG:/pptpbox.toml at the end:\n%s", got)
	}
	if dir := string(mtools(t, "mdir", "-b", "-i", configPart(t, disk), "::/")); strings.Contains(strings.ToLower(dir), "pending") {
		t.Errorf("the CONFIG partition still has a pending marker:\n%s", dir)
	}
	total := time.Since(testStart)
	t.Logf("whole test %s", total.Round(100*time.Millisecond))
	if f, err := os.OpenFile(filepath.Join(outDir(), "boot-times.txt"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
		fmt.Fprintf(f, "%s/whole\t%.1fs wall\t%s\n", t.Name(), total.Seconds(), time.Now().UTC().Format(time.RFC3339))
		f.Close()
	}
}

// opLogin waits for the console's password prompt, types the password and waits for the
// CLI's banner.
func opLogin(v *vm, from int) int {
	v.t.Helper()
	_, next := v.waitFor(regexp.MustCompile(`pptpbox console login`), from, 30*time.Second)
	next = v.waitPrompt("Password: ", next, 30*time.Second)
	v.send(opConsolePass)
	_, next = v.waitFor(regexp.MustCompile(`\? lists the commands, Tab completes`), next, 30*time.Second)
	return next
}

// opDial dials the box from the client guest and wants the link up with MPPE-128.
func opDial(ctx context.Context, t *testing.T, g *vmtest.Guest, c rig.Client) *rig.Result {
	t.Helper()
	res, err := rig.Dial(ctx, g, c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 0 || !strings.Contains(res.Log, "MPPE 128-bit stateless compression enabled") || !res.LocalIP.IsValid() {
		t.Fatalf("%s's dial: pppd exited %d:\n%s", c.User, res.Status, res.Log)
	}
	if !poolRE.MatchString(res.LocalIP.String()) {
		t.Errorf("%s's address %v is not from the pool 10.79.97.10-200", c.User, res.LocalIP)
	}
	return res
}

var ppp0AddrRE = regexp.MustCompile(`inet (\d+\.\d+\.\d+\.\d+)`)

// ppp0Addr is the address of the client's ppp0, as the client's kernel has it.
func ppp0Addr(ctx context.Context, t *testing.T, g *vmtest.Guest) netip.Addr {
	t.Helper()
	out, err := g.MustRun(ctx, "ip -4 -o addr show dev ppp0")
	if err != nil {
		t.Fatal(err)
	}
	m := ppp0AddrRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no IPv4 address on the client's ppp0:\n%s", out)
	}
	return netip.MustParseAddr(m[1])
}

// cliPrompt is the console CLI's prompt.
const cliPrompt = "pptpbox> "

// typeLine waits for the CLI's prompt after line index from (the answer to the previous
// command read first), then types line and Enter.
func typeLine(v *vm, from int, line string) {
	v.t.Helper()
	v.waitPrompt(cliPrompt, from, 30*time.Second)
	v.send(line)
}

// typeKeys types s as it is (no Enter).
func typeKeys(v *vm, s string) {
	v.t.Helper()
	if _, err := v.in.Write([]byte(s)); err != nil {
		v.t.Fatal(err)
	}
}

// linesBetween copies the console's lines from index from up to to.
func (v *vm) linesBetween(from, to int) []string {
	v.con.mu.Lock()
	defer v.con.mu.Unlock()
	return append([]string(nil), v.con.lines[from:min(to, len(v.con.lines))]...)
}

func matchAny(re *regexp.Regexp, lines []string) bool {
	for _, l := range lines {
		if re.MatchString(l) {
			return true
		}
	}
	return false
}
