package gre

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"
	"unsafe"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// listenIn opens a raw GRE socket inside namespace ns.
func listenIn(t *testing.T, ns *netnstest.NS, local netip.Addr) Conn {
	t.Helper()
	var c Conn
	if err := ns.Do(func() (err error) { c, err = ListenIPv4(local); return err }); err != nil {
		t.Fatalf("listen in %s: %v", ns.Name, err)
	}
	return c
}

// vethPair makes two namespaces, prefix-a with addrA and prefix-b with
// addrB, joined by a veth pair. The pair is created inside the first, so
// deleting the namespaces removes it too; nothing is left in the host
// namespace.
func vethPair(tb testing.TB, prefix string) (nsA, nsB *netnstest.NS) {
	tb.Helper()
	nsA, nsB = netnstest.NewNS(tb, prefix+"-a"), netnstest.NewNS(tb, prefix+"-b")
	for _, cmd := range []struct {
		ns   *netnstest.NS
		args []string
	}{
		{nsA, []string{"link", "add", "gre0a", "type", "veth", "peer", "name", "gre0b", "netns", nsB.Name}},
		{nsA, []string{"addr", "add", addrA.String() + "/24", "dev", "gre0a"}},
		{nsB, []string{"addr", "add", addrB.String() + "/24", "dev", "gre0b"}},
		{nsA, []string{"link", "set", "gre0a", "up"}},
		{nsB, []string{"link", "set", "gre0b", "up"}},
	} {
		if out, err := cmd.ns.Run("ip", cmd.args...); err != nil {
			tb.Fatalf("ip %v: %v: %s", cmd.args, err, out)
		}
	}
	return nsA, nsB
}

// TestRawSocketShards sends PPTP GRE packets for 64 call IDs, and two
// packets that are not PPTP GRE, from one namespace to three sharded
// sockets in another (ListenIPv4Shards): each PPTP packet arrives on the
// socket of its call ID's shard only, the others on socket 0 only.
func TestRawSocketShards(t *testing.T) {
	requireRoot(t)
	nsA, nsB := vethPair(t, "greshard")
	a := listenIn(t, nsA, addrA)
	defer a.Close()
	const n = 3
	var shards []Conn
	if err := nsB.Do(func() (err error) { shards, err = ListenIPv4Shards(addrB, n); return err }); err != nil {
		t.Fatal(err)
	}
	var out []Message
	for id := range uint16(64) {
		tun := NewTunnel(TunnelConfig{PeerCallID: 1000 + id})
		b := AppendHeader(nil, tun.NextHeader(4))
		b = append(b, 0xff, 0x03, 0x00, 0x21)
		out = append(out, Message{Buf: b, N: len(b), Addr: addrB})
	}
	v0 := []byte{0x30, 0x00, 0x88, 0x0b, 0, 0, 0x03, 0xe9} // version 0
	out = append(out, Message{Buf: v0, N: len(v0), Addr: addrB}, Message{Buf: []byte{0x30, 0x01}, N: 2, Addr: addrB})
	if _, err := a.WriteBatch(out); err != nil {
		t.Fatal(err)
	}
	want := make([]map[string]bool, n)
	for k := range want {
		want[k] = map[string]bool{}
	}
	for _, m := range out[:64] {
		h, _, _ := Parse(m.Buf)
		want[Shard(h.CallID, n)][string(m.Buf)] = true
	}
	want[0][string(v0)], want[0]["\x30\x01"] = true, true
	for k, c := range shards {
		got := map[string]bool{}
		in := newMsgs(64, 2048)
		for len(got) < len(want[k]) {
			timer := time.AfterFunc(5*time.Second, func() { c.Close() })
			m, err := c.ReadBatch(in)
			timer.Stop()
			if err != nil {
				t.Fatalf("shard %d: %d of %d packets, then %v", k, len(got), len(want[k]), err)
			}
			for _, msg := range in[:m] {
				if !want[k][string(msg.Buf[:msg.N])] {
					t.Errorf("shard %d got %x, not its own", k, msg.Buf[:msg.N])
				}
				got[string(msg.Buf[:msg.N])] = true
			}
		}
		// Nothing else is queued on this socket.
		time.AfterFunc(100*time.Millisecond, func() { c.Close() })
		if m, err := c.ReadBatch(in); err == nil {
			t.Errorf("shard %d: %d packets more than its own, first %x", k, m, in[0].Buf[:in[0].N])
		}
	}
}

