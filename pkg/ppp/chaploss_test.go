package ppp

import (
	"bytes"
	"sync/atomic"
	"testing"
	"time"
)

// chapCode is the CHAP code of frame, or 0 when it is not CHAP.
func chapCode(frame []byte) byte {
	if p, info, err := DecodeFrame(frame); err == nil && p == ProtoCHAP && len(info) > 0 {
		return info[0]
	}
	return 0
}

// chapFrames are the frames of e with CHAP code.
func chapFrames(e *end, code byte) [][]byte {
	var out [][]byte
	for _, f := range e.frames() {
		if chapCode(f) == code {
			out = append(out, f)
		}
	}
	return out
}

// TestCHAPLostSuccess: the authenticator's Success is lost. The client
// re-sends its Response, gets the same Success again (RFC 1994 §4.2) and
// the link comes up, with one login at the authenticator.
func TestCHAPLostSuccess(t *testing.T) {
	scfg := serverConfig()
	auth := scfg.Authenticator.(*fakeAuth)
	var dropped atomic.Int32
	srv := newEnd(t, scfg, 1)
	cli := newEnd(t, clientConfig(), 2)
	srv.setDrop(func(f []byte) bool {
		return chapCode(f) == chapSuccess && dropped.Add(1) == 1
	})
	connect(t, srv, cli)
	srv.link.Start()
	cli.link.Start()
	waitUp(t, srv, "server")
	waitUp(t, cli, "client")
	if n := dropped.Load(); n < 2 {
		t.Fatalf("%d Success sent, want the lost one and a repeat", n)
	}
	resp := chapFrames(cli, chapResponse)
	if len(resp) < 2 || !bytes.Equal(resp[0], resp[1]) {
		t.Errorf("client sent %d Responses; a repeat must be identical", len(resp))
	}
	auth.mu.Lock()
	defer auth.mu.Unlock()
	if len(auth.reqs) != 1 {
		t.Errorf("authenticator asked %d times", len(auth.reqs))
	}
}

// TestCHAPRepeatedChallenge: the authenticator re-sends its Challenge while
// our Response is still on its way (here: while it checks the password).
// The client answers with the same Response, so the Success for the first
// one passes the MS-CHAPv2 mutual check (RFC 2759 §5) and the link comes up.
func TestCHAPRepeatedChallenge(t *testing.T) {
	scfg := serverConfig()
	scfg.Authenticator.(*fakeAuth).delay = 100 * time.Millisecond
	srv, cli := pair(t, scfg, clientConfig())
	deadline := time.Now().Add(waitFor)
	for len(chapFrames(cli, chapResponse)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no Response:\n%s", cli.logs)
		}
		time.Sleep(time.Millisecond)
	}
	challenge := chapFrames(srv, chapChallenge)[0]
	srv.wire <- challenge // as if the authenticator had re-sent it
	waitUp(t, srv, "server")
	waitUp(t, cli, "client")
	// The client also re-sends it on its own timer meanwhile: every
	// Response must be the same.
	resp := chapFrames(cli, chapResponse)
	for i, r := range resp {
		if !bytes.Equal(r, resp[0]) {
			t.Errorf("Response %d of %d differs from the first", i+1, len(resp))
		}
	}
}
