package pptp_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pptpbox/pptpbox/pkg/gre"
	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
	"github.com/pptpbox/pptpbox/pkg/pptp"
)

// This file checks our control connection and GRE data path against the
// real Linux client, pptp-linux (Debian's pptp-linux, which PPTP users run
// under pppd). pptp runs with --nolaunchpppd: instead of a pppd on a pty it
// reads and writes async-HDLC PPP frames on stdin/stdout, which the test
// plays. Everything runs in a network namespace of its own.

// fcs16 is the PPP frame check sequence of RFC 1662 §C.2 (CRC-16/X.25).
func fcs16(b []byte) uint16 {
	fcs := uint16(0xffff)
	for _, c := range b {
		fcs ^= uint16(c)
		for range 8 {
			if fcs&1 != 0 {
				fcs = fcs>>1 ^ 0x8408
			} else {
				fcs >>= 1
			}
		}
	}
	return fcs ^ 0xffff
}

// hdlcEncode frames a PPP frame for an async link (RFC 1662 §4): FCS
// appended least significant byte first, flag, control-escape of the flag,
// the escape and every byte below 0x20 (the default ACCM), flag.
func hdlcEncode(frame []byte) []byte {
	f := fcs16(frame)
	raw := append(append([]byte(nil), frame...), byte(f), byte(f>>8))
	out := []byte{0x7e}
	for _, c := range raw {
		if c == 0x7e || c == 0x7d || c < 0x20 {
			out = append(out, 0x7d, c^0x20)
			continue
		}
		out = append(out, c)
	}
	return append(out, 0x7e)
}

// hdlcReadFrame reads the next non-empty async-HDLC frame from r, checks
// its FCS and returns it without the FCS.
func hdlcReadFrame(r *bufio.Reader) ([]byte, error) {
	var frame []byte
	esc := false
	for {
		c, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		switch {
		case c == 0x7e:
			if len(frame) == 0 {
				continue
			}
			if len(frame) < 3 {
				return nil, fmt.Errorf("hdlc: %d-byte frame", len(frame))
			}
			body := frame[:len(frame)-2]
			if got := uint16(frame[len(frame)-2]) | uint16(frame[len(frame)-1])<<8; got != fcs16(body) {
				return nil, fmt.Errorf("hdlc: bad FCS %04x on %x", got, body)
			}
			return body, nil
		case c == 0x7d:
			esc = true
		case esc:
			frame = append(frame, c^0x20)
			esc = false
		default:
			frame = append(frame, c)
		}
	}
}

func TestFCS16(t *testing.T) {
	// RFC 1662 §C.2: a frame followed by its FCS checks to the good value
	// 0xf0b8 (before the final complement: residue of ^0xffff).
	frame := []byte("123456789")
	if got := fcs16(frame); got != 0x906e { // CRC-16/X.25 check value
		t.Fatalf("fcs16(123456789) = %04x, want 906e", got)
	}
	enc := hdlcEncode([]byte{0xff, 0x03, 0xc0, 0x21, 0x7e, 0x7d, 0x01})
	got, err := hdlcReadFrame(bufio.NewReader(bytes.NewReader(enc)))
	if err != nil || !bytes.Equal(got, []byte{0xff, 0x03, 0xc0, 0x21, 0x7e, 0x7d, 0x01}) {
		t.Fatalf("hdlc round trip = %x, %v (encoded %x)", got, err, enc)
	}
}

// interopHandler accepts one call with a fixed call ID.
type interopHandler struct {
	calls   chan *pptp.OutgoingCallRequest
	cleared chan uint16
}

const interopCallID = 0x4242

func (h *interopHandler) OutgoingCall(c *pptp.Conn, peer uint16, req *pptp.OutgoingCallRequest) (uint16, error) {
	h.calls <- req
	return interopCallID, nil
}
func (h *interopHandler) SetLinkInfo(*pptp.Conn, uint16, uint32, uint32) {}
func (h *interopHandler) CallCleared(c *pptp.Conn, id uint16)            { h.cleared <- id }

