package session

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// assign runs when a session's user is authenticated: the single-session
// policy, then the peer address (a fixed one from the authenticator, or the
// pool's next). The address is published to the TUN path at once; packets
// to it are dropped by the link until the network phase is up.
//
// The policy check and the claim of the user name are one step under s.mu
// (claimUser): two concurrent logins of one user never both pass "deny",
// and under "replace" each login ends every session that claimed the name
// before it, so exactly the last one survives. A session's identity (user,
// ip, fromPool) is written only here, under s.mu, while the session is
// still in s.calls; remove takes it out under s.mu, so what onDown reads
// after remove is final.
func (s *Server) assign(ss *Session, user string, res *ppp.AuthResult) (ppp.NetworkParams, error) {
	s.mu.Lock()
	if s.calls[ss.callID] != ss {
		s.mu.Unlock()
		return ppp.NetworkParams{}, errors.New("session ended during authentication")
	}
	if ss.ip.IsValid() {
		// A second login on the same call (the peer renegotiated LCP).
		// The link keeps its first addresses and does not ask again; if
		// it did, the same user keeps the address and anyone else is
		// refused, so byIP and byUser never go stale.
		defer s.mu.Unlock()
		if user != ss.user {
			s.stats.Auth.ReauthRefused.Add(1)
			return ppp.NetworkParams{}, fmt.Errorf("re-authentication as %q on a session of %q", user, ss.user)
		}
		return ppp.NetworkParams{LocalIP: s.cfg.LocalIP, PeerIP: ss.ip, DNS: s.cfg.DNS}, nil
	}
	old, err := s.claimUser(ss, user)
	if err != nil {
		s.mu.Unlock()
		return ppp.NetworkParams{}, err
	}
	if len(old) > 0 {
		s.mu.Unlock()
		for _, o := range old {
			s.log.Info("single session: replacing the older session", "user", user, "old_peer", o.peer.String(), "new_peer", ss.peer.String())
			o.closeFor(aaa.CausePortPreempted, "replaced by a new login of the same user")
		}
		// The old session's address must be free before the new one
		// takes it (a fixed address, or the client asking for its last
		// one): wait for the old links to go down, bounded.
		deadline := time.After(shutdownTimeout)
		for _, o := range old {
			select {
			case <-o.down:
			case <-deadline:
			}
		}
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	// The link may have gone down (and remove run) while the wait above
	// blocked, or a newer login of the user replaced this one: an address
	// taken now would never be given back, or be held by a dying session.
	if s.calls[ss.callID] != ss {
		// remove has run: it took the claim out, and ss is final now.
		return ppp.NetworkParams{}, errors.New("session ended during authentication")
	}
	if ss.cause.Load() != 0 {
		s.unclaimUser(ss)
		return ppp.NetworkParams{}, errors.New("session ended during authentication")
	}
	if ss.ip.IsValid() {
		// An earlier login of this session (the same user: claimUser) got
		// the address while this one waited.
		return ppp.NetworkParams{LocalIP: s.cfg.LocalIP, PeerIP: ss.ip, DNS: s.cfg.DNS}, nil
	}
	ip, err := s.takeAddr(ss, res, old)
	if err != nil {
		s.stats.Login.noAddress.Add(1)
		s.unclaimUser(ss)
		return ppp.NetworkParams{}, err
	}
	ss.ip = ip
	s.byIP[ip] = ss
	return ppp.NetworkParams{LocalIP: s.cfg.LocalIP, PeerIP: ip, DNS: s.cfg.DNS}, nil
}

// claimUser applies the single-session policy to a login of user and, when
// it passes, records ss as one of user's sessions at once, so that a
// concurrent login sees it. Under "replace" it returns the older sessions
// to end. Called with s.mu held.
func (s *Server) claimUser(ss *Session, user string) (old []*Session, err error) {
	if ss.user != "" && ss.user != user {
		// An earlier login of this session is still being assigned (the
		// peer renegotiated meanwhile) under another name.
		s.stats.Auth.ReauthRefused.Add(1)
		return nil, fmt.Errorf("re-authentication as %q during the login of %q", user, ss.user)
	}
	// Under "off" the user's other sessions are not looked at: one name
	// may hold thousands of them (a load test, a shared account), and
	// a list of them per login made logins cost O(sessions).
	if s.cfg.SingleSession != aaa.SingleOff {
		var others []*Session
		for _, o := range s.byUser[user] {
			if o != ss {
				others = append(others, o)
			}
		}
		if len(others) > 0 {
			switch s.cfg.SingleSession {
			case aaa.SingleDeny:
				s.stats.Auth.SingleSessionDenied.Add(1)
				return nil, fmt.Errorf("user %q already has a session (single_session = deny)", user)
			case aaa.SingleReplace:
				old = others
			}
		}
	}
	if ss.user == "" {
		ss.user = user
		s.byUser[user] = append(s.byUser[user], ss)
	}
	return old, nil
}

// unclaimUser undoes claimUser for a login that got no address: the
// session ends in the authentication phase, and the name is free again.
// Called with s.mu held.
func (s *Server) unclaimUser(ss *Session) {
	s.dropFromUser(ss)
	ss.user = ""
}

// dropFromUser takes ss out of its user's sessions (byUser). Called with
// s.mu held.
func (s *Server) dropFromUser(ss *Session) {
	if list := removeFrom(s.byUser[ss.user], ss); len(list) == 0 {
		delete(s.byUser, ss.user)
	} else {
		s.byUser[ss.user] = list
	}
}

func removeFrom(list []*Session, ss *Session) []*Session {
	// One session is in its user's list at most once (claimUser):
	// find it and close the gap, keeping the order.
	if i := slices.Index(list, ss); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	return list
}

// takeAddr picks the address of a session being assigned: the
// authenticator's fixed one, else the pool's next. old are the sessions the
// login replaces, whose fixed address it may take over. Called with s.mu
// held.
func (s *Server) takeAddr(ss *Session, res *ppp.AuthResult, old []*Session) (netip.Addr, error) {
	switch {
	case res != nil && res.FramedIP.IsValid():
		ip := res.FramedIP
		if other := s.byIP[ip]; other != nil {
			if s.cfg.SingleSession != aaa.SingleReplace || !slices.Contains(old, other) {
				return netip.Addr{}, fmt.Errorf("address %s is in use by %q", ip, other.user)
			}
			// The replaced session is still saying goodbye to a peer that
			// does not answer (LCP Max-Terminate outlasts the wait above):
			// the new login takes the address, and the pool entry with it.
			delete(s.byIP, ip)
			ss.fromPool, other.fromPool = other.fromPool, false
			return ip, nil
		}
		if s.cfg.Pool != nil && s.cfg.Pool.Contains(ip) {
			if err := s.cfg.Pool.Reserve(ip); err != nil {
				return netip.Addr{}, err
			}
			ss.fromPool = true
		}
		return ip, nil
	case s.cfg.Pool != nil:
		ip, err := s.cfg.Pool.Get()
		if err != nil {
			return netip.Addr{}, err
		}
		ss.fromPool = true
		return ip, nil
	}
	return netip.Addr{}, errors.New("no address pool and no fixed address for the user")
}
