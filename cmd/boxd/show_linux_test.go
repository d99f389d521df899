package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/nat"
	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
	"github.com/pptpbox/pptpbox/pkg/router"
)

// TestShowOnTheBox runs boxd in router mode in a namespace, with a PPTP
// client logged in from the WAN side, and reads back what the show
// commands report: the session over the control socket (with the fields
// show sessions added), and, calling boxAPI's methods in the box's
// namespace, the interfaces boxd configured with their roles, the routes,
// the nftables rules with a WAN drop counted.
//
//	inet (192.0.2.254, pptpc) ── box wan0 192.0.2.1 | lan0 192.168.1.1 ── lanh
func TestShowOnTheBox(t *testing.T) {
	netnstest.Require(t, "ip", "nft")
	bin := buildBinaries(t)
	boxNS := netnstest.NewNS(t, "showbox")
	inet := netnstest.NewNS(t, "showinet")
	lan := netnstest.NewNS(t, "showlan")
	netnstest.NewWire(t, boxNS, "wan0", inet, "eth0")
	netnstest.NewWire(t, boxNS, "lan0", lan, "eth0")
	mustRun(t, inet, "ip", "addr", "add", "192.0.2.254/24", "dev", "eth0")
	mustRun(t, inet, "ip", "link", "set", "eth0", "up")

	cfgPath, dir := writeConfig(t, "")
	os.WriteFile(cfgPath, []byte(`
[wan]
interface = "wan0"
mode = "static"
address = "192.0.2.1/24"
gateway = "192.0.2.254"
[lan]
interface = "lan0"
address = "192.168.1.1/24"
[lan.dhcp]
lease_file = "`+filepath.Join(dir, "leases.json")+`"
[[user]]
name = "alice"
password = "alice-pw"
`), 0o644)
	sock := filepath.Join(dir, "boxd.sock")
	p := startProc(t, boxNS.Cmd(filepath.Join(bin, "boxd"), "-config", cfgPath, "-control", sock,
		"-board", "netns-test", "-config-source", "test file"))
	p.log.waitFor(t, "pptp server ready", 20*time.Second)
	startProc(t, inet.Cmd(filepath.Join(bin, "pptpc"), "-server", "192.0.2.1", "-user", "alice", "-password", "alice-pw")).
		log.waitFor(t, "connected: local 10.79.97.10", 30*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Everything through the control socket, as boxctl and the console
	// ask: control.Client against control.NewHandler(boxAPI).
	a := control.NewClient(sock)
	ss, err := a.Sessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 1 {
		t.Fatalf("sessions = %+v", ss)
	}
	if s := ss[0]; s.User != "alice" || s.IP != "10.79.97.10" || s.Peer != "192.0.2.254" || s.PeerPort == 0 ||
		s.State != "up" || s.Auth != "mschapv2" || s.AuthSource != "local" || !strings.HasPrefix(s.MPPE, "MPPE 128-bit") {
		t.Errorf("session = %+v", s)
	}

	// Three datagrams to a WAN port nobody serves: the "wan drop" rule.
	if err := inet.Do(func() error {
		c, err := net.Dial("udp4", "192.0.2.1:9")
		if err != nil {
			return err
		}
		defer c.Close()
		for range 3 {
			c.Write([]byte("x"))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// The session in detail, by its tunnel address.
	d, err := a.Session(ctx, "10.79.97.10")
	if err != nil {
		t.Fatal(err)
	}
	if d.User != "alice" || len(d.LCP) == 0 || len(d.CCP) == 0 || len(d.IPCP) == 0 {
		t.Errorf("session detail = %+v", d)
	}
	if _, err := a.Session(ctx, "nobody"); control.CodeOf(err) != control.CodeNotFound {
		t.Errorf("session nobody: %v, want %s", err, control.CodeNotFound)
	}
	if sys, err := a.System(ctx); err != nil || sys.Board != "netns-test" || sys.ConfigSource != "test file" || sys.ConfigFile != cfgPath || sys.Goroutines == 0 {
		t.Errorf("system = %+v, %v", sys, err)
	}
	if lines, err := a.Log(ctx, 0); err != nil || !slices.ContainsFunc(lines, func(l control.LogLine) bool { return strings.Contains(l.Text, "pptp server ready") }) {
		t.Errorf("log: %v (%d lines)", err, len(lines))
	}

	var ifs []control.Interface
	var routes []control.Route
	var rules control.NATReply
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ifs, err = a.Interfaces(ctx); err != nil {
			t.Fatal(err)
		}
		if routes, err = a.Routes(ctx); err != nil {
			t.Fatal(err)
		}
		if rules, err = a.NAT(ctx); err != nil {
			t.Fatal(err)
		}
		if findRule(rules, "wan drop").Packets >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	byName := map[string]control.Interface{}
	for _, i := range ifs {
		byName[i.Name] = i
	}
	if w := byName["wan0"]; w.Role != "wan" || !w.Up || w.MTU == 0 || w.MAC == "" || !slices.Contains(w.Addresses, "192.0.2.1/24") || w.RxPackets == 0 || w.TxPackets == 0 {
		t.Errorf("wan0 = %+v", w)
	}
	if l := byName["lan0"]; l.Role != "lan" || !slices.Contains(l.Addresses, "192.168.1.1/24") {
		t.Errorf("lan0 = %+v", l)
	}
	if tun := byName["pptp0"]; tun.Role != "tun" || !tun.Up || tun.MTU == 0 {
		t.Errorf("pptp0 = %+v", tun)
	}
	if lo := byName["lo"]; lo.Role != "" {
		t.Errorf("lo = %+v", lo)
	}

	var def, wanNet bool
	for _, r := range routes {
		def = def || r.Dst == "default" && r.Gateway == "192.0.2.254" && r.Dev == "wan0"
		wanNet = wanNet || r.Dst == "192.0.2.0/24" && r.Dev == "wan0" && r.Protocol == "kernel" && r.Src == "192.0.2.1"
	}
	if !def || !wanNet {
		t.Errorf("routes %+v: want the default via 192.0.2.254 and 192.0.2.0/24 on wan0", routes)
	}

	if d := findRule(rules, "wan drop"); !rules.Enabled || rules.Table != "inet "+nat.TableName || d.Chain != "wan_in" || d.Counter != nat.CounterWANDropped || d.Packets < 3 || d.Bytes == 0 {
		t.Errorf("nat: wan drop = %+v (table %q)", d, rules.Table)
	}
	if len(rules.Rules) < 10 || len(rules.Counters) != 4 {
		t.Errorf("nat: %d rules, %d counters", len(rules.Rules), len(rules.Counters))
	}

	// kick ends the session (Admin-Reset) and says which it ended.
	if k, err := a.Kick(ctx, "alice"); err != nil || len(k) != 1 || k[0].User != "alice" {
		t.Errorf("kick alice = %+v, %v", k, err)
	}
	// The link terminates (LCP Terminate-Request, then the call is
	// cleared): the session is gone a moment later.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ss, err := a.Sessions(ctx)
		if err == nil && len(ss) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("sessions after kick = %+v, %v", ss, err)
			break
		}
	}
	if _, err := a.Kick(ctx, "alice"); control.CodeOf(err) != control.CodeNotFound {
		t.Errorf("kick alice again: %v, want %s", err, control.CodeNotFound)
	}
	if t.Failed() {
		t.Logf("boxd log:\n%s", p.log.String())
	}
}

func findRule(r control.NATReply, comment string) control.NATRule {
	for _, x := range r.Rules {
		if x.Comment == comment {
			return x
		}
	}
	return control.NATRule{}
}

// TestNATBeforeTheTable: with the router on but no table in the kernel
// (yet), show nat says the table is not applied: unavailable, not an
// internal error.
func TestNATBeforeTheTable(t *testing.T) {
	a := boxAPI{&box{log: slog.New(slog.DiscardHandler), cfg: config.Default(), router: router.New(router.Config{})}}
	netnstest.Run(t, func() error {
		_, err := a.NAT(context.Background())
		if control.CodeOf(err) != control.CodeUnavailable {
			return fmt.Errorf("NAT with no table = %v, want %s", err, control.CodeUnavailable)
		}
		return nil
	}, "nft")
}
