package main

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/pptpbox/pptpbox/pkg/control"
	"github.com/pptpbox/pptpbox/pkg/mppe"
	"github.com/pptpbox/pptpbox/pkg/mschap"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/radius"
	"github.com/pptpbox/pptpbox/pkg/session"
)

// The show commands and kick: boxAPI's methods that report, mapped from
// boxd's own types onto pkg/control's. Sessions here; the counters in
// show_stats.go, interfaces, routes and NAT in show_net.go, the system in
// show_system.go, the log in show_log.go.

// sessionParts are the parts a session command needs, read under b.mu (a
// reload or the PPTP server's start may set them).
func (b *box) sessionParts() (*session.Server, *radius.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv == nil {
		return nil, nil, control.Errorf(control.CodeUnavailable, "the PPTP server is off ([pptp] enabled = false) or not started yet")
	}
	return b.srv, b.rc, nil
}

func (a boxAPI) Sessions(ctx context.Context) ([]control.Session, error) {
	srv, rc, err := a.b.sessionParts()
	if err != nil {
		return nil, err
	}
	ds := srv.Details()
	sortDetails(ds)
	out := make([]control.Session, 0, len(ds))
	for _, d := range ds {
		out = append(out, controlSession(d, acctSessionID(rc)))
	}
	return out, nil
}

// Session describes the one session sel names (see selectSessions and
// oneSession).
func (a boxAPI) Session(ctx context.Context, sel string) (control.SessionDetail, error) {
	srv, rc, err := a.b.sessionParts()
	if err != nil {
		return control.SessionDetail{}, err
	}
	d, err := oneSession(srv.Details(), sel)
	if err != nil {
		return control.SessionDetail{}, err
	}
	return sessionDetail(d, acctSessionID(rc)), nil
}

// oneSession is the session sel names; a selector that names several is
// refused (CodeBadRequest) with their ids, so that the operator picks one.
func oneSession(all []session.Detail, sel string) (session.Detail, error) {
	ds, err := selectSessions(all, sel)
	if err != nil {
		return session.Detail{}, err
	}
	if len(ds) > 1 {
		e := control.Errorf(control.CodeBadRequest, "%q names %d sessions: give one's id", sel, len(ds))
		for _, d := range ds {
			e.Details = append(e.Details, fmt.Sprintf("#%d %s from %s, %s", d.CallID, d.User, d.PeerAddr, cmp.Or(d.IP, "no address yet")))
		}
		return session.Detail{}, e
	}
	return ds[0], nil
}

// Kick ends every session sel names, each as an Admin-Reset (the
// accounting Stop says so), and returns them as they were.
func (a boxAPI) Kick(ctx context.Context, sel string) ([]control.Session, error) {
	srv, rc, err := a.b.sessionParts()
	if err != nil {
		return nil, err
	}
	ds, err := selectSessions(srv.Details(), sel)
	if err != nil {
		return nil, err
	}
	var out []control.Session
	for _, d := range ds {
		if _, ok := srv.EndCall(d.CallID, "disconnected by the administrator"); ok {
			out = append(out, controlSession(d, acctSessionID(rc)))
		}
	}
	if len(out) == 0 {
		return nil, control.Errorf(control.CodeNotFound, "no session matches %q (it ended meanwhile)", sel)
	}
	a.b.log.Info("kick", "selector", sel, "sessions", len(out))
	return out, nil
}

// selectSessions returns the sessions sel names, by the first rule that
// applies:
//
//   - "#N": the session whose id (our call ID) is N;
//   - an IPv4 address: the sessions with that tunnel address or from that
//     peer address (several clients may share one behind a NAT);
//   - address:port: the session whose control connection comes from there;
//   - otherwise a user name: the sessions of that user, the name compared
//     as sent and without a Windows "DOMAIN\" prefix; when no session has
//     that user and sel is a number, the session with that id.
//
// No match is CodeNotFound; an empty selector CodeBadRequest.
func selectSessions(ds []session.Detail, sel string) ([]session.Detail, error) {
	sel = strings.TrimSpace(sel)
	if sel == "" {
		return nil, control.Errorf(control.CodeBadRequest, "name a session: a user, an id (#N) or an address")
	}
	match := func(f func(d session.Detail) bool) []session.Detail {
		var out []session.Detail
		for _, d := range ds {
			if f(d) {
				out = append(out, d)
			}
		}
		sortDetails(out)
		return out
	}
	var got []session.Detail
	if id, ok := strings.CutPrefix(sel, "#"); ok {
		n, err := strconv.ParseUint(id, 10, 16)
		if err != nil {
			return nil, control.Errorf(control.CodeBadRequest, "%q: a session id is #N, N from 0 to 65535", sel)
		}
		got = match(func(d session.Detail) bool { return d.CallID == uint16(n) })
	} else if ip, err := netip.ParseAddr(sel); err == nil {
		ip = ip.Unmap()
		got = match(func(d session.Detail) bool { return d.IP == ip.String() || d.Peer == ip.String() })
	} else if ap, err := netip.ParseAddrPort(sel); err == nil {
		got = match(func(d session.Detail) bool {
			return d.PeerAddr.Addr().Unmap() == ap.Addr().Unmap() && d.PeerAddr.Port() == ap.Port()
		})
	} else {
		got = match(func(d session.Detail) bool {
			return d.User != "" && (d.User == sel || mschap.StripDomain(d.User) == sel)
		})
		if n, err := strconv.ParseUint(sel, 10, 16); len(got) == 0 && err == nil {
			got = match(func(d session.Detail) bool { return d.CallID == uint16(n) })
		}
	}
	if len(got) == 0 {
		return nil, control.Errorf(control.CodeNotFound, "no session matches %q", sel)
	}
	return got, nil
}

