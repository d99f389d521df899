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

// TestHangup: the lower layer goes away (the call was cleared). The link
// ends at once, with the peer's earlier reason if it gave one, and sends
// nothing more: no Terminate-Request into a cleared call.
func TestHangup(t *testing.T) {
	tests := []struct {
		name       string
		peerTerm   bool
		wantReason string
	}{
		{"opened", false, "call cleared"},
		{"after the peer's Terminate-Request", true, "LCP terminated by peer (bye)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, cli := upPair(t, serverConfig(), clientConfig())
			cli.setDrop(func([]byte) bool { return true }) // the client's wire is gone too
			if tt.peerTerm {
				srv.link.Input(AppendFrame(nil, ProtoLCP, Packet{Code: CodeTermReq, ID: 99, Data: []byte("bye")}.Append(nil), false, false))
			}
			before := len(srv.frames())
			srv.link.Hangup("call cleared")
			select {
			case r := <-srv.down:
				if r != tt.wantReason {
					t.Errorf("reason %q, want %q", r, tt.wantReason)
				}
			case <-time.After(serverConfig().RestartTimeout / 2):
				t.Fatal("link not down at once")
			}
			if after := srv.frames()[before:]; len(after) != 0 {
				t.Errorf("sent %d frames after hanging up", len(after))
			}
			if p := srv.link.Phase(); p != PhaseDead {
				t.Errorf("phase %v", p)
			}
		})
	}
}
