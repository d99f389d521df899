package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"golang.org/x/sys/unix"

	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/dhcpd"
	"github.com/pptpbox/pptpbox/pkg/logring"
	"github.com/pptpbox/pptpbox/pkg/mppe"
	"github.com/pptpbox/pptpbox/pkg/nat"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/radius"
	"github.com/pptpbox/pptpbox/pkg/session"
)

// detail is a live session as session.Details gives it, every field set.
func detail(user string, call uint16, peer, ip string, port uint16) session.Detail {
	res := &ppp.AuthResult{OK: true, Source: "radius", Attributes: []ppp.AuthAttribute{
		{Name: "Framed-IP-Address", Value: ip}, {Name: "MS-MPPE-Send-Key", Value: "<hidden 34 bytes>"},
	}}
	var drops [ppp.NumDropReasons]uint64
	drops[ppp.DropDecrypt] = 7
	return session.Detail{
		Info: session.Info{User: user, Peer: peer, IP: ip, CallID: call, PeerCall: call + 100,
			MPPE: "MPPE 128-bit stateless", Uptime: time.Minute, BytesIn: 1, BytesOut: 2, PktsIn: 3, PktsOut: 4,
			RateLimit: "512k/2M", LimitedIn: 5, LimitedOut: 6, Routes: []string{"10.10.0.0/24"}},
		PeerAddr: netip.AddrPortFrom(netip.MustParseAddr(peer), port),
		Up:       true,
		Negotiated: ppp.Negotiated{
			Phase: ppp.PhaseNetwork, LCPOpen: true, CCPOpen: true, IPCPOpen: true, MPPE: true, AuthDone: true,
			Local: ppp.LCPOptions{MRU: 1400, Magic: 0x11223344, PFC: true, ACFC: true},
			Peer:  ppp.LCPOptions{Magic: 0x55667788},
			Auth:  ppp.AuthMSCHAPv2, AuthUser: user,
			MPPERecv: mppe.BitS | mppe.BitH, MPPESend: mppe.BitS | mppe.BitH,
			LocalIP: netip.MustParseAddr("10.79.97.1"), PeerIP: netip.MustParseAddr(ip),
			DNS: [2]netip.Addr{netip.MustParseAddr("192.0.2.53")},
		},
		Link:   ppp.Stats{ControlIn: 9, ControlOut: 10, Drops: drops},
		Result: res,
	}
}

func TestControlSessionCarriesEveryField(t *testing.T) {
	d := detail("alice", 12, "198.51.100.7", "10.79.97.10", 40001)
	got := controlSession(d, func(*ppp.AuthResult) string { return "5F00000100000001" })
	if zero := zeroFields(reflect.ValueOf(got), ""); len(zero) > 0 {
		t.Errorf("controlSession leaves %s zero", strings.Join(zero, ", "))
	}
	if got.State != "up" || got.Auth != "mschapv2" || got.AuthSource != "radius" || got.PeerPort != 40001 || got.AcctSessionID != "5F00000100000001" {
		t.Errorf("controlSession = %+v", got)
	}
	// The socket's wire format before pkg/control had its own types is
	// kept: every key of session.Info, with its value.
	var old, now map[string]any
	a, _ := json.Marshal(d.Info)
	b, _ := json.Marshal(got)
	json.Unmarshal(a, &old)
	json.Unmarshal(b, &now)
	for k, v := range old {
		if !reflect.DeepEqual(now[k], v) {
			t.Errorf("JSON %s = %v, was %v", k, now[k], v)
		}
	}
	// Before the login: no auth source, the phase as the state.
	d.Up, d.Result, d.Negotiated.Phase, d.Negotiated.Auth = false, nil, ppp.PhaseAuthenticate, ppp.AuthNone
	if got := controlSession(d, func(*ppp.AuthResult) string { t.Error("asked for an Acct-Session-Id without a login"); return "" }); got.State != "authenticate" || got.Auth != "" || got.AuthSource != "" {
		t.Errorf("before the login: %+v", got)
	}
}

