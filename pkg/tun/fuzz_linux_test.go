package tun

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// FuzzOffloadWrite writes batches built from untrusted input to an
// offload TUN: every octet of a VPN peer's IP packets is the peer's, and
// pkg/session writes them with the GRO of wireguard-go's device. base is
// one packet; the batch is n+1 copies of it as one flow (TCP sequence
// numbers following each other), with lengths and checksums made right
// when fix is set so that the coalescing runs. Write must not panic, must
// report every packet written or an error, and must not touch a buffer in
// front of its headroom. Needs root and ip(8) (one namespace for the run).
func FuzzOffloadWrite(f *testing.F) {
	var d Device
	netnstest.Run(f, func() (err error) {
		d, err = upOffload("fz0", "10.72.0.1")
		return err
	}, "ip")
	f.Cleanup(func() { d.Close() })
	peer, local := [4]byte{10, 72, 0, 2}, [4]byte{10, 72, 0, 1}
	f.Add(tcpSeg(peer, local, 1, 2, 100, 1, 0x10, nil, bytes.Repeat([]byte{1}, 1300)), uint8(7), true)
	f.Add(udpDgram(peer, local, 1, 2, bytes.Repeat([]byte{2}, 1300)), uint8(3), true)
	f.Add(tcpSeg(peer, local, 1, 2, 100, 1, 0x18, []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}, []byte("x")), uint8(2), false)
	f.Fuzz(func(t *testing.T, base []byte, n uint8, fix bool) {
		if len(base) > 2000 {
			return
		}
		pkts := make([][]byte, int(n%16)+1)
		for i := range pkts {
			p := append([]byte(nil), base...)
			if fix {
				fixFlow(p, i)
			}
			pkts[i] = p
		}
		const guard = 6
		// Room for the whole batch coalesced into any one buffer, not
		// 64 KiB each (clearing 1 MiB a run slowed the fuzzer down).
		bufs := batchBufs(pkts, guard+Headroom, 2*(guard+Headroom)+len(pkts)*len(base))
		for _, b := range bufs {
			copy(b, "guard!")
		}
		w, err := d.Write(bufs, guard+Headroom)
		if err == nil && w != len(pkts) {
			t.Fatalf("wrote %d of %d packets without an error", w, len(pkts))
		}
		for i, b := range bufs {
			if string(b[:guard]) != "guard!" {
				t.Fatalf("buffer %d: %q in front of the headroom", i, b[:guard])
			}
		}
	})
}

// fixFlow makes p, if it looks like IPv4, the i-th packet of its flow:
// TCP sequence number advanced by i payloads, total length, header and
// transport checksums right.
func fixFlow(p []byte, i int) {
	if len(p) < 20 || p[0]>>4 != 4 {
		return
	}
	hl := int(p[0]&0x0f) * 4
	if hl < 20 || hl > len(p) {
		return
	}
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	l4 := p[hl:]
	sumAt := -1
	switch {
	case p[9] == 6 && len(l4) >= 20:
		thl := int(l4[12]>>4) * 4
		if thl >= 20 && thl <= len(l4) {
			seq := binary.BigEndian.Uint32(l4[4:]) + uint32(i*(len(l4)-thl))
			binary.BigEndian.PutUint32(l4[4:], seq)
		}
		sumAt = 16
	case p[9] == 17 && len(l4) >= 8:
		binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
		sumAt = 6
	}
	p[10], p[11] = 0, 0
	binary.BigEndian.PutUint16(p[10:], csum(p[:hl]))
	if sumAt < 0 {
		return
	}
	l4[sumAt], l4[sumAt+1] = 0, 0
	pseudo := make([]byte, 12)
	copy(pseudo, p[12:20])
	pseudo[9] = p[9]
	binary.BigEndian.PutUint16(pseudo[10:], uint16(len(l4)))
	binary.BigEndian.PutUint16(l4[sumAt:], csum(pseudo, l4))
}