// sortDetails orders sessions by user, then id: the table's order.
func sortDetails(ds []session.Detail) {
	slices.SortFunc(ds, func(a, b session.Detail) int {
		return cmp.Or(strings.Compare(a.User, b.User), cmp.Compare(a.CallID, b.CallID))
	})
}

// acctSessionID returns how to find a login's Acct-Session-Id: the RADIUS
// client's, or none without RADIUS.
func acctSessionID(rc *radius.Client) func(*ppp.AuthResult) string {
	return func(res *ppp.AuthResult) string {
		if rc == nil || res == nil {
			return ""
		}
		return rc.SessionID(res)
	}
}

// endedSessions maps the sessions a config change ended (their summary:
// they are gone, so there is no detail left to read).
func endedSessions(in []session.Info) []control.Session {
	out := make([]control.Session, 0, len(in))
	for _, i := range in {
		s := controlSession(session.Detail{Info: i}, nil)
		s.State = "ended"
		out = append(out, s)
	}
	return out
}

// controlSession maps a session onto the control API's (control_test.go
// checks that no field is left out).
func controlSession(d session.Detail, acctID func(*ppp.AuthResult) string) control.Session {
	s := control.Session{
		User:     d.User,
		Peer:     d.Peer,
		IP:       d.IP,
		CallID:   d.CallID,
		PeerCall: d.PeerCall,
		MPPE:     d.MPPE,
		Uptime:   d.Uptime,
		BytesIn:  d.BytesIn,
		BytesOut: d.BytesOut,
		PktsIn:   d.PktsIn,
		PktsOut:  d.PktsOut,
		PeerPort: d.PeerAddr.Port(),

		RateLimit:  d.RateLimit,
		LimitedIn:  d.LimitedIn,
		LimitedOut: d.LimitedOut,
		Routes:     d.Routes,
		State:      d.Negotiated.Phase.String(),
	}
	if d.Up && d.Negotiated.Phase == ppp.PhaseNetwork {
		s.State = "up"
	}
	if a := d.Negotiated.Auth; a != ppp.AuthNone {
		s.Auth = a.String()
	}
	if d.Result != nil {
		s.AuthSource = d.Result.Source
		if acctID != nil {
			s.AcctSessionID = acctID(d.Result)
		}
	}
	return s
}

// sessionDetail maps a session in full: the negotiated options of each
// layer that is open, the RADIUS attributes of its Access-Accept (masked
// by pkg/radius), its drops by reason and its other link counters.
func sessionDetail(d session.Detail, acctID func(*ppp.AuthResult) string) control.SessionDetail {
	out := control.SessionDetail{Session: controlSession(d, acctID)}
	n := d.Negotiated
	opt := func(dst *[]control.Option, dir, name, value string) {
		*dst = append(*dst, control.Option{Dir: dir, Name: name, Value: value})
	}
	if n.LCPOpen {
		for _, side := range []struct {
			dir string
			o   ppp.LCPOptions
		}{{"local", n.Local}, {"peer", n.Peer}} {
			mru := "1500 (default)"
			if side.o.MRU != 0 {
				mru = strconv.Itoa(side.o.MRU)
			}
			opt(&out.LCP, side.dir, "mru", mru)
			magic := "none"
			if side.o.Magic != 0 {
				magic = fmt.Sprintf("0x%08x", side.o.Magic)
			}
			opt(&out.LCP, side.dir, "magic", magic)
			opt(&out.LCP, side.dir, "pfc", onOff(side.o.PFC))
			opt(&out.LCP, side.dir, "acfc", onOff(side.o.ACFC))
		}
		if n.Auth != ppp.AuthNone {
			opt(&out.LCP, "local", "auth", n.Auth.String())
		}
	}
	if n.CCPOpen {
		for _, side := range []struct {
			dir  string
			bits mppe.Bits
		}{{"local", n.MPPERecv}, {"peer", n.MPPESend}} {
			opt(&out.CCP, side.dir, "mppe", mppeText(side.bits))
		}
	}
	if n.IPCPOpen {
		opt(&out.IPCP, "local", "address", n.LocalIP.String())
		opt(&out.IPCP, "peer", "address", n.PeerIP.String())
		for i, dns := range n.DNS {
			if dns.IsValid() {
				opt(&out.IPCP, "peer", fmt.Sprintf("dns%d", i+1), dns.String())
			}
		}
	}
	if d.Result != nil {
		for _, at := range d.Result.Attributes {
			out.Radius = append(out.Radius, control.Attribute{Name: at.Name, Value: at.Value})
		}
	}
	for r := range ppp.NumDropReasons {
		out.Drops = append(out.Drops, control.Counter{Name: r.String(), Value: d.Link.Drops[r]})
	}
	out.Counters = []control.Counter{
		{Name: "control_in", Value: d.Link.ControlIn},
		{Name: "control_out", Value: d.Link.ControlOut},
	}
	return out
}

// mppeText prints a direction's MPPE bits: "128-bit stateless <mppe +H
// -M +S -L -D -C>", or "none".
func mppeText(b mppe.Bits) string {
	if b == 0 {
		return "none"
	}
	mode := "stateful"
	if b&mppe.BitH != 0 {
		mode = "stateless"
	}
	return fmt.Sprintf("%d-bit %s %v", b.Strongest(), mode, b)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
