package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/qemu/rig"
	"github.com/pptpbox/pptpbox/qemu/vmtest"
)

// smallMRU is what the real client asks for ("mru 1200" in its peers
// file): below the TUN MTU (1400), as PPPoE-backed or mobile clients do.
const smallMRU = 1200

// TestSmallMRUClient: pppd with "mru 1200" against boxd, whose one TUN
// device has MTU 1400. From the box's namespace, a 1328-octet ping with
// DF set must come back as ICMP "fragmentation needed (mtu = 1200)" and
// teach the kernel the path MTU; without DF it must be fragmented and the
// guest must reassemble and answer; and a TCP download to the guest, whose
// MSS nothing clamps, must complete through path-MTU discovery.
func TestSmallMRUClient(t *testing.T) {
	vmtest.Gate(t)
	start := time.Now()
	defer func() { t.Logf("e2e: TestSmallMRUClient took %v", time.Since(start).Round(time.Millisecond)) }()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	r := startRig(t, ctx, false)
	g := r.Guest
	cl := rig.Client{User: rig.User, Password: rig.Password, Extra: []string{fmt.Sprintf("mru %d", smallMRU)}}
	res := dialUp(t, ctx, g, cl)
	if res.Status != 0 {
		t.Fatalf("pppd exited %d before the link came up:\n%s", res.Status, res.Log)
	}
	mustContain(t, "pppd", res.Log, fmt.Sprintf("<mru %d>", smallMRU), "MPPE 128-bit stateless compression enabled")
	guest := res.LocalIP.String()
	stats := func() control.Stats {
		t.Helper()
		st, err := r.Boxd.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.Stats
	}
	routeMTU := func() string {
		t.Helper()
		out, err := r.NS.IP(ctx, "route", "get", guest)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(strings.Fields(out), " ")
	}
	flush := func() {
		t.Helper()
		if _, err := r.NS.IP(ctx, "route", "flush", "cache"); err != nil {
			t.Fatal(err)
		}
	}
	st0 := stats()
	t.Logf("boxd stats after connect: %+v", st0)

	t.Run("DF set: frag needed", func(t *testing.T) {
		out, err := r.NS.Run(ctx, "ping", "-M", "do", "-s", "1300", "-c", "2", "-W", "3", guest)
		t.Logf("ping -M do -s 1300 %s: err %v\n%s", guest, err, out)
		mustContain(t, "ping", out, fmt.Sprintf("Frag needed and DF set (mtu = %d)", smallMRU), "From "+rig.LocalIP.String())
		rt := routeMTU()
		t.Logf("ip route get %s: %s", guest, rt)
		mustContain(t, "route cache", rt, fmt.Sprintf("mtu %d", smallMRU))
		if st := stats(); st.TUNFragNeededSent == st0.TUNFragNeededSent {
			t.Errorf("boxd counted no frag-needed reply: %+v", st)
		}
	})

	t.Run("DF clear: fragmented, guest reassembles", func(t *testing.T) {
		flush()
		before, err := guestIPStat(ctx, g, "ReasmOKs")
		if err != nil {
			t.Fatal(err)
		}
		st1 := stats()
		out, err := r.NS.Run(ctx, "ping", "-M", "dont", "-s", "1300", "-c", "3", "-W", "5", guest)
		t.Logf("ping -M dont -s 1300 %s:\n%s", guest, out)
		if err != nil {
			t.Fatalf("no replies to fragmented pings: %v", err)
		}
		mustContain(t, "ping", out, "3 received")
		after, err := guestIPStat(ctx, g, "ReasmOKs")
		if err != nil {
			t.Fatal(err)
		}
		st := stats()
		t.Logf("guest ReasmOKs %d -> %d; boxd tun_fragmented %d -> %d, tun_fragments_out %d -> %d",
			before, after, st1.TUNFragmented, st.TUNFragmented, st1.TUNFragmentsOut, st.TUNFragmentsOut)
		if after-before < 3 {
			t.Errorf("guest reassembled %d datagrams, want 3", after-before)
		}
		if st.TUNFragmented-st1.TUNFragmented < 3 || st.TUNFragmentsOut-st1.TUNFragmentsOut < 6 {
			t.Errorf("boxd counters: %+v", st)
		}
	})

	t.Run("TCP download, MSS not clamped: PMTUD", func(t *testing.T) {
		// pppd gives ppp0 the smaller of the two MRUs less MPPE's 4
		// octets (1196), so its SYN's MSS would fit. A client whose
		// interface MTU exceeds its MRU (as Windows' can) advertises an
		// MSS it cannot receive: raise ppp0's MTU to our MRU less MPPE's
		// header, so the box's segments are 1396 octets and only
		// path-MTU discovery brings them to 1200.
		out, err := g.MustRun(ctx, "cat /sys/class/net/ppp0/mtu; ip link set ppp0 mtu 1396 && cat /sys/class/net/ppp0/mtu")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("guest ppp0 mtu (pppd's, then ours): %s", strings.Join(strings.Fields(out), " -> "))
		flush()
		st1 := stats()
		tr, err := rig.Download(ctx, r.NS, boxPort(5201), g, 4<<20)
		if err != nil {
			t.Fatal(err)
		}
		st := stats()
		rt := routeMTU()
		t.Logf("download box -> guest: %d bytes in %v (%.2f MB/s), sha256 %s; frag-needed sent %d; ip route get: %s",
			tr.Bytes, tr.Duration.Round(time.Millisecond), tr.Rate(), tr.SHA256, st.TUNFragNeededSent-st1.TUNFragNeededSent, rt)
		if st.TUNFragNeededSent == st1.TUNFragNeededSent {
			t.Errorf("no frag-needed during the download: PMTUD was not exercised (%+v)", st)
		}
		mustContain(t, "route cache after the download", rt, fmt.Sprintf("mtu %d", smallMRU))
	})

	st := stats()
	t.Logf("boxd stats: tun_fragmented %d tun_fragments_out %d tun_frag_needed_sent %d tun_frag_needed_limited %d tun_too_big_dropped %d tun_no_session %d",
		st.TUNFragmented, st.TUNFragmentsOut, st.TUNFragNeededSent, st.TUNFragNeededLimited, st.TUNTooBigDropped, st.TUNNoSession)
	if st.TUNNoSession != st0.TUNNoSession {
		t.Errorf("packets counted as no-session: %d -> %d", st0.TUNNoSession, st.TUNNoSession)
	}
}

// guestIPStat reads one counter of the guest's /proc/net/snmp "Ip:" lines
// (the first is the names, the second the values).
func guestIPStat(ctx context.Context, g *vmtest.Guest, name string) (uint64, error) {
	out, err := g.MustRun(ctx, "grep '^Ip:' /proc/net/snmp")
	if err != nil {
		return 0, err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 {
		return 0, fmt.Errorf("guest /proc/net/snmp: %q", out)
	}
	names, values := strings.Fields(lines[0]), strings.Fields(lines[1])
	for i, n := range names {
		if n == name && i < len(values) {
			return strconv.ParseUint(values[i], 10, 64)
		}
	}
	return 0, fmt.Errorf("guest /proc/net/snmp: no %s in %q", name, out)
}