// requireRoot skips (fails under CI=true) a test that needs root and ip(8).
func requireRoot(tb testing.TB) {
	tb.Helper()
	skip := tb.Skip
	if os.Getenv("CI") == "true" {
		skip = tb.Fatal
	}
	if os.Geteuid() != 0 {
		skip("needs root for network namespaces and raw sockets")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skip("needs ip(8) (Debian iproute2)")
	}
}

// TestRawSocketNetns sends GRE both ways between two namespaces joined by a
// veth pair, through two ListenIPv4 sockets. It needs root and ip(8).
func TestRawSocketNetns(t *testing.T) {
	requireRoot(t)
	nsA, nsB := vethPair(t, "gre")

	a := listenIn(t, nsA, addrA)
	defer a.Close()
	b := listenIn(t, nsB, netip.IPv4Unspecified())
	defer b.Close()

	exchange(t, a, b, addrA, addrB, 1)
	exchange(t, a, b, addrA, addrB, 100) // more than one recvmmsg batch
	exchange(t, b, a, addrB, addrA, 5)

	if n, err := a.WriteBatch([]Message{{Buf: make([]byte, 4), N: 5, Addr: addrB}}); n != 0 || err == nil {
		t.Errorf("WriteBatch with N > len(Buf) = %d, %v", n, err)
	}
	if n, err := a.WriteBatch([]Message{{Buf: make([]byte, 4), N: 4, Addr: netip.MustParseAddr("2001:db8::1")}}); n != 0 || err == nil {
		t.Errorf("WriteBatch to IPv6 = %d, %v", n, err)
	}
}

// TestMmsghdrLayout pins struct mmsghdr's size from <sys/socket.h>: the
// kernel walks the array by it, so a wrong size garbles every entry after
// the first.
func TestMmsghdrLayout(t *testing.T) {
	want := uintptr(64) // 56-byte msghdr + 4-byte msg_len + padding
	if unsafe.Sizeof(uintptr(0)) == 4 {
		want = 32 // 28-byte msghdr + msg_len
	}
	if got := unsafe.Sizeof(mmsghdr{}); got != want {
		t.Fatalf("sizeof(mmsghdr) = %d, want %d", got, want)
	}
}

// BenchmarkRawSocket measures GRE through two raw sockets in two namespaces
// joined by a veth pair, packets of 1400 bytes sent one per sendmmsg call
// (batch=1, what the send path does) or 32 per call, and reports the share
// lost (raw sockets drop when their queue is full).
func BenchmarkRawSocket(b *testing.B) {
	for _, n := range []int{1, 32} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) { benchRawSocket(b, n) })
	}
}

func benchRawSocket(b *testing.B, batch int) {
	if os.Geteuid() != 0 {
		b.Skip("needs root for network namespaces and raw sockets")
	}
	nsA, nsB := vethPair(b, "grebench")
	var a, c Conn
	if err := nsA.Do(func() (err error) { a, err = ListenIPv4(addrA); return err }); err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	if err := nsB.Do(func() (err error) { c, err = ListenIPv4(addrB); return err }); err != nil {
		b.Fatal(err)
	}

	const size = 1400
	tun := NewTunnel(TunnelConfig{PeerCallID: 1})
	out := make([]Message, batch)
	for i := range out {
		out[i] = Message{Buf: make([]byte, MaxHeaderLen+size), Addr: addrB}
	}
	received := make(chan int, 1)
	go func() {
		in := newMsgs(batch, 2048)
		n := 0
		for {
			k, err := c.ReadBatch(in)
			if err != nil {
				received <- n
				return
			}
			n += k
		}
	}()
	b.SetBytes(size)
	b.ResetTimer()
	for sent := 0; sent < b.N; sent += batch {
		k := min(batch, b.N-sent)
		for i := range out[:k] {
			out[i].N, _ = PutHeader(out[i].Buf, tun.NextHeader(size))
			out[i].N += size
		}
		if _, err := a.WriteBatch(out[:k]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	time.Sleep(100 * time.Millisecond) // let the reader drain the queue
	c.Close()
	got := <-received
	b.ReportMetric(100*float64(b.N-got)/float64(b.N), "%lost")
}
