package client

import (
	"errors"
	"fmt"
	"time"

	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// Abort is a point of the call set-up at which Dial gives up the way a
// client that crashed, lost its link or was killed does: the control
// connection's TCP socket is closed with no Call-Clear-Request, no
// Stop-Control-Connection-Request and no LCP Terminate-Request, and no
// further GRE is sent. The server must clean up whatever the call held at
// that point. The load generator (pptpc -abort) uses it to leave calls
// behind at each stage of a login.
type Abort int

const (
	AbortNone Abort = iota
	// AbortAfterSCCRQ: the control connection is up (RFC 2637 §2.1
	// Start-Control-Connection-Request answered); no call is placed.
	AbortAfterSCCRQ
	// AbortMidLCP: the call is connected and the server's first LCP
	// Configure-Request has arrived (RFC 1661 §5.1); LCP is not open.
	AbortMidLCP
	// AbortMidAuth: our authentication response (CHAP Response, RFC 1994
	// §4.1, or PAP Authenticate-Request) has gone out; we fall silent and
	// close the socket 50 ms later, while the server is checking it (a
	// RADIUS round trip may be in flight).
	AbortMidAuth
	// AbortMidCCP: authenticated; our CCP Configure-Request (RFC 1962)
	// has gone out, CCP is not open.
	AbortMidCCP
)

// Aborts are the abort points in the order a login reaches them.
var Aborts = []Abort{AbortAfterSCCRQ, AbortMidLCP, AbortMidAuth, AbortMidCCP}

func (a Abort) String() string {
	switch a {
	case AbortNone:
		return "none"
	case AbortAfterSCCRQ:
		return "after-sccrq"
	case AbortMidLCP:
		return "mid-lcp"
	case AbortMidAuth:
		return "mid-auth"
	case AbortMidCCP:
		return "mid-ccp"
	}
	return fmt.Sprintf("abort(%d)", int(a))
}

// ErrAborted is wrapped by the error of a Dial that stopped at its
// Config.AbortAt point, as asked.
var ErrAborted = errors.New("client: aborted as configured")

// ErrSilentKept is wrapped by the error of an AbortSilent Dial whose call
// the server had not ended when the Dial's context did.
var ErrSilentKept = errors.New("client: the server kept a silent call")

// abortOnSend says whether sending frame (a PPP frame) reaches point a.
func abortOnSend(a Abort, frame []byte) bool {
	proto, code, ok := controlCode(frame)
	if !ok {
		return false
	}
	switch a {
	case AbortMidAuth:
		// CHAP Response is code 2 (RFC 1994 §4.1); PAP Authenticate-Request code 1 (RFC 1334 §2.2.1).
		return (proto == ppp.ProtoCHAP && code == 2) || (proto == ppp.ProtoPAP && code == 1)
	case AbortMidCCP:
		return proto == ppp.ProtoCCP && code == ppp.CodeConfReq
	}
	return false
}

// abortOnReceive says whether receiving frame reaches point a.
func abortOnReceive(a Abort, frame []byte) bool {
	proto, code, ok := controlCode(frame)
	return ok && a == AbortMidLCP && proto == ppp.ProtoLCP && code == ppp.CodeConfReq
}

// controlCode is the protocol and code of a PPP control frame.
func controlCode(frame []byte) (ppp.Proto, ppp.Code, bool) {
	proto, info, err := ppp.DecodeFrame(frame)
	if err != nil || len(info) == 0 {
		return 0, 0, false
	}
	return proto, ppp.Code(info[0]), true
}

// midAuthLinger: how long an AbortMidAuth client stays silent between its
// authentication response and closing its socket.
const midAuthLinger = 50 * time.Millisecond

// abort is the client vanishing (Config.AbortAt): the control socket is
// closed at once, with nothing said on it, and no more GRE goes out.
func (c *Client) abort() {
	c.abortOnce.Do(func() {
		c.silent.Store(true)
		c.nc.Close()
		close(c.abortCh)
	})
}

// goSilent is an AbortSilent client reaching its point: nothing more goes
// out or comes in (silent is set), and Dial waits for the server.
func (c *Client) goSilent() {
	c.silentOnce.Do(func() { close(c.silentCh) })
}