func TestInteropPPTPLinux(t *testing.T) {
	skip := t.Skip
	if os.Getenv("CI") == "true" {
		skip = t.Fatal // make deps installs pptp-linux; CI runs as root
	}
	if os.Geteuid() != 0 {
		skip("needs root (network namespace, raw GRE socket)")
	}
	pptpBin, err := exec.LookPath("pptp")
	if err != nil {
		skip("needs pptp from Debian's pptp-linux")
	}
	ns := netnstest.NewNS(t, "pptp-interop")
	// pptp resolves the server with AI_ADDRCONFIG, which ignores loopback:
	// the namespace needs an address on a real link. A veth pair with both
	// ends inside gives one; the traffic itself stays local.
	for _, args := range [][]string{
		{"link", "add", "v0", "type", "veth", "peer", "name", "v1"},
		{"addr", "add", "192.0.2.1/24", "dev", "v0"},
		{"link", "set", "v0", "up"},
		{"link", "set", "v1", "up"},
	} {
		if out, err := ns.Run("ip", args...); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	lo := netip.MustParseAddr("192.0.2.1")
	var ln net.Listener
	var gc gre.Conn
	err = ns.Do(func() error {
		var err error
		if ln, err = net.Listen("tcp4", "192.0.2.1:1723"); err != nil {
			return err
		}
		gc, err = gre.ListenIPv4(lo)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	defer gc.Close()

	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h := &interopHandler{calls: make(chan *pptp.OutgoingCallRequest, 1), cleared: make(chan uint16, 1)}
	srvc := make(chan *pptp.Conn, 1)
	serveErr := make(chan error, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		c := pptp.NewServerConn(nc, pptp.Config{EchoInterval: 2 * time.Second}, h, log)
		srvc <- c
		serveErr <- c.Serve(context.Background())
	}()

	// pptp: its own process group, so the call manager it forks is ended
	// with it by the group's id.
	cmd := ns.Cmd(pptpBin, "192.0.2.1", "--nolaunchpppd", "--nohostroute",
		"--nobuffer", "--loglevel", "2")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// pptp reads and writes PPP on one descriptor, as on pppd's pty: give
	// it one end of a socket pair as both stdin and stdout.
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	theirs, ours := os.NewFile(uintptr(fds[0]), "pptp-pty"), os.NewFile(uintptr(fds[1]), "test-pty")
	defer ours.Close()
	cmd.Stdin, cmd.Stdout = theirs, theirs
	stdin, stdout := ours, ours
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(3 * time.Second):
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-done
			}
		})
	}
	defer stop()
	defer func() {
		if t.Failed() {
			t.Logf("pptp stderr: %s", stderr.String())
		}
	}()

	// Control: pptp starts the connection and places a call.
	var req *pptp.OutgoingCallRequest
	select {
	case req = <-h.calls:
	case <-time.After(15 * time.Second):
		t.Fatal("pptp placed no call")
	}
	srv := <-srvc
	t.Logf("pptp call: %+v", *req)
	if req.RecvWindow == 0 {
		t.Errorf("pptp announced a zero receive window")
	}

	// Data, pptp -> us: an LCP Configure-Request written to pptp's stdin
	// arrives as GRE with our call ID as key, HDLC framing and FCS gone.
	lcp, _ := hex.DecodeString("ff03c0210101000e0506cafebabe07020802")
	tun := gre.NewTunnel(gre.TunnelConfig{PeerCallID: req.CallID, PeerWindow: req.RecvWindow})
	// pptp reads the socket pair once its call is up; until then the frame
	// waits in the socket buffer.
	stdin.Write(hdlcEncode(lcp))
	got := readGRE(t, gc, func(h gre.Header, payload []byte) bool {
		return h.CallID == interopCallID && h.HasSeq
	})
	if !tun.Receive(got.h) || !bytes.Equal(got.payload, lcp) {
		t.Fatalf("GRE from pptp: %v %x, want payload %x", got.h, got.payload, lcp)
	}
	if got.addr != lo {
		t.Errorf("GRE from %v", got.addr)
	}

	// Data, us -> pptp: a GRE packet with our sequence number and the ack
	// of its packet comes out of pptp's stdout as an HDLC frame.
	echo, _ := hex.DecodeString("ff03c021090100080badcafe")
	hdr := tun.NextHeader(len(echo))
	if !hdr.HasAck {
		t.Errorf("first data packet carries no ack: %v", hdr)
	}
	pkt := append(gre.AppendHeader(nil, hdr), echo...)
	if _, err := gc.WriteBatch([]gre.Message{{Buf: pkt, N: len(pkt), Addr: lo}}); err != nil {
		t.Fatal(err)
	}
	frames := make(chan []byte, 1)
	go func() {
		f, err := hdlcReadFrame(bufio.NewReader(stdout))
		if err != nil {
			t.Logf("pptp stdout: %v", err)
			close(frames)
			return
		}
		frames <- f
	}()
	select {
	case f := <-frames:
		if !bytes.Equal(f, echo) {
			t.Fatalf("pptp wrote %x, want %x", f, echo)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pptp wrote no frame for our GRE packet")
	}

	// pptp acknowledges our packet (piggy-backed or, after its 0.5 s ack
	// timer, standalone) and numbers its next packet one up.
	firstSeq := got.h.Seq
	stdin.Write(hdlcEncode(lcp))
	var sawAck, sawData bool
	for !sawAck || !sawData {
		got = readGRE(t, gc, func(h gre.Header, payload []byte) bool {
			return h.CallID == interopCallID && (h.HasSeq || h.HasAck)
		})
		if got.h.HasAck {
			if got.h.Ack != hdr.Seq {
				t.Fatalf("pptp acked %d, we sent %d", got.h.Ack, hdr.Seq)
			}
			sawAck = true
		}
		if got.h.HasSeq {
			if got.h.Seq != firstSeq+1 || !bytes.Equal(got.payload, lcp) {
				t.Fatalf("pptp's second packet: %v %x", got.h, got.payload)
			}
			sawData = true
		}
		tun.Receive(got.h)
	}
	if st := tun.Stats(); st.RxBadAck != 0 || st.RxOld != 0 || st.RxData != 2 {
		t.Errorf("tunnel stats %+v", st)
	}

	// Orderly end: our Close sends Call-Disconnect-Notify and
	// Stop-Control-Connection-Request, which pptp answers.
	start := time.Now()
	srv.Close()
	if err := <-serveErr; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if time.Since(start) > 4*time.Second {
		t.Errorf("pptp did not answer Stop-Control-Connection-Request (Close took %v)", time.Since(start))
	}
	select {
	case id := <-h.cleared:
		if id != interopCallID {
			t.Errorf("cleared call %d", id)
		}
	case <-time.After(time.Second):
		t.Error("no CallCleared")
	}
	c := srv.Counters()
	if c.Unknown.Load()+c.Unexpected.Load()+c.Malformed.Load()+c.BadCallID.Load() != 0 {
		t.Errorf("counters: unknown %d unexpected %d malformed %d badcall %d", c.Unknown.Load(),
			c.Unexpected.Load(), c.Malformed.Load(), c.BadCallID.Load())
	}
	stop()
}

type greRead struct {
	h       gre.Header
	payload []byte
	addr    netip.Addr
}

// readGRE reads GRE packets until want accepts one, for up to 5 seconds.
func readGRE(t *testing.T, c gre.Conn, want func(gre.Header, []byte) bool) greRead {
	t.Helper()
	res := make(chan greRead, 1)
	go func() {
		msgs := []gre.Message{{Buf: make([]byte, 2048)}}
		for {
			if _, err := c.ReadBatch(msgs); err != nil {
				if !errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrClosed) {
					t.Logf("ReadBatch: %v", err)
				}
				return
			}
			h, payload, err := gre.Parse(msgs[0].Buf[:msgs[0].N])
			if err == nil && want(h, payload) {
				res <- greRead{h, append([]byte(nil), payload...), msgs[0].Addr}
				return
			}
		}
	}()
	select {
	case r := <-res:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no GRE packet from pptp")
		return greRead{}
	}
}
