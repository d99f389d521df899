package session

import (
	"errors"
	"fmt"
	"time"

	"github.com/pptpbox/pptpbox/pkg/pptp"
)

// startDelay is how long a new call waits for the peer's first GRE packet
// before our side of LCP starts anyway.
const startDelay = 500 * time.Millisecond

// OutgoingCall implements pptp.Handler: a new call gets a call ID and a PPP link.
func (s *Server) OutgoingCall(c *pptp.Conn, peerCallID uint16, req *pptp.OutgoingCallRequest) (uint16, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		s.stats.CallsRefused.Add(1)
		return 0, errors.New("server shutting down")
	}
	if err := s.refuseGuarded(c); err != nil {
		s.stats.CallsRefused.Add(1)
		return 0, err
	}
	if err := s.admitCallLocked(c); err != nil {
		return 0, err
	}
	if s.cfg.MaxSessions > 0 && len(s.calls) >= s.cfg.MaxSessions {
		s.stats.CallsRefused.Add(1)
		return 0, fmt.Errorf("session limit %d reached: %w", s.cfg.MaxSessions, pptp.ErrNoResource)
	}
	id, ok := s.newCallID()
	if !ok {
		s.stats.CallsRefused.Add(1)
		return 0, fmt.Errorf("no free call ID: %w", pptp.ErrNoResource)
	}
	ss := newSession(s, c, id, peerCallID, req.RecvWindow)
	s.calls[id] = ss
	s.countCall(id, 1)
	s.countUnauthLocked(ss)
	// The link starts when the peer's first GRE packet arrives (its LCP
	// Configure-Request, sent once our Outgoing-Call-Reply is in), or after
	// startDelay: an LCP request sent before the reply reaches the client
	// would be dropped and cost a 3 s restart timer.
	ss.startTimer.Store(time.AfterFunc(startDelay, ss.start))
	s.armLoginTimeout(ss)
	return id, nil
}

// SetLinkInfo implements pptp.Handler. PPTP carries PPP without HDLC framing,
// so the ACCMs have no effect on the GRE path; they are logged.
func (s *Server) SetLinkInfo(c *pptp.Conn, callID uint16, sendACCM, recvACCM uint32) {
	s.log.Debug("set-link-info", "call", callID, "send_accm", fmt.Sprintf("%#08x", sendACCM), "recv_accm", fmt.Sprintf("%#08x", recvACCM))
}

// CallCleared implements pptp.Handler: the peer cleared the call or its
// control connection ended.
func (s *Server) CallCleared(c *pptp.Conn, callID uint16) {
	s.mu.RLock()
	ss := s.calls[callID]
	s.mu.RUnlock()
	if ss != nil && ss.ctrl == c {
		ss.cleared.Store(true)
		// The call is gone: no LCP Terminate into it, and no restart
		// period to wait for its ack (pptpd hangs pppd up the same way).
		ss.link.Hangup("peer cleared the call")
	}
}
