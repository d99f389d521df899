package dhcpd

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// TestLeaseWritesCoalesced: a new lease is written at once; renewals that
// only move its expiry are written at most once per ExpiryWriteEvery (here
// 5 min, renewals every minute: one write per five renewals), and what is
// pending is written by FlushDue once due and by Flush at a clean stop.
// Before the fix every renewal wrote (and fsynced) the file: 61 writes.
func TestLeaseWritesCoalesced(t *testing.T) {
	file := filepath.Join(t.TempDir(), "leases.json")
	s, clk := testServer(t, file, "192.168.1.100", "192.168.1.199")
	writes := 0
	s.write = func(path string, leases []Lease) error {
		writes++
		return saveLeases(path, leases, syncDir)
	}
	a := dora(t, s, mac(1))
	if writes != 1 {
		t.Fatalf("new lease: %d writes, want 1", writes)
	}
	const renewals = 60
	for i := 0; i < renewals; i++ {
		clk.t = clk.t.Add(time.Minute)
		ack, _ := s.Handle(msg(t, dhcpv4.MessageTypeRequest, mac(1), dhcpv4.WithClientIP(a.AsSlice())))
		if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
			t.Fatalf("renewal %d: %v", i, ack)
		}
	}
	if want := 1 + renewals/5; writes != want {
		t.Fatalf("%d renewals a minute apart: %d writes, want %d", renewals, writes, want)
	}
	// A binding change is written at once, whenever the last write was.
	b := dora(t, s, mac(2))
	if want := 2 + renewals/5; writes != want {
		t.Fatalf("second client: %d writes, want %d", writes, want)
	}
	// A renewal right after is pending; FlushDue leaves it until due.
	clk.t = clk.t.Add(time.Second)
	s.Handle(msg(t, dhcpv4.MessageTypeRequest, mac(2), dhcpv4.WithClientIP(b.AsSlice())))
	s.FlushDue()
	if want := 2 + renewals/5; writes != want {
		t.Fatalf("renewal after a write: %d writes, want %d", writes, want)
	}
	clk.t = clk.t.Add(5 * time.Minute)
	s.FlushDue()
	if want := 3 + renewals/5; writes != want {
		t.Fatalf("due flush: %d writes, want %d", writes, want)
	}
	// Nothing pending: a stop writes nothing; a pending renewal is written at stop.
	s.Flush()
	if want := 3 + renewals/5; writes != want {
		t.Fatalf("clean flush: %d writes, want %d", writes, want)
	}
	clk.t = clk.t.Add(time.Second)
	s.Handle(msg(t, dhcpv4.MessageTypeRequest, mac(2), dhcpv4.WithClientIP(b.AsSlice())))
	s.Flush()
	if want := 4 + renewals/5; writes != want {
		t.Fatalf("stop: %d writes, want %d", writes, want)
	}
	if st := s.Stats(); st.LeaseWrites != uint64(writes) {
		t.Errorf("LeaseWrites = %d, wrote %d", st.LeaseWrites, writes)
	}
	// The file has the latest expiries.
	s2, _ := testServer(t, file, "192.168.1.100", "192.168.1.199")
	got := map[string]time.Time{}
	for _, l := range s2.Leases() {
		got[l.MAC] = l.Expiry
	}
	for _, l := range s.Leases() {
		if !got[l.MAC].Equal(l.Expiry) {
			t.Errorf("file expiry of %s %v, server has %v", l.MAC, got[l.MAC], l.Expiry)
		}
	}
}

// TestSaveLeasesRenameThenDirSync: the directory is fsynced after the rename
// (so the replace is durable), the new content is in place when it is, no
// temporary file is left, and a failing directory sync is an error.
func TestSaveLeasesRenameThenDirSync(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "leases.json")
	os.WriteFile(path, []byte("old"), 0o644)
	var synced []string
	leases := []Lease{{MAC: "02:00:00:00:00:01", Addr: netip.MustParseAddr("192.168.1.100"), Expiry: time.Unix(1e9, 0).UTC()}}
	err := saveLeases(path, leases, func(d string) error {
		b, _ := os.ReadFile(path)
		if !strings.Contains(string(b), "02:00:00:00:00:01") {
			t.Errorf("directory synced before the rename: file has %q", b)
		}
		synced = append(synced, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(synced) != 1 || synced[0] != dir {
		t.Fatalf("synced %q, want [%s]", synced, dir)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
	boom := errors.New("EIO")
	if err := saveLeases(path, leases, func(string) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("dir sync error lost: %v", err)
	}
	// The real syncDir works on a real directory.
	if err := syncDir(dir); err != nil {
		t.Fatal(err)
	}
}
