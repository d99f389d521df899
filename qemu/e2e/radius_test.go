package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/radius/radiustest"
	"github.com/pptpbox/pptpbox/qemu/rig"
	"github.com/pptpbox/pptpbox/qemu/vmtest"
)

// TestRealClientRADIUS: the seed's setup for real: Debian's pppd +
// pptp-linux (require-mppe-128) dials boxd, which asks a real FreeRADIUS
// (in boxd's namespace, on loopback) instead of its [[user]] table. The
// link comes up with MPPE-128 keyed from the Access-Accept and carries
// pings both ways, a wrong password gets pppd's E=691, and FreeRADIUS's
// detail file shows Start, Interim-Update and Stop (User-Request, octets).
func TestRealClientRADIUS(t *testing.T) {
	vmtest.Gate(t)
	radiustest.Require(t)
	start := time.Now()
	defer func() { t.Logf("e2e: TestRealClientRADIUS took %v", time.Since(start).Round(time.Millisecond)) }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// The [[user]] of DefaultConfig has the same name with another
	// password: a login that works proves RADIUS answered.
	cfg := strings.Replace(rig.DefaultConfig(), fmt.Sprintf("password = %q", rig.Password), `password = "local-only"`, 1) + `
[radius]
nas_identifier = "pptpbox-qemu"
interim_interval = "2s"
[[radius.server]]
address = "127.0.0.1:18120"
secret = "testing123"
acct_port = 18130
`
	r := startRigWith(t, ctx, rig.Options{Config: cfg})
	fr := radiustest.Start(t, radiustest.Options{
		AuthPort: 18120, AcctPort: 18130,
		Users: fmt.Sprintf("%s\tCleartext-Password := %q\n\tClass = \"qemu-class\"\n", rig.User, rig.Password),
		Command: func(name string, args ...string) *exec.Cmd {
			return r.NS.Command(ctx, name, args...)
		},
	})
	t.Logf("guest booted in %v, FreeRADIUS ready at %v", r.Guest.BootTime().Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	g := r.Guest

	good := rig.Client{User: rig.User, Password: rig.Password}
	res := dialUp(t, ctx, g, good)
	t.Logf("pppd log:\n%s", res.Log)
	if res.Status != 0 || !res.LocalIP.IsValid() {
		t.Fatalf("pppd exited %d, local IP %v: no link", res.Status, res.LocalIP)
	}
	mustContain(t, "pppd", res.Log, "MPPE 128-bit stateless compression enabled")
	guestIP := res.LocalIP
	if out, err := g.MustRun(ctx, "ping -c 3 -s 1000 -W 5 "+rig.LocalIP.String()); err != nil {
		t.Fatalf("guest -> box: %v\n%s", err, out)
	}
	if out, err := r.NS.Run(ctx, "ping", "-c", "3", "-W", "5", guestIP.String()); err != nil {
		t.Fatalf("box -> guest: %v\n%s", err, out)
	}
	radiustest.WaitFor(t, 20*time.Second, "Interim-Update", func() bool {
		return strings.Contains(fr.Detail(), "Acct-Status-Type = Interim-Update")
	})
	if _, err := rig.Hangup(ctx, g, good); err != nil {
		t.Fatal(err)
	}
	radiustest.WaitFor(t, 30*time.Second, "Stop", func() bool {
		return strings.Contains(fr.Detail(), "Acct-Status-Type = Stop")
	})

	bad := rig.Client{Peer: "badpw", User: rig.User, Password: "local-only"}
	res = dialUp(t, ctx, g, bad)
	rig.WaitPPPDExit(ctx, g, 30*time.Second)
	if res.Status == 0 {
		t.Error("pppd brought the link up with the local-only password")
	}
	mustContain(t, "pppd", res.Log, "E=691")

	var stop string
	for _, rec := range fr.Records() {
		if strings.Contains(rec, "Acct-Status-Type = Stop") {
			stop = rec
		}
	}
	t.Logf("Stop record:\n%s", stop)
	mustContain(t, "Stop record", stop, "Acct-Terminate-Cause = User-Request", `NAS-Identifier = "pptpbox-qemu"`,
		"Class = 0x71656d752d636c617373", "Framed-IP-Address = "+guestIP.String())
	// Six 1028-octet pings plus pppd's own traffic each way.
	for _, k := range []string{"Acct-Input-Octets", "Acct-Output-Octets"} {
		m := regexp.MustCompile(k + ` = (\d+)`).FindStringSubmatch(stop)
		var n int
		if m != nil {
			fmt.Sscan(m[1], &n)
		}
		if n < 3*1028 {
			t.Errorf("%s = %d, want at least 3 x 1028", k, n)
		}
	}
}
