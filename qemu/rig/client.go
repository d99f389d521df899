package rig

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/pptpbox/pptpbox/qemu/vmtest"
)

// Client is how the guest's pppd dials: the files Debian's pptp-linux
// documentation describes (/etc/ppp/options.pptp, /etc/ppp/peers/NAME,
// /etc/ppp/chap-secrets), with the knobs the scenarios vary.
type Client struct {
	Peer     string     // peers file name, pppd linkname and log name; "box" if empty
	Server   netip.Addr // PPTP server; BoxAddr if invalid
	User     string
	Password string
	NoMPPE   bool // "nomppe" instead of "require-mppe-128"
	// DefaultMPPE writes no MPPE option at all: pppd's default, which
	// Configure-Rejects MPPE offered by the server (qemu/e2e TestMPPEAllow).
	DefaultMPPE bool
	Dump        bool // "dump": pppd prints every option in effect
	// Extra are more pppd options for the peers file, one per entry
	// ("mppe-stateful", "mru 1200"), written after the others.
	Extra []string
}

func (c Client) peer() string {
	if c.Peer == "" {
		return "box"
	}
	return c.Peer
}

// LogPath is the guest file pppd logs to for this peer.
func (c Client) LogPath() string { return "/tmp/ppp-" + c.peer() + ".log" }

// OptionsPPTP is Debian's /etc/ppp/options.pptp (pptp-linux 1.10).
const OptionsPPTP = `# Debian pptp-linux defaults: the client does not authenticate the server
# with PAP/CHAP/MS-CHAPv1; MS-CHAPv2 is the only protocol left.
lock
noauth
refuse-pap
refuse-eap
refuse-chap
refuse-mschap
nobsdcomp
nodeflate
`

// PeersFile is /etc/ppp/peers/<Peer> as pptp-linux's docs write it, plus the
// test's logging (debug, logfile) and usepeerdns.
func (c Client) PeersFile() string {
	server := c.Server
	if !server.IsValid() {
		server = BoxAddr
	}
	mppe := "require-mppe-128\n"
	switch {
	case c.NoMPPE:
		mppe = "nomppe\n"
	case c.DefaultMPPE:
		mppe = ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "pty \"pptp %s --nolaunchpppd\"\n", server)
	fmt.Fprintf(&b, "name %s\nremotename PPTP\n%s", c.User, mppe)
	fmt.Fprintf(&b, "file /etc/ppp/options.pptp\nipparam %s\nlinkname %s\n", c.peer(), c.peer())
	fmt.Fprintf(&b, "usepeerdns\nmaxfail 1\ndebug\nlogfile %s\n", c.LogPath())
	if c.Dump {
		b.WriteString("dump\n")
	}
	for _, o := range c.Extra {
		b.WriteString(o + "\n")
	}
	return b.String()
}

// ChapSecrets is /etc/ppp/chap-secrets with the client's line.
func (c Client) ChapSecrets() string {
	return fmt.Sprintf("# client\tserver\tsecret\t\tIP addresses\n%s\tPPTP\t\"%s\"\t*\n", c.User, c.Password)
}

// Configure writes the client's files into the guest.
func Configure(ctx context.Context, g *vmtest.Guest, c Client) error {
	files := []struct {
		path string
		data string
		mode os.FileMode
	}{
		{"/etc/ppp/options.pptp", OptionsPPTP, 0o644},
		{"/etc/ppp/peers/" + c.peer(), c.PeersFile(), 0o644},
		{"/etc/ppp/chap-secrets", c.ChapSecrets(), 0o600},
	}
	for _, f := range files {
		if err := g.WriteFile(ctx, f.path, []byte(f.data), f.mode); err != nil {
			return fmt.Errorf("rig: configure client: %w", err)
		}
	}
	return nil
}

// Result is what pppd printed for one dial-up.
type Result struct {
	// Status is pppd's exit status with updetach: 0 once the link is up,
	// otherwise pppd's error (19: authentication failed, 16: hangup...).
	Status   int
	Log      string     // the whole pppd log so far
	LocalIP  netip.Addr // "local  IP address"
	RemoteIP netip.Addr // "remote IP address"
	DNS      []netip.Addr
}

var (
	localRe   = regexp.MustCompile(`local\s+IP address (\S+)`)
	remoteRe  = regexp.MustCompile(`remote IP address (\S+)`)
	dnsRe     = regexp.MustCompile(`(?:primary|secondary)\s+DNS address (\S+)`)
	mppeUpRe  = regexp.MustCompile(`MPPE \d+-bit \S+ compression enabled`)
	pppdEndRe = regexp.MustCompile(`Connection terminated|Exit\.`)
)

// Dial runs `pppd call PEER updetach` in the guest: pppd returns once a
// network protocol is up (status 0) or the attempt failed. updetach may let
// go as soon as IPV6CP is up, before IPCP and CCP, so after a success Dial
// also waits (up to 20s) until the log shows both the IPv4 address and MPPE
// (only the address for a NoMPPE or DefaultMPPE client), or the link's end.
func Dial(ctx context.Context, g *vmtest.Guest, c Client) (*Result, error) {
	script := fmt.Sprintf("rm -f %[1]s; timeout 120 pppd call %[2]s updetach >/dev/null 2>&1", c.LogPath(), c.peer())
	_, st, err := g.Run(ctx, script)
	if err != nil {
		return nil, err
	}
	res := &Result{Status: st}
	deadline := time.Now().Add(20 * time.Second)
	for {
		log, err := g.MustRun(ctx, "cat "+c.LogPath())
		if err != nil {
			return nil, err
		}
		res.Log = log
		// A nomppe client's link is up with its address: no MPPE to wait
		// for; nor with pppd's defaults, which reject MPPE.
		up := (c.NoMPPE || c.DefaultMPPE || mppeUpRe.MatchString(log)) && localRe.MatchString(log)
		if st != 0 || up || pppdEndRe.MatchString(log) || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if m := localRe.FindStringSubmatch(res.Log); m != nil {
		res.LocalIP, _ = netip.ParseAddr(m[1])
	}
	if m := remoteRe.FindStringSubmatch(res.Log); m != nil {
		res.RemoteIP, _ = netip.ParseAddr(m[1])
	}
	for _, m := range dnsRe.FindAllStringSubmatch(res.Log, -1) {
		if a, err := netip.ParseAddr(m[1]); err == nil {
			res.DNS = append(res.DNS, a)
		}
	}
	return res, nil
}

// Hangup ends the client's call the way an operator does (SIGTERM to pppd,
// which sends LCP Terminate-Request and lets pptp clear the call) and waits
// for pppd to exit. It returns pppd's log.
func Hangup(ctx context.Context, g *vmtest.Guest, c Client) (string, error) {
	if _, err := g.MustRun(ctx, fmt.Sprintf("kill $(head -n1 /run/ppp-%s.pid)", c.peer())); err != nil {
		return "", err
	}
	if err := WaitPPPDExit(ctx, g, 30*time.Second); err != nil {
		return "", err
	}
	return g.MustRun(ctx, "cat "+c.LogPath())
}

// WaitPPPDExit waits until no pppd runs in the guest.
func WaitPPPDExit(ctx context.Context, g *vmtest.Guest, timeout time.Duration) error {
	n := int(timeout / (200 * time.Millisecond))
	script := fmt.Sprintf("i=0; while pidof pppd >/dev/null; do i=$((i+1)); [ $i -ge %d ] && exit 1; sleep 0.2; done", n)
	if _, err := g.MustRun(ctx, script); err != nil {
		return fmt.Errorf("rig: pppd still running after %v: %w", timeout, err)
	}
	return nil
}
