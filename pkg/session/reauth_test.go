package session

import (
	"context"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/pptp"
)

// divertGRE hands the GRE packets of chosen call IDs to a test's own peer
// instead of the rig's client mux, which gets the rest.
type divertGRE struct {
	gre.Conn
	mu    sync.Mutex
	peers map[uint16]func(h gre.Header, payload []byte)
}

func (d *divertGRE) ReadBatch(msgs []gre.Message) (int, error) {
	for {
		n, err := d.Conn.ReadBatch(msgs)
		if err != nil {
			return n, err
		}
		kept := 0
		for i := range msgs[:n] {
			h, payload, perr := gre.Parse(msgs[i].Buf[:msgs[i].N])
			d.mu.Lock()
			fn := d.peers[h.CallID]
			d.mu.Unlock()
			if perr == nil && fn != nil {
				fn(h, payload)
				continue
			}
			msgs[kept], msgs[i] = msgs[i], msgs[kept]
			kept++
		}
		if kept > 0 {
			return kept, nil
		}
	}
}

// renegPeer is a PPTP client whose PPP side the test replaces at will: a
// fresh client link on the same call sends a new LCP Configure-Request to a
// server link that is up, which renegotiates LCP and authenticates again
// (RFC 1661 §3.5), as a peer may do at any time after its login.
type renegPeer struct {
	t      *testing.T
	r      *rig
	d      *divertGRE
	ctrl   *pptp.Conn
	callID uint16

	mu     sync.Mutex
	tunnel *gre.Tunnel
	link   *ppp.Link
	msg    [1]gre.Message
}

func dialReneg(t *testing.T, r *rig, d *divertGRE, callID uint16) *renegPeer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctrl, err := pptp.Dial(ctx, r.addr, pptp.Config{}, nopHandler{}, r.srv.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctrl.Close() })
	p := &renegPeer{t: t, r: r, d: d, ctrl: ctrl, callID: callID}
	d.mu.Lock()
	d.peers[callID] = p.received
	d.mu.Unlock()
	reply, err := ctrl.OutgoingCall(ctx, callID)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.tunnel = gre.NewTunnel(gre.TunnelConfig{PeerCallID: reply.CallID, PeerWindow: reply.RecvWindow})
	p.mu.Unlock()
	return p
}

func (p *renegPeer) received(h gre.Header, payload []byte) {
	p.mu.Lock()
	deliver := p.tunnel != nil && p.tunnel.Receive(h)
	link := p.link
	p.mu.Unlock()
	if deliver && link != nil && len(payload) > 0 {
		link.Input(payload)
	}
}

func (p *renegPeer) send(buf []byte, off int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pkt, err := gre.Encapsulate(buf, off, p.tunnel.NextHeader(len(buf)-off))
	if err != nil {
		return
	}
	p.msg[0] = gre.Message{Buf: pkt, N: len(pkt), Addr: netip.MustParseAddr("127.0.0.1")}
	p.d.WriteBatch(p.msg[:])
}

// login starts a fresh client link as user on the call (the previous one
// is silenced) and waits until it is up or down.
func (p *renegPeer) login(user, pw string) (up bool, reason string) {
	p.t.Helper()
	upc, downc := make(chan struct{}, 1), make(chan string, 1)
	l := ppp.New(ppp.Config{
		Role:     ppp.Client,
		Username: user, Password: pw,
		MPPE:     ppp.MPPEPolicy{Required: true, Bits128: true},
		SendAt:   p.send,
		Headroom: gre.MaxHeaderLen,
		OnUp:     func(ppp.UpInfo) { upc <- struct{}{} },
		OnDown:   func(r string) { downc <- r },
	})
	p.mu.Lock()
	old := p.link
	p.link = l
	p.mu.Unlock()
	if old != nil {
		old.Hangup("replaced by a new login")
	}
	l.Start()
	select {
	case <-upc:
		return true, ""
	case r := <-downc:
		return false, r
	case <-time.After(20 * time.Second):
		p.t.Fatalf("login as %s neither up nor down", user)
	}
	return false, ""
}

// newRenegRig is a rig whose client GRE can be diverted to renegPeers;
// logins counts the server's authentications.
func newRenegRig(t *testing.T, single aaa.SingleSession, logins *atomic.Int64) (*rig, *divertGRE) {
	d := &divertGRE{peers: map[uint16]func(gre.Header, []byte){}}
	r := newRigWrapped(t, func(c *Config) {
		c.SingleSession = single
		next := c.Authenticator
		c.Authenticator = authFunc(func(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
			logins.Add(1)
			return next.Authenticate(ctx, req)
		})
	}, rigWrap{client: func(c gre.Conn) gre.Conn {
		d.Conn = c
		return d
	}})
	return r, d
}

