package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// Client MPPE policies standing for the peers a box meets. pppdDefault is
// pppd with no MPPE option: it does not ask for MPPE but accepts it, 40 or
// 128 bits, when the server asks (ccp.c: MPPE in ccp_allowoptions, not in
// ccp_wantoptions). Windows' "optional encryption" behaves the same.
var (
	pppdDefault   = ppp.MPPEPolicy{Allowed: true, Bits40: true, Bits128: true}
	pppdNoMPPE    = ppp.MPPEPolicy{} // nomppe: refuses
	pppdRequire   = ppp.MPPEPolicy{Required: true, Bits128: true}
	pppdOnly40    = ppp.MPPEPolicy{Required: true, Bits40: true}
	pppdStateful  = ppp.MPPEPolicy{Allowed: true, Bits128: true, AllowStateful: true}
	clientPrefers = ppp.MPPEPolicy{Allowed: true, Bits128: true, AllowStateful: true, PreferStateful: true}
)

// TestMPPEConfigNegotiation runs the whole way from config file text to
// a negotiated link: pkg/config parses the [pptp] keys into PPTPParams
// (ppp.ParseMPPEPolicy maps the mppe keys), and a server link with that policy (and the file's [[user]]
// table, as boxd builds it) negotiates with a client link over an
// in-memory wire. Each row names what both ends must end up with: the
// MPPE mode of the link, "" for a link up in cleartext, or the reason the
// server ended it. Where the link comes up an IP packet must pass each way.
//
// docs/config.md: mppe = "allow" encrypts when the peer agrees and is
// cleartext only when it refuses. Before the fix boxd's mppePolicy set the key
// lengths for "allow" but not Allowed, so the server rejected CCP and the
// "allow" rows with a willing client came up "" (cleartext).
func TestMPPEConfigNegotiation(t *testing.T) {
	const refused = "down: MPPE required but peer refused"
	tests := []struct {
		name   string
		pptp   string // [pptp] lines
		client ppp.MPPEPolicy
		want   string // server's and client's UpInfo.MPPE, or "down: " + the server's reason
	}{
		{"allow, client accepts MPPE", `mppe = "allow"`, pppdDefault, "MPPE 128-bit stateless"},
		{"allow, client requires 128", `mppe = "allow"`, pppdRequire, "MPPE 128-bit stateless"},
		{"allow, client requires 40", `mppe = "allow"`, pppdOnly40, "MPPE 40-bit stateless"},
		{"allow, client refuses", `mppe = "allow"`, pppdNoMPPE, ""},
		{"allow + mppe_stateful, client asks stateless", "mppe = \"allow\"\nmppe_stateful = true", pppdStateful, "MPPE 128-bit stateless"},
		{"allow + mppe_stateful, client prefers stateful", "mppe = \"allow\"\nmppe_stateful = true", clientPrefers, "MPPE 128-bit stateful"},
		{"allow + mppe_prefer_stateful, client accepts stateful", "mppe = \"allow\"\nmppe_prefer_stateful = true", pppdStateful, "MPPE 128-bit stateful"},
		{"allow + mppe_prefer_stateful, client refuses", "mppe = \"allow\"\nmppe_prefer_stateful = true", pppdNoMPPE, ""},

		{"default (require-128), client accepts", ``, pppdDefault, "MPPE 128-bit stateless"},
		{"require-128, client refuses", `mppe = "require-128"`, pppdNoMPPE, refused},
		{"require-128, client only 40", `mppe = "require-128"`, pppdOnly40, refused},
		{"require-128 + mppe_stateful, client prefers stateful", "mppe = \"require-128\"\nmppe_stateful = true", clientPrefers, "MPPE 128-bit stateful"},
		{"require, client only 40", `mppe = "require"`, pppdOnly40, "MPPE 40-bit stateless"},
		{"require, client accepts", `mppe = "require"`, pppdDefault, "MPPE 128-bit stateless"},
		{"require, client refuses", `mppe = "require"`, pppdNoMPPE, refused},

		{"off, client accepts", `mppe = "off"`, pppdDefault, ""},
		{"off, client refuses", `mppe = "off"`, pppdNoMPPE, ""},
		{"off + mppe_stateful, client prefers stateful", "mppe = \"off\"\nmppe_stateful = true", clientPrefers, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := "[pptp]\n" + tc.pptp + "\n[[user]]\nname = \"alice\"\npassword = \"alice-pw\"\n"
			cfg, err := config.Parse("pptpbox.toml", []byte(text))
			if err == nil {
				err = cfg.Validate()
			}
			if err != nil {
				t.Fatalf("config: %v", err)
			}
			srv, cli := negotiate(t, cfg, tc.client)
			if want, ok := strings.CutPrefix(tc.want, "down: "); ok {
				if srv.err == nil || srv.reason != want {
					t.Fatalf("server: up %q / down %q, want down %q", srv.info.MPPE, srv.reason, want)
				}
				return
			}
			if srv.err != nil || cli.err != nil {
				t.Fatalf("server: %v; client: %v; want up with %q", srv.err, cli.err, tc.want)
			}
			if srv.info.MPPE != tc.want || cli.info.MPPE != tc.want {
				t.Fatalf("server %q, client %q, want %q", srv.info.MPPE, cli.info.MPPE, tc.want)
			}
		})
	}
}

