package ppp

import (
	"bytes"
	"errors"
	"sync"
	"testing"
)

// TestWriteIPAtInPlace: with headroom, WriteIPAt builds the frame (and
// encrypts) inside the caller's buffer and SendAt gets that buffer with
// Config.Headroom free in front; with too little, the packet is copied and
// the caller's bytes stay as they were. The peer decrypts in place
// (InputInPlace) and must see every packet intact.
func TestWriteIPAtInPlace(t *testing.T) {
	const headroom = 16
	tests := []struct {
		name string
		mppe MPPEPolicy
	}{
		{name: "mppe-stateless", mppe: MPPEPolicy{Required: true, Bits128: true}},
		{name: "mppe-stateful", mppe: MPPEPolicy{Required: true, Bits128: true, AllowStateful: true, PreferStateful: true}},
		{name: "plain", mppe: MPPEPolicy{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var lastBuf []byte
			var lastOff, badOff int
			scfg, ccfg := serverConfig(), clientConfig()
			scfg.MPPE, ccfg.MPPE = tc.mppe, tc.mppe
			scfg.Headroom = headroom
			scfg.SendAt = func(buf []byte, off int) {
				mu.Lock()
				defer mu.Unlock()
				if off < headroom {
					badOff++
				}
				lastBuf, lastOff = buf, off
			}
			ccfg.InputInPlace = true
			scfg.InputInPlace = true
			srv, cli := pair(t, scfg, ccfg)
			waitUp(t, srv, "server")
			waitUp(t, cli, "client")

			for i := range 50 {
				p := ipPacket(20+i*27, byte(i))
				// Enough room: built in place.
				off := headroom + DataHeadroom + i%3
				buf := make([]byte, off+len(p))
				copy(buf[off:], p)
				if err := srv.link.WriteIPAt(buf, off); err != nil {
					t.Fatalf("WriteIPAt: %v", err)
				}
				mu.Lock()
				inPlace := len(lastBuf) > 0 && &lastBuf[0] == &buf[0]
				at := lastOff
				mu.Unlock()
				if !inPlace || at < headroom || at >= off {
					t.Fatalf("packet %d: frame not built in the caller's headroom (same buffer %v, frame at %d of %d)", i, inPlace, at, off)
				}
				if tc.mppe.Required == bytes.Equal(buf[off:], p) {
					t.Errorf("packet %d: encrypted in place = %v, want %v", i, !bytes.Equal(buf[off:], p), tc.mppe.Required)
				}
				waitIP(t, cli, p)

				// Too little room: copied, the caller's packet untouched.
				short := append(make([]byte, 3), p...)
				if err := srv.link.WriteIPAt(short, 3); err != nil {
					t.Fatalf("WriteIPAt without headroom: %v", err)
				}
				if !bytes.Equal(short[3:], p) {
					t.Fatalf("packet %d: WriteIPAt without headroom changed the caller's packet", i)
				}
				waitIP(t, cli, p)

				// The other way: the server decrypts in place.
				q := ipPacket(1400-i, byte(i+7))
				if err := cli.link.WriteIP(q); err != nil {
					t.Fatalf("client WriteIP: %v", err)
				}
				waitIP(t, srv, q)
			}
			mu.Lock()
			defer mu.Unlock()
			if badOff != 0 {
				t.Errorf("%d frames reached SendAt with less than %d bytes of headroom", badOff, headroom)
			}
		})
	}
}

func TestWriteIPAtErrors(t *testing.T) {
	srv, cli := pair(t, serverConfig(), clientConfig())
	buf := make([]byte, 64+DataHeadroom)
	if err := srv.link.WriteIPAt(buf, DataHeadroom); !errors.Is(err, ErrNotUp) {
		t.Fatalf("before up: %v, want ErrNotUp", err)
	}
	if m := srv.link.PeerMRU(); m != 0 {
		t.Errorf("PeerMRU before up = %d, want 0", m)
	}
	u := waitUp(t, srv, "server")
	waitUp(t, cli, "client")
	if m := srv.link.PeerMRU(); m != u.PeerMRU || m == 0 {
		t.Errorf("PeerMRU when up = %d, want the UpInfo's %d", m, u.PeerMRU)
	}
	big := make([]byte, DataHeadroom+u.PeerMRU+1)
	if err := srv.link.WriteIPAt(big, DataHeadroom); !errors.Is(err, ErrTooBig) {
		t.Fatalf("above the peer's MRU: %v, want ErrTooBig", err)
	}
	srv.link.Close("test")
	<-srv.down
	if err := srv.link.WriteIPAt(buf, DataHeadroom); !errors.Is(err, ErrLinkDown) {
		t.Fatalf("after close: %v, want ErrLinkDown", err)
	}
	if m := srv.link.PeerMRU(); m != 0 {
		t.Errorf("PeerMRU after close = %d, want 0", m)
	}
}