// TestRenegotiationKeepsOneAddress: a peer that renegotiates LCP after its
// login and logs in again as the same user keeps its session, its address
// and its user entry; a thousand renegotiations leave one pool address in
// use, and single_session = deny does not lock the user out of their own
// call. Before the fix every renegotiation took another pool address
// (pool_in_use grew by one each time) and under deny the second login
// ended the session.
func TestRenegotiationKeepsOneAddress(t *testing.T) {
	for _, tc := range []struct {
		single aaa.SingleSession
		rounds int
	}{{aaa.SingleDeny, 1000}, {aaa.SingleReplace, 50}} {
		t.Run(tc.single.String(), func(t *testing.T) {
			rounds := tc.rounds
			if testing.Short() {
				rounds = 20
			}
			var logins atomic.Int64
			r, d := newRenegRig(t, tc.single, &logins)
			p := dialReneg(t, r, d, 0x5eed)
			if up, why := p.login("alice", "alice-pw"); !up {
				t.Fatalf("first login: %s", why)
			}
			first := r.srv.Sessions()
			if len(first) != 1 {
				t.Fatalf("sessions %+v", first)
			}
			for i := 0; i < rounds; i++ {
				if up, why := p.login("alice", "alice-pw"); !up {
					t.Fatalf("renegotiation %d: %s", i, why)
				}
				if st := r.srv.Stats(); st.PoolInUse != 1 || st.Sessions != 1 {
					t.Fatalf("after renegotiation %d: pool_in_use %d, sessions %d", i, st.PoolInUse, st.Sessions)
				}
			}
			if n := logins.Load(); n != int64(rounds)+1 {
				t.Fatalf("server authenticated %d logins, want %d", n, rounds+1)
			}
			now := r.srv.Sessions()
			if len(now) != 1 || now[0].IP != first[0].IP || now[0].User != "alice" || now[0].CallID != first[0].CallID {
				t.Fatalf("session changed: %+v, was %+v", now, first)
			}
			if ips, users, calls := r.srv.addrState(); ips != 1 || users != 1 || calls != 1 {
				t.Fatalf("byIP %d byUser %d calls %d, want 1 each", ips, users, calls)
			}
			// The data path works with the last login's keys.
			got := make(chan []byte, 1)
			r.onOutbound = func(pkt []byte) {
				select {
				case got <- pkt:
				default:
				}
			}
			p.mu.Lock()
			link := p.link
			p.mu.Unlock()
			ip := netip.MustParseAddr(first[0].IP)
			if err := link.WriteIP(udpPacket(ip, netip.MustParseAddr("192.0.2.9"), []byte("after"))); err != nil {
				t.Fatal(err)
			}
			select {
			case <-got:
			case <-time.After(10 * time.Second):
				t.Fatal("no packet through the renegotiated session")
			}
		})
	}
}

// TestRenegotiationAsOtherUserEnds: a peer logged in as alice that
// renegotiates and logs in as bob (with bob's right password) is refused
// and its call ends: bob never gets a session or an address, alice's entry
// and address are released. Before the fix the call carried on as bob with
// a second address while alice's entries stayed behind.
func TestRenegotiationAsOtherUserEnds(t *testing.T) {
	var logins atomic.Int64
	r, d := newRenegRig(t, aaa.SingleDeny, &logins)
	p := dialReneg(t, r, d, 0x5eed)
	if up, why := p.login("alice", "alice-pw"); !up {
		t.Fatalf("first login: %s", why)
	}
	if up, _ := p.login("bob", "bob-pw"); up {
		t.Fatalf("login as bob on alice's call came up: %+v", r.srv.Sessions())
	}
	waitFor(t, func() bool { return len(r.srv.Sessions()) == 0 })
	st := r.srv.Stats()
	if st.PoolInUse != 0 || st.Auth.ReauthRefused != 1 {
		t.Fatalf("pool_in_use %d reauth_refused %d, want 0 and 1", st.PoolInUse, st.Auth.ReauthRefused)
	}
	if ips, users, calls := r.srv.addrState(); ips+users+calls != 0 {
		t.Fatalf("byIP %d byUser %d calls %d left", ips, users, calls)
	}
	// alice is not locked out (deny): a fresh call logs in.
	if _, err := r.dial(t, "alice", "alice-pw", nil); err != nil {
		t.Fatal(err)
	}
}

// TestRenegotiationDuringSlowAuth: the peer renegotiates while its first
// login is still with a slow authenticator, and logs in again at once. The
// link drops the first verdict, but its address assignment still runs when
// the authenticator finally answers: it must find the session's address
// and keep it. Before the fix the late assignment, under "off", took a
// second pool address and left the first in byIP (pool_in_use 2), and
// under "replace" ended the session it belonged to.
func TestRenegotiationDuringSlowAuth(t *testing.T) {
	for _, policy := range []aaa.SingleSession{aaa.SingleDeny, aaa.SingleReplace, aaa.SingleOff} {
		t.Run(policy.String(), func(t *testing.T) {
			var calls atomic.Int32
			entered, release := make(chan struct{}), make(chan struct{})
			d := &divertGRE{peers: map[uint16]func(gre.Header, []byte){}}
			r := newRigWrapped(t, func(c *Config) {
				c.SingleSession = policy
				next := c.Authenticator
				c.Authenticator = authFunc(func(ctx context.Context, req *ppp.AuthRequest) (*ppp.AuthResult, error) {
					if calls.Add(1) == 1 {
						close(entered)
						<-release // a stuck RADIUS round trip: the link's context is still live
					}
					return next.Authenticate(context.Background(), req)
				})
			}, rigWrap{client: func(c gre.Conn) gre.Conn { d.Conn = c; return d }})
			p := dialReneg(t, r, d, 0x5eed)
			base := runtime.NumGoroutine()
			go p.login("alice", "alice-pw") // blocks in the authenticator
			<-entered
			if up, why := p.login("alice", "alice-pw"); !up {
				t.Fatalf("second login: %s", why)
			}
			close(release)
			// The late verdict's assignment runs now, on the link's
			// authentication goroutine: once that (and the first login's
			// wait) has ended, it ran.
			waitGoroutines(t, base)
			st := r.srv.Stats()
			if st.PoolInUse != 1 || st.Sessions != 1 {
				t.Fatalf("pool_in_use %d sessions %d after a late verdict, want 1 and 1", st.PoolInUse, st.Sessions)
			}
			if ips, users, calls := r.srv.addrState(); ips != 1 || users != 1 || calls != 1 {
				t.Fatalf("byIP %d byUser %d calls %d, want 1 each", ips, users, calls)
			}
			if in := r.srv.Sessions(); in[0].MPPE == "" {
				t.Fatalf("the session is not up: %+v", in[0])
			}
		})
	}
}