// negotiation is how one end of a link came out of negotiate.
type negotiation struct {
	info   ppp.UpInfo
	reason string // why the link went down, when err is set
	err    error
}

// pipeEnd is one end of an in-memory link: frames for it queue on in and
// a goroutine feeds them to its Link, as a GRE receive loop does.
type pipeEnd struct {
	link *ppp.Link
	in   chan []byte
	up   chan ppp.UpInfo
	down chan string
	ip   chan []byte
}

func newPipeEnd() *pipeEnd {
	return &pipeEnd{in: make(chan []byte, 256), up: make(chan ppp.UpInfo, 1), down: make(chan string, 1), ip: make(chan []byte, 16)}
}

// sendTo queues a copy of frame for e (Send must not retain it).
func (e *pipeEnd) sendTo(frame []byte) {
	select {
	case e.in <- bytes.Clone(frame):
	default: // a full queue drops, as a socket buffer does
	}
}

func (e *pipeEnd) run(done <-chan struct{}) {
	for {
		select {
		case f := <-e.in:
			e.link.Input(f)
		case <-done:
			return
		}
	}
}

// negotiate runs a server link configured from cfg as boxd configures it
// (PPTPParams' MPPE policy and auth, the [[user]] table) against a client link with
// policy client, logging in as alice, until both are up or one is down.
// When both are up it sends an IP packet each way.
func negotiate(t *testing.T, cfg *config.Config, client ppp.MPPEPolicy) (srv, cli negotiation) {
	t.Helper()
	p := cfg.PPTPParams()
	peer := netip.MustParseAddr("10.79.97.10")
	const restart = time.Minute
	s, c := newPipeEnd(), newPipeEnd()
	s.link = ppp.New(ppp.Config{
		Role:          ppp.Server,
		Auth:          p.Auth,
		Authenticator: newLocalUsers(cfg.Users),
		MPPE:          p.MPPE,
		Network: func(context.Context, string, *ppp.AuthResult) (ppp.NetworkParams, error) {
			return ppp.NetworkParams{LocalIP: p.LocalIP, PeerIP: peer}, nil
		},
		// A restart timer longer than wait's bound: no row may need a
		// retransmission to come up. An end requiring MPPE holds IPCP
		// back until CCP is open (pppd does, and discards or Terminate-
		// Acks an earlier request); the other end asks again as CCP opens
		// (ppp.Link.retryIPCP) rather than after 3s.
		RestartTimeout: restart,
		Send:           c.sendTo,
		OnUp:           func(i ppp.UpInfo) { s.up <- i },
		OnDown:         func(r string) { s.down <- r },
		OnIP:           func(pkt []byte) { s.ip <- bytes.Clone(pkt) },
	})
	c.link = ppp.New(ppp.Config{
		Role: ppp.Client, Username: "alice", Password: "alice-pw", MPPE: client,
		RestartTimeout: restart,
		Send:           s.sendTo,
		OnUp:           func(i ppp.UpInfo) { c.up <- i },
		OnDown:         func(r string) { c.down <- r },
		OnIP:           func(pkt []byte) { c.ip <- bytes.Clone(pkt) },
	})
	done := make(chan struct{})
	t.Cleanup(func() {
		s.link.Hangup("test over")
		c.link.Hangup("test over")
		close(done)
	})
	// Both links start before either reads its wire: a frame given to a
	// link that has not started is dropped (RFC 1661: no Up event yet),
	// and with the restart timer above nothing is sent again, so the
	// server's first request reaching the client before c.link.Start()
	// left a row stuck in the establish phase (it did, now and then, in
	// full runs). Frames wait in each end's queue meanwhile.
	s.link.Start()
	c.link.Start()
	go s.run(done)
	go c.run(done)

	// wait returns e's outcome: up, or down. The bound only keeps a broken
	// negotiation from hanging the test (it takes milliseconds).
	wait := func(e *pipeEnd) (n negotiation) {
		select {
		case n.info = <-e.up:
		case n.reason = <-e.down:
			n.err = fmt.Errorf("link down: %s", n.reason)
		case <-time.After(30 * time.Second):
			n.err = fmt.Errorf("neither up nor down after 30s (phase %v)", e.link.Phase())
		}
		return n
	}
	srv = wait(s)
	if srv.err != nil {
		return srv, negotiation{err: srv.err}
	}
	cli = wait(c)
	if cli.err != nil {
		return srv, cli
	}
	// Traffic passes each way, whatever the mode.
	pkt := []byte{0x45, 0, 0, 24, 0, 0, 0, 0, 64, 17, 0, 0, 10, 79, 97, 1, 10, 79, 97, 10, 'p', 'i', 'n', 'g'}
	for _, dir := range []struct {
		name     string
		from, to *pipeEnd
	}{{"server -> client", s, c}, {"client -> server", c, s}} {
		if err := dir.from.link.WriteIP(pkt); err != nil {
			t.Fatalf("%s: WriteIP: %v", dir.name, err)
		}
		select {
		case got := <-dir.to.ip:
			if !bytes.Equal(got, pkt) {
				t.Fatalf("%s: got % x, want % x", dir.name, got, pkt)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the packet did not arrive", dir.name)
		}
	}
	return srv, cli
}
