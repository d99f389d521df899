package netns

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

func TestOwnerPID(t *testing.T) {
	tests := []struct {
		name string
		pid  int
		ok   bool
	}{
		{"pptpbox-rig-1234-00af", 1234, true},
		{"pptpbox-rig-1234-00AF", 0, false}, // New writes lower-case hex
		{"pptpbox-rig-1234-0af", 0, false},
		{"pptpbox-rig-x-00af", 0, false},
		{"pptpbox-rig-0-00af", 0, false},
		{"pptpbox-rig-1234", 0, false},
		{"other-1234-00af", 0, false},
		{"pptpbox-rig-extra-1234-00af", 0, false},
	}
	for _, tc := range tests {
		pid, ok := ownerPID(tc.name, "pptpbox-rig")
		if pid != tc.pid || ok != tc.ok {
			t.Errorf("ownerPID(%q) = %d, %v; want %d, %v", tc.name, pid, ok, tc.pid, tc.ok)
		}
	}
}

// TestNamespace builds a namespace with a tap and a bridge, runs a command
// and Go sockets inside it, and checks that Close removes it; a namespace
// left by a dead process is swept by the next New.
func TestNamespace(t *testing.T) {
	netnstest.Require(t, "ip")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := New("netnstest")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	closed := false
	n.OnClose(func() { closed = true })
	if err := n.AddTap(ctx, "tap0", netip.Prefix{}); err != nil {
		t.Fatal(err)
	}
	if err := n.AddBridge(ctx, "br0", netip.MustParsePrefix("192.0.2.1/24"), "tap0"); err != nil {
		t.Fatal(err)
	}
	out, err := n.Run(ctx, "ip", "-o", "addr", "show", "dev", "br0")
	if err != nil || !strings.Contains(out, "192.0.2.1/24") {
		t.Fatalf("ip addr in the namespace: %q, %v", out, err)
	}
	if out, err := n.IP(ctx, "-o", "link", "show", "tap0"); err != nil || !strings.Contains(out, "master br0") {
		t.Fatalf("tap0 not on br0: %q, %v", out, err)
	}

	// A listener opened in Do lives in the namespace: reachable from inside, not from here.
	var ln net.Listener
	if err := n.Do(func() (err error) { ln, err = net.Listen("tcp4", "192.0.2.1:0"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Write([]byte("hi"))
			c.Close()
		}
	}()
	var c net.Conn
	if err := n.Do(func() (err error) { c, err = net.Dial("tcp4", ln.Addr().String()); return err }); err != nil {
		t.Fatalf("dial inside the namespace: %v", err)
	}
	buf := make([]byte, 2)
	if _, err := c.Read(buf); err != nil || string(buf) != "hi" {
		t.Fatalf("read: %q, %v", buf, err)
	}
	c.Close()
	if c, err := net.DialTimeout("tcp4", ln.Addr().String(), 200*time.Millisecond); err == nil {
		c.Close()
		t.Fatalf("the namespace's listener answered from the caller's namespace")
	}

	// A stale namespace of a process that no longer exists is swept.
	stale := "netnstest-999999999-00aa"
	if _, err := run(ctx, "ip", "netns", "add", stale); err != nil {
		t.Fatal(err)
	}
	m, err := New("netnstest")
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if _, err := os.Stat("/run/netns/" + stale); err == nil {
		run(ctx, "ip", "netns", "del", stale)
		t.Errorf("stale namespace %s not swept", stale)
	}

	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if !closed {
		t.Error("OnClose function not run")
	}
	if _, err := os.Stat("/run/netns/" + n.Name); err == nil {
		t.Errorf("namespace %s still exists after Close", n.Name)
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