func TestSessionDetail(t *testing.T) {
	d := detail("alice", 12, "198.51.100.7", "10.79.97.10", 40001)
	got := sessionDetail(d, func(*ppp.AuthResult) string { return "" })
	opts := func(os []control.Option) string {
		var s []string
		for _, o := range os {
			s = append(s, o.Dir+" "+o.Name+"="+o.Value)
		}
		return strings.Join(s, "; ")
	}
	if want := "local mru=1400; local magic=0x11223344; local pfc=on; local acfc=on; peer mru=1500 (default); peer magic=0x55667788; peer pfc=off; peer acfc=off; local auth=mschapv2"; opts(got.LCP) != want {
		t.Errorf("LCP = %s\nwant  %s", opts(got.LCP), want)
	}
	if want := "local mppe=128-bit stateless <mppe +H -M +S -L -D -C>; peer mppe=128-bit stateless <mppe +H -M +S -L -D -C>"; opts(got.CCP) != want {
		t.Errorf("CCP = %s\nwant  %s", opts(got.CCP), want)
	}
	if want := "local address=10.79.97.1; peer address=10.79.97.10; peer dns1=192.0.2.53"; opts(got.IPCP) != want {
		t.Errorf("IPCP = %s\nwant  %s", opts(got.IPCP), want)
	}
	if len(got.Radius) != 2 || got.Radius[1] != (control.Attribute{Name: "MS-MPPE-Send-Key", Value: "<hidden 34 bytes>"}) {
		t.Errorf("Radius = %+v", got.Radius)
	}
	if len(got.Drops) != int(ppp.NumDropReasons) || got.Drops[ppp.DropDecrypt] != (control.Counter{Name: "decrypt", Value: 7}) {
		t.Errorf("Drops = %+v", got.Drops)
	}
	if len(got.Counters) != 2 || got.Counters[0].Value != 9 || got.Counters[1].Value != 10 {
		t.Errorf("Counters = %+v", got.Counters)
	}
	// A layer not open shows no options.
	d.Negotiated.CCPOpen, d.Negotiated.IPCPOpen = false, false
	if got := sessionDetail(d, func(*ppp.AuthResult) string { return "" }); got.CCP != nil || got.IPCP != nil {
		t.Errorf("closed layers: CCP %v IPCP %v", got.CCP, got.IPCP)
	}
}

