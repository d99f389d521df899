package session

import (
	"net/netip"

	"github.com/pptpbox/pptpbox/pkg/ippool"
	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// Routed subnets: a session whose AuthResult.Routes name subnets (a
// site-to-site peer's LAN: [[user]] routes, RADIUS Framed-Route) gets them
// while its link is up. The send path finds the session for a destination
// inside one (sessionByIP consults routeTable when the exact address
// misses), the receive path accepts sources inside them (onIP), and
// Config.OnRoute routes them into the TUN device in the kernel.
//
// A subnet overlapping one that another user's live session holds is
// refused (logged "route refused"); the session logs in without it. The
// first session keeps a site's traffic: another login cannot take it
// over. A new session of the same user (a site that redials while its
// old session has not noticed yet) takes the subnet over ("route moved"):
// the kernel route stays, and the old session's end leaves it alone.

// routeEntry is one routed subnet and the session that holds it.
type routeEntry struct {
	p  netip.Prefix
	ss *Session
}

// routeTable is the longest-prefix table, longest prefix first: a lookup
// is a scan that stops at the first match (the table is small: one entry
// per subnet behind a site). Under Server.mu.
type routeTable []routeEntry

func (t routeTable) lookup(a netip.Addr) *Session {
	for i := range t {
		if t[i].p.Contains(a) {
			return t[i].ss
		}
	}
	return nil
}

// overlaps is the entry whose subnet overlaps p, if any.
func (t routeTable) overlaps(p netip.Prefix) (routeEntry, bool) {
	for _, e := range t {
		if e.p.Overlaps(p) {
			return e, true
		}
	}
	return routeEntry{}, false
}

// add puts e in its place, longest prefix first.
func (t routeTable) add(e routeEntry) routeTable {
	i := 0
	for i < len(t) && t[i].p.Bits() >= e.p.Bits() {
		i++
	}
	t = append(t, routeEntry{})
	copy(t[i+1:], t[i:])
	t[i] = e
	return t
}

// without is t without ss's entry for p, or all of ss's entries when p is
// the zero Prefix.
func (t routeTable) without(ss *Session, p netip.Prefix) routeTable {
	out := t[:0]
	for _, e := range t {
		if e.ss != ss || (p.IsValid() && e.p != p) {
			out = append(out, e)
		}
	}
	clear(t[len(out):])
	return out
}

// grantRoutes gives ss the subnets res names that no other session holds,
// and routes them to the TUN (Config.OnRoute). Runs in onUp, before the
// session's traffic is counted on.
func (ss *Session) grantRoutes(res *ppp.AuthResult) {
	if res == nil || len(res.Routes) == 0 {
		return
	}
	s := ss.srv
	var granted, fresh []netip.Prefix
	s.routeMu.Lock()
	defer s.routeMu.Unlock()
	s.mu.Lock()
	for _, text := range res.Routes {
		r, err := ippool.ParseRoute(text)
		if err == nil && r.Gateway.IsValid() && r.Gateway != ss.ip {
			err = errGateway
		}
		if err != nil {
			s.log.Warn("route refused", "user", ss.user, "call", ss.callID, "route", text, "err", err)
			continue
		}
		if e, ok := s.routes.overlaps(r.Prefix); ok && e.p == r.Prefix && e.ss.user == ss.user {
			s.routes = s.routes.without(e.ss, e.p)
			s.routes = s.routes.add(routeEntry{p: r.Prefix, ss: ss})
			granted = append(granted, r.Prefix)
			s.log.Info("route moved", "user", ss.user, "call", ss.callID, "route", r.Prefix.String(), "from_call", e.ss.callID)
			continue
		} else if ok {
			s.log.Warn("route refused", "user", ss.user, "call", ss.callID, "route", r.Prefix.String(),
				"err", "overlaps a route of another session", "overlaps", e.p.String(),
				"holder", e.ss.user, "holder_call", e.ss.callID)
			continue
		}
		s.routes = s.routes.add(routeEntry{p: r.Prefix, ss: ss})
		granted = append(granted, r.Prefix)
		fresh = append(fresh, r.Prefix)
	}
	s.mu.Unlock()
	if len(granted) == 0 {
		return
	}
	ss.routes.Store(&granted)
	for _, p := range fresh {
		if f := s.cfg.OnRoute; f != nil {
			f(p, true)
		}
		s.log.Info("route up", "user", ss.user, "call", ss.callID, "route", p.String(), "via", ss.ip.String())
	}
}

// dropRoutes takes ss's subnets out of the table and the kernel: in
// onDown. The TUN no longer routes them before the table forgets them.
func (ss *Session) dropRoutes() {
	rs := ss.routes.Load()
	if rs == nil {
		return
	}
	s := ss.srv
	s.routeMu.Lock()
	defer s.routeMu.Unlock()
	// Only the subnets ss still holds: a newer session of the user may
	// have taken some over (grantRoutes).
	var held []netip.Prefix
	s.mu.Lock()
	for _, e := range s.routes {
		if e.ss == ss {
			held = append(held, e.p)
		}
	}
	s.routes = s.routes.without(ss, netip.Prefix{})
	s.mu.Unlock()
	for _, p := range held {
		if f := s.cfg.OnRoute; f != nil {
			f(p, false)
		}
		s.log.Info("route down", "user", ss.user, "call", ss.callID, "route", p.String())
	}
}

// routedSource reports whether a, a source that is not the client's own
// address, lies in a subnet routed through the session: the receive
// path's second chance (onIP). No allocation; nil when none.
func (ss *Session) routedSource(a netip.Addr) bool {
	rs := ss.routes.Load()
	if rs == nil {
		return false
	}
	for _, p := range *rs {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Routes are the subnets routed through the session, as text.
func (ss *Session) Routes() []string {
	rs := ss.routes.Load()
	if rs == nil {
		return nil
	}
	out := make([]string, len(*rs))
	for i, p := range *rs {
		out[i] = p.String()
	}
	return out
}

type routeError string

func (e routeError) Error() string { return string(e) }

// errGateway: a PPTP session reaches its client only, so a Framed-Route
// gateway must be 0.0.0.0, absent, or the client's own address.
const errGateway = routeError("gateway is not the client (want 0.0.0.0)")