func TestSelectSessions(t *testing.T) {
	all := []session.Detail{
		detail("alice", 12, "198.51.100.7", "10.79.97.10", 40001),
		detail("alice", 13, "198.51.100.8", "10.79.97.11", 40002),
		detail(`CORP\bob`, 14, "198.51.100.7", "10.79.97.12", 40003),
		detail("15", 16, "203.0.113.9", "10.79.97.13", 40004), // a user named like an id
	}
	ids := func(ds []session.Detail) string {
		var s []string
		for _, d := range ds {
			s = append(s, fmt.Sprint(d.CallID))
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct {
		sel  string
		want string // ids, or the error code
	}{
		{"alice", "12,13"},
		{"#13", "13"},
		{"13", "13"}, // no user "13": the id
		{"15", "16"}, // a user "15": the user, not the id 15
		{"#15", string(control.CodeNotFound)},
		{"#16", "16"},
		{"bob", "14"}, // without the domain
		{`CORP\bob`, "14"},
		{"10.79.97.11", "13"},           // a tunnel address
		{"198.51.100.7", "14,12"},       // a peer address: every session from it, by user
		{"198.51.100.7:40003", "14"},    // the peer's address and port
		{"198.51.100.7:1", "not_found"}, // another port
		{"carol", string(control.CodeNotFound)},
		{"", string(control.CodeBadRequest)},
		{"#x", string(control.CodeBadRequest)},
		{"#70000", string(control.CodeBadRequest)},
	} {
		got, err := selectSessions(slices.Clone(all), tc.sel)
		s := ids(got)
		if err != nil {
			s = string(control.CodeOf(err))
		}
		if s != tc.want {
			t.Errorf("selectSessions(%q) = %s (%v), want %s", tc.sel, s, err, tc.want)
		}
	}
	// One session or a refusal naming them.
	if d, err := oneSession(all, "bob"); err != nil || d.CallID != 14 {
		t.Errorf("oneSession(bob) = %d, %v", d.CallID, err)
	}
	_, err := oneSession(all, "alice")
	var e *control.Error
	if !errors.As(err, &e) || e.Code != control.CodeBadRequest || len(e.Details) != 2 ||
		!strings.HasPrefix(e.Details[0], "#12 alice from 198.51.100.7:40001") || !strings.HasPrefix(e.Details[1], "#13 ") {
		t.Errorf("oneSession(alice) = %v", err)
	}
}

// The session commands with no PPTP server: CodeUnavailable.
func TestSessionCommandsWithoutPPTP(t *testing.T) {
	a := boxAPI{&box{log: slog.New(slog.DiscardHandler), cfg: config.Default()}}
	ctx := context.Background()
	_, err1 := a.Sessions(ctx)
	_, err2 := a.Session(ctx, "alice")
	_, err3 := a.Kick(ctx, "alice")
	_, err4 := a.Radius(ctx)
	_, err5 := a.NAT(ctx)
	_, err6 := a.Leases(ctx)
	for i, err := range []error{err1, err2, err3, err4, err5, err6} {
		if control.CodeOf(err) != control.CodeUnavailable {
			t.Errorf("command %d: %v, want %s", i+1, err, control.CodeUnavailable)
		}
	}
}

// Kick and Session against a real session server with no session: not
// found.
func TestKickNotFound(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	a := boxAPI{&box{log: log, cfg: config.Default(), srv: session.New(session.Config{Logger: log}, nil, nil)}}
	if _, err := a.Kick(context.Background(), "alice"); control.CodeOf(err) != control.CodeNotFound {
		t.Errorf("Kick = %v", err)
	}
	if _, err := a.Session(context.Background(), "#1"); control.CodeOf(err) != control.CodeNotFound {
		t.Errorf("Session = %v", err)
	}
	if ss, err := a.Sessions(context.Background()); err != nil || len(ss) != 0 {
		t.Errorf("Sessions = %v, %v", ss, err)
	}
}

func TestRadiusCountersCarryEveryField(t *testing.T) {
	var in radius.Stats
	n := 0
	fillAll(t, reflect.ValueOf(&in).Elem(), &n)
	got := radiusCounters(in)
	if zero := zeroFields(reflect.ValueOf(got), ""); len(zero) > 0 {
		t.Errorf("radiusCounters leaves %s zero", strings.Join(zero, ", "))
	}
	a, _ := json.Marshal(in)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Errorf("RadiusCounters encode as\n%s\nwant\n%s", b, a)
	}
}

// fillAll is fill that knows int64 too.
func fillAll(t *testing.T, v reflect.Value, n *int) {
	for i := range v.NumField() {
		*n++
		switch f := v.Field(i); f.Kind() {
		case reflect.Uint64:
			f.SetUint(uint64(*n))
		case reflect.Int64:
			f.SetInt(int64(*n))
		default:
			t.Fatalf("fillAll: %s is a %s", v.Type().Field(i).Name, f.Kind())
		}
	}
}

func TestRadiusServers(t *testing.T) {
	now := time.Now()
	got := radiusServers([]radius.ServerState{
		{Address: "a:1812", Auth: true, Up: true, LastRTT: 2 * time.Millisecond, AvgRTT: 3 * time.Millisecond, Requests: 5, Timeouts: 1, LastSeen: now},
		{Address: "a:1813", Acct: true},
		{Address: "b:1812", Auth: true, Acct: true},
	})
	want := []control.RadiusServer{
		{Address: "a:1812", Role: "auth", Up: true, LastRTT: 2 * time.Millisecond, AvgRTT: 3 * time.Millisecond, Requests: 5, Timeouts: 1, LastSeen: now},
		{Address: "a:1813", Role: "acct"},
		{Address: "b:1812", Role: "auth+acct"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("radiusServers =\n%+v\nwant\n%+v", got, want)
	}
}

func TestDHCPDCounters(t *testing.T) {
	got := dhcpdCounters(dhcpd.Stats{DeclinesIgnored: 1, ReleasesIgnored: 2, LeaseWrites: 3, LeaseWriteErrs: 4}, 5)
	// The names are dhcpd.Stats' JSON names, with their values.
	var m map[string]uint64
	b, _ := json.Marshal(dhcpd.Stats{DeclinesIgnored: 1, ReleasesIgnored: 2, LeaseWrites: 3, LeaseWriteErrs: 4})
	json.Unmarshal(b, &m)
	if got.Leases != 5 || len(got.Counters) != len(m) {
		t.Fatalf("dhcpdCounters = %+v (stats %v)", got, m)
	}
	for _, c := range got.Counters {
		if v, ok := m[c.Name]; !ok || v != c.Value {
			t.Errorf("counter %s = %d, dhcpd.Stats has %d (%v)", c.Name, c.Value, v, ok)
		}
	}
}

func TestControlLeases(t *testing.T) {
	exp := time.Date(2026, 12, 2, 23, 0, 0, 0, time.UTC)
	got := controlLeases([]dhcpd.Lease{{MAC: "02:00:00:00:00:01", Addr: netip.MustParseAddr("192.168.1.100"), Hostname: "pc", Expiry: exp}})
	if len(got) != 1 || got[0] != (control.Lease{IP: "192.168.1.100", MAC: "02:00:00:00:00:01", Hostname: "pc", Expires: exp}) {
		t.Errorf("controlLeases = %+v", got)
	}
}

func TestNATReply(t *testing.T) {
	got := natReply([]nat.Rule{
		{Chain: "wan_in", Comment: "wan drop", Counter: nat.CounterWANDropped, Counted: true, Packets: 3, Bytes: 87},
		{Chain: "wan_in", Comment: "pptp control"},
	}, []nat.Counter{{Name: nat.CounterWANDropped, Packets: 3, Bytes: 87}})
	want := control.NATReply{Enabled: true, Table: "inet pptpbox", Rules: []control.NATRule{
		{Chain: "wan_in", Comment: "wan drop", Counter: "wan_in_dropped", Packets: 3, Bytes: 87},
		{Chain: "wan_in", Comment: "pptp control"},
	}, Counters: []control.Counter{{Name: "wan_in_dropped", Value: 3}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("natReply =\n%+v\nwant\n%+v", got, want)
	}
}

func TestInterfacesFrom(t *testing.T) {
	links := []rtnetlink.LinkMessage{
		{Index: 3, Flags: unix.IFF_UP, Attributes: &rtnetlink.LinkAttributes{Name: "pptp0", MTU: 1400, OperationalState: rtnetlink.OperStateUnknown}},
		{Index: 2, Flags: unix.IFF_UP, Attributes: &rtnetlink.LinkAttributes{Name: "wan0", MTU: 1500, Address: net.HardwareAddr{2, 0, 0, 0, 0, 1},
			OperationalState: rtnetlink.OperStateUp, Stats64: &rtnetlink.LinkStats64{RXBytes: 1, TXBytes: 2, RXPackets: 3, TXPackets: 4, RXDropped: 5, TXDropped: 6}}},
		{Index: 4, Flags: 0, Attributes: &rtnetlink.LinkAttributes{Name: "lan0", MTU: 1500, OperationalState: rtnetlink.OperStateDown}},
		{Index: 5, Flags: unix.IFF_UP, Attributes: &rtnetlink.LinkAttributes{Name: "eth9", OperationalState: rtnetlink.OperStateLowerLayerDown}},
		{Index: 6}, // no attributes: skipped
	}
	addrs := []rtnetlink.AddressMessage{
		{Index: 2, PrefixLength: 24, Attributes: &rtnetlink.AddressAttributes{Address: net.IPv4(192, 0, 2, 1), Local: net.IPv4(192, 0, 2, 1)}},
		{Index: 3, PrefixLength: 32, Attributes: &rtnetlink.AddressAttributes{Address: net.IPv4(10, 79, 97, 2), Local: net.IPv4(10, 79, 97, 1)}},
		{Index: 2, PrefixLength: 64, Attributes: &rtnetlink.AddressAttributes{Address: net.ParseIP("2001:db8::1")}},
		{Index: 2},
	}
	got := interfacesFrom(links, addrs, map[string]string{"wan0": "wan", "lan0": "lan", "pptp0": "tun"})
	want := []control.Interface{
		{Name: "wan0", Role: "wan", Up: true, MTU: 1500, MAC: "02:00:00:00:00:01", Addresses: []string{"192.0.2.1/24", "2001:db8::1/64"},
			RxBytes: 1, TxBytes: 2, RxPackets: 3, TxPackets: 4, RxDropped: 5, TxDropped: 6},
		{Name: "pptp0", Role: "tun", Up: true, MTU: 1400, Addresses: []string{"10.79.97.1/32"}},
		{Name: "lan0", Role: "lan", MTU: 1500},
		{Name: "eth9"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("interfacesFrom =\n%+v\nwant\n%+v", got, want)
	}
}

func TestRoutesFrom(t *testing.T) {
	main := uint8(unix.RT_TABLE_MAIN)
	got := routesFrom([]rtnetlink.RouteMessage{
		{Family: unix.AF_INET, Table: main, Protocol: unix.RTPROT_STATIC, Type: unix.RTN_UNICAST,
			Attributes: rtnetlink.RouteAttributes{Gateway: net.IPv4(192, 0, 2, 254), OutIface: 2, Priority: 10}},
		{Family: unix.AF_INET, DstLength: 24, Table: main, Protocol: unix.RTPROT_KERNEL, Type: unix.RTN_UNICAST,
			Attributes: rtnetlink.RouteAttributes{Dst: net.IPv4(192, 0, 2, 0).To4(), Src: net.IPv4(192, 0, 2, 1).To4(), OutIface: 2}},
		{Family: unix.AF_INET, DstLength: 32, Table: main, Protocol: 99, Type: unix.RTN_BLACKHOLE,
			Attributes: rtnetlink.RouteAttributes{Dst: net.IPv4(203, 0, 113, 9).To4()}},
		{Family: unix.AF_INET, DstLength: 8, Table: unix.RT_TABLE_LOCAL, Attributes: rtnetlink.RouteAttributes{Dst: net.IPv4(127, 0, 0, 0)}},
		{Family: unix.AF_INET6, Table: main},
		{Family: unix.AF_INET, Table: 0, Attributes: rtnetlink.RouteAttributes{Table: 1000}}, // another table (RTA_TABLE)
	}, map[uint32]string{2: "wan0"})
	want := []control.Route{
		{Dst: "default", Gateway: "192.0.2.254", Dev: "wan0", Protocol: "static", Metric: 10},
		{Dst: "192.0.2.0/24", Dev: "wan0", Src: "192.0.2.1", Protocol: "kernel"},
		{Dst: "203.0.113.9/32", Dev: "blackhole", Protocol: "proto-99"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("routesFrom =\n%+v\nwant\n%+v", got, want)
	}
}

func TestProcParsers(t *testing.T) {
	if d, err := parseUptime([]byte("3725.67 100.00\n")); err != nil || d != 3726*time.Second {
		t.Errorf("parseUptime = %v, %v", d, err)
	}
	if l, err := parseLoadavg([]byte("0.08 1.50 12.00 1/123 4567\n")); err != nil || l != [3]float64{0.08, 1.5, 12} {
		t.Errorf("parseLoadavg = %v, %v", l, err)
	}
	mem := "MemTotal:        2048000 kB\nMemFree:          100 kB\nMemAvailable:    1024000 kB\n"
	if tot, av, err := parseMeminfo([]byte(mem)); err != nil || tot != 2048000*1024 || av != 1024000*1024 {
		t.Errorf("parseMeminfo = %d %d %v", tot, av, err)
	}
	if rss, err := parseRSS([]byte("Name:\tboxd\nVmRSS:\t   12345 kB\n")); err != nil || rss != 12345*1024 {
		t.Errorf("parseRSS = %d %v", rss, err)
	}
	for _, bad := range []string{"", "x y", "-1 0", "1e300 0"} {
		if _, err := parseUptime([]byte(bad)); err == nil {
			t.Errorf("parseUptime(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", "1 2", "a b c", "1 -2 3"} {
		if _, err := parseLoadavg([]byte(bad)); err == nil {
			t.Errorf("parseLoadavg(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", "MemTotal: 1 kB\n", "MemTotal: 1 MB\nMemAvailable: 1 kB\n", "MemTotal: x kB\nMemAvailable: 1 kB\n"} {
		if _, _, err := parseMeminfo([]byte(bad)); err == nil {
			t.Errorf("parseMeminfo(%q) accepted", bad)
		}
	}
}

func FuzzProcParsers(f *testing.F) {
	f.Add([]byte("3725.67 100.00\n"))
	f.Add([]byte("0.08 1.50 12.00 1/123 4567\n"))
	f.Add([]byte("MemTotal:        2048000 kB\nMemAvailable:    1024000 kB\nVmRSS: 1 kB\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := parseUptime(b); err == nil && d < 0 {
			t.Errorf("negative uptime %v", d)
		}
		if l, err := parseLoadavg(b); err == nil && (l[0] < 0 || l[1] < 0 || l[2] < 0) {
			t.Errorf("negative load %v", l)
		}
		parseMeminfo(b)
		parseRSS(b)
	})
}

// System on this machine: the figures /proc gives, the flags boxd got.
func TestSystem(t *testing.T) {
	cfg := config.Default()
	a := boxAPI{&box{log: slog.New(slog.DiscardHandler), cfg: cfg,
		sys: sysInfo{board: "qemu-x86_64", configSource: "USB stick (CONFIG)", started: time.Now().Add(-time.Hour)}}}
	s, err := a.System(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != version || s.Board != "qemu-x86_64" || s.ConfigSource != "USB stick (CONFIG)" || s.Hostname == "" ||
		s.BoxdUptime < time.Hour || s.Uptime <= 0 || s.MemTotal == 0 || s.MemAvailable == 0 || s.MemAvailable > s.MemTotal ||
		s.BoxdRSS == 0 || s.Goroutines == 0 {
		t.Errorf("System = %+v", s)
	}
	if s.Firmware != nil {
		t.Errorf("firmware status without -firmware-status: %+v", s.Firmware)
	}
	// On a box the init's slot status file joins in.
	fw := filepath.Join(t.TempDir(), "firmware.json")
	os.WriteFile(fw, []byte(`{"running":"B","committed":"A","slots":[{"name":"A","version":"v1"},{"name":"B","version":"v2"}],"last_upgrade":"slot B (v2) on trial"}`), 0o644)
	a.b.sys.firmware = fw
	s, _ = a.System(context.Background())
	if f := s.Firmware; f == nil || f.Running != "B" || f.Committed != "A" || len(f.Slots) != 2 || f.Slots[1].Version != "v2" || f.LastUpgrade != "slot B (v2) on trial" {
		t.Errorf("firmware = %+v", s.Firmware)
	}
}

// Log and FollowLog on boxd's ring: the last lines, a follower at a level,
// a slow follower told how many lines it lost.
func TestLogAndFollow(t *testing.T) {
	ring := logring.New(100)
	log := slog.New(slog.NewTextHandler(ring, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := boxAPI{&box{log: log, logs: ring}}
	ctx := context.Background()
	log.Info("one")
	log.Debug("two")
	got, err := a.Log(ctx, 1)
	if err != nil || len(got) != 1 || got[0].Level != "debug" || !strings.Contains(got[0].Text, "msg=two") {
		t.Fatalf("Log(1) = %+v, %v", got, err)
	}
	if all, _ := a.Log(ctx, 0); len(all) != 2 {
		t.Errorf("Log(0) = %d lines", len(all))
	}
	if _, err := a.Log(ctx, -1); control.CodeOf(err) != control.CodeBadRequest {
		t.Errorf("Log(-1) = %v", err)
	}
	if err := a.FollowLog(ctx, "loud", func(control.LogLine) error { return nil }); control.CodeOf(err) != control.CodeBadRequest {
		t.Errorf("FollowLog(loud) = %v", err)
	}

	// A follower of warnings: stops when fn fails.
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	lines := make(chan control.LogLine, 10)
	done := make(chan error, 1)
	stop := errors.New("enough")
	go func() {
		done <- a.FollowLog(fctx, "warn", func(l control.LogLine) error {
			lines <- l
			if strings.Contains(l.Text, "last") {
				return stop
			}
			return nil
		})
	}()
	waitFollowers(t, ring, 1)
	log.Info("not for a warn follower")
	log.Warn("careful")
	log.Error("last")
	if err := <-done; err != stop {
		t.Fatalf("FollowLog = %v, want fn's error", err)
	}
	close(lines)
	var texts []string
	for l := range lines {
		texts = append(texts, l.Level+":"+l.Text[strings.Index(l.Text, "msg="):])
	}
	if want := []string{"warn:msg=careful", "error:msg=last"}; !slices.Equal(texts, want) {
		t.Errorf("follower got %q, want %q", texts, want)
	}

	// A slow follower: it blocks in fn while more lines come than its
	// buffer holds; logging goes on, and it is told what it lost.
	release := make(chan struct{})
	var got2 []control.LogLine
	done2 := make(chan error, 1)
	go func() {
		done2 <- a.FollowLog(fctx, "info", func(l control.LogLine) error {
			got2 = append(got2, l)
			if len(got2) == 1 {
				<-release
			}
			if strings.Contains(l.Text, "msg=end") {
				return stop
			}
			return nil
		})
	}()
	waitFollowers(t, ring, 1)
	log.Info("first")
	time.Sleep(50 * time.Millisecond) // the follower is in fn, holding "first"
	for i := range followBuffer + 50 {
		log.Info("flood", "i", i)
	}
	close(release)
	// "end" until the follower has read one (one sent while its buffer is
	// still full is lost too).
	var err2 error
	for ended := false; !ended; {
		log.Info("end")
		select {
		case err2 = <-done2:
			ended = true
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err2 != stop {
		t.Fatalf("slow FollowLog = %v", err2)
	}
	var lost string
	for _, l := range got2 {
		if strings.Contains(l.Text, "lines lost") {
			lost = l.Text
		}
	}
	var n int
	i := strings.Index(lost, "log follow:")
	if i < 0 {
		t.Fatalf("slow follower: no loss line in %d lines", len(got2))
	}
	if _, err := fmt.Sscanf(lost[i:], "log follow: %d lines lost", &n); err != nil || n < 50 {
		t.Errorf("slow follower: no or wrong loss line %q (%d lines)", lost, len(got2))
	}
}

// waitFollowers waits until ring has n followers.
func waitFollowers(t *testing.T, ring *logring.Ring, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for ring.Followers() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d followers, want %d", ring.Followers(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Stats with the PPTP server on and no RADIUS or router: the server's
// counters, no radius or dhcpd part.
func TestStats(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	srv := session.New(session.Config{Logger: log}, nil, nil)
	a := boxAPI{&box{log: log, cfg: config.Default(), srv: srv}}
	st, err := a.Stats(context.Background())
	if err != nil || st.Goroutines == 0 || st.Radius != nil || st.DHCPD != nil || st.Stats != controlStats(srv.Stats()) {
		t.Errorf("Stats = %+v, %v", st, err)
	}
}

// Radius with a client: each configured address, its role, nothing asked
// yet; Stats carries the client's counters.
func TestRadiusReply(t *testing.T) {
	rc, err := radius.New(radius.Config{Servers: []radius.Server{
		{Auth: "192.0.2.10:1812", Acct: "192.0.2.10:1813", Secret: []byte("s")},
		{Auth: "192.0.2.11:1812", Secret: []byte("s")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	a := boxAPI{&box{log: slog.New(slog.DiscardHandler), cfg: config.Default(), rc: rc}}
	r, err := a.Radius(context.Background())
	if err != nil || !r.Enabled || r.Counters == nil || len(r.Servers) != 3 {
		t.Fatalf("Radius = %+v, %v", r, err)
	}
	var roles []string
	for _, s := range r.Servers {
		roles = append(roles, s.Address+" "+s.Role)
		if s.Up || s.Requests != 0 {
			t.Errorf("%s: up or asked before any request: %+v", s.Address, s)
		}
	}
	if want := []string{"192.0.2.10:1812 auth", "192.0.2.10:1813 acct", "192.0.2.11:1812 auth"}; !slices.Equal(roles, want) {
		t.Errorf("servers %q, want %q", roles, want)
	}
	if st, _ := a.Stats(context.Background()); st.Radius == nil {
		t.Error("Stats without the RADIUS counters")
	}
}

// FuzzSelectSessions: any selector an operator types gives sessions or a
// typed error (not found, bad request), never a panic.
func FuzzSelectSessions(f *testing.F) {
	all := []session.Detail{
		detail("alice", 12, "198.51.100.7", "10.79.97.10", 40001),
		detail(`CORP\bob`, 14, "198.51.100.7", "10.79.97.12", 40003),
	}
	for _, s := range []string{"alice", "#12", "12", "10.79.97.10", "198.51.100.7:40003", `CORP\bob`, "::ffff:198.51.100.7", "#", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sel string) {
		got, err := selectSessions(slices.Clone(all), sel)
		switch c := control.CodeOf(err); {
		case err == nil && len(got) == 0:
			t.Errorf("%q: no session and no error", sel)
		case err != nil && c != control.CodeNotFound && c != control.CodeBadRequest:
			t.Errorf("%q: %v (%s)", sel, err, c)
		}
	})
}
