package router_test

import (
	"encoding/binary"

	"net/netip"
	"os"
	"testing"
	"time"
)

// The end-to-end test plays the PPTP dataplane's part: it writes the IP
// packets a VPN client would send into the pool's TUN device and reads
// what comes back. These helpers build and parse just enough IPv4, UDP and
// TCP (RFC 791, 768, 9293), all fields in network byte order.

// checksum is the Internet checksum (RFC 1071) of b, starting from sum.
func checksum(b []byte, sum uint32) uint16 {
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// pseudoSum is the IPv4 pseudo-header's contribution to a TCP/UDP checksum.
func pseudoSum(src, dst netip.Addr, proto byte, length int) uint32 {
	s, d := src.As4(), dst.As4()
	var sum uint32
	for _, b := range [][]byte{s[:], d[:]} {
		sum += uint32(binary.BigEndian.Uint16(b[0:2])) + uint32(binary.BigEndian.Uint16(b[2:4]))
	}
	return sum + uint32(proto) + uint32(length)
}

func ipv4Packet(src, dst netip.Addr, proto byte, payload []byte) []byte {
	h := make([]byte, 20, 20+len(payload))
	h[0] = 0x45 // version 4, 5 words
	binary.BigEndian.PutUint16(h[2:4], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(h[4:6], 1)      // identification
	binary.BigEndian.PutUint16(h[6:8], 0x4000) // don't fragment
	h[8], h[9] = 64, proto
	s, d := src.As4(), dst.As4()
	copy(h[12:16], s[:])
	copy(h[16:20], d[:])
	binary.BigEndian.PutUint16(h[10:12], checksum(h, 0))
	return append(h, payload...)
}

func udpPacket(src, dst netip.AddrPort, data []byte) []byte {
	u := make([]byte, 8+len(data))
	binary.BigEndian.PutUint16(u[0:2], src.Port())
	binary.BigEndian.PutUint16(u[2:4], dst.Port())
	binary.BigEndian.PutUint16(u[4:6], uint16(len(u)))
	copy(u[8:], data)
	binary.BigEndian.PutUint16(u[6:8], checksum(u, pseudoSum(src.Addr(), dst.Addr(), 17, len(u))))
	return ipv4Packet(src.Addr(), dst.Addr(), 17, u)
}

// tcpSYN is a SYN carrying one option, the MSS (kind 2, length 4).
func tcpSYN(src, dst netip.AddrPort, mss uint16) []byte {
	t := make([]byte, 24)
	binary.BigEndian.PutUint16(t[0:2], src.Port())
	binary.BigEndian.PutUint16(t[2:4], dst.Port())
	binary.BigEndian.PutUint32(t[4:8], 0x01020304) // initial sequence number
	t[12] = 6 << 4                                 // data offset: 6 words
	t[13] = 0x02                                   // SYN
	binary.BigEndian.PutUint16(t[14:16], 65535)    // window
	t[20], t[21] = 2, 4
	binary.BigEndian.PutUint16(t[22:24], mss)
	binary.BigEndian.PutUint16(t[16:18], checksum(t, pseudoSum(src.Addr(), dst.Addr(), 6, len(t))))
	return ipv4Packet(src.Addr(), dst.Addr(), 6, t)
}

// packet is a parsed IPv4 TCP/UDP packet.
type packet struct {
	src, dst netip.AddrPort
	proto    byte
	flags    byte   // TCP flags
	mss      uint16 // TCP MSS option, 0 if absent
	data     []byte // UDP payload
}

func parsePacket(b []byte) (packet, bool) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return packet{}, false
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if ihl < 20 || total > len(b) || total < ihl+8 {
		return packet{}, false
	}
	src, _ := netip.AddrFromSlice(b[12:16])
	dst, _ := netip.AddrFromSlice(b[16:20])
	l4 := b[ihl:total]
	p := packet{proto: b[9],
		src: netip.AddrPortFrom(src, binary.BigEndian.Uint16(l4[0:2])),
		dst: netip.AddrPortFrom(dst, binary.BigEndian.Uint16(l4[2:4]))}
	switch p.proto {
	case 17:
		p.data = l4[8:]
	case 6:
		if len(l4) < 20 {
			return packet{}, false
		}
		p.flags = l4[13]
		off := int(l4[12]>>4) * 4
		if off < 20 || off > len(l4) {
			return packet{}, false
		}
		for opts := l4[20:off]; len(opts) > 0; {
			switch {
			case opts[0] == 0:
				opts = nil
			case opts[0] == 1:
				opts = opts[1:]
			case len(opts) < 2 || int(opts[1]) < 2 || int(opts[1]) > len(opts):
				opts = nil
			default:
				if opts[0] == 2 && opts[1] == 4 {
					p.mss = binary.BigEndian.Uint16(opts[2:4])
				}
				opts = opts[opts[1]:]
			}
		}
	default:
		return packet{}, false
	}
	return p, true
}

// readPacket reads from the TUN until a packet matches or the deadline.
func readPacket(tun *os.File, d time.Duration, match func(packet) bool) (packet, error) {
	tun.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 65536)
	for {
		n, err := tun.Read(buf)
		if err != nil {
			return packet{}, err
		}
		if p, ok := parsePacket(buf[:n]); ok && match(p) {
			return p, nil
		}
	}
}

func TestPacketHelpers(t *testing.T) {
	src, dst := netip.MustParseAddrPort("10.79.97.10:40000"), netip.MustParseAddrPort("203.0.113.80:8080")
	tests := []struct {
		name string
		pkt  []byte
		want packet
	}{
		{"syn", tcpSYN(src, dst, 1460), packet{src: src, dst: dst, proto: 6, flags: 0x02, mss: 1460}},
		{"udp", udpPacket(src, dst, []byte("hi")), packet{src: src, dst: dst, proto: 17, data: []byte("hi")}},
	}
	for _, tt := range tests {
		if checksum(tt.pkt[:20], 0) != 0 {
			t.Errorf("%s: bad IPv4 header checksum", tt.name)
		}
		// The transport checksum over pseudo header and segment sums to zero.
		if checksum(tt.pkt[20:], pseudoSum(src.Addr(), dst.Addr(), tt.pkt[9], len(tt.pkt)-20)) != 0 {
			t.Errorf("%s: bad transport checksum", tt.name)
		}
		got, ok := parsePacket(tt.pkt)
		if !ok || got.src != tt.want.src || got.dst != tt.want.dst || got.proto != tt.want.proto ||
			got.flags != tt.want.flags || got.mss != tt.want.mss || string(got.data) != string(tt.want.data) {
			t.Errorf("%s: parsed %+v, want %+v", tt.name, got, tt.want)
		}
	}
	for _, bad := range [][]byte{nil, make([]byte, 19), append([]byte{0x60}, make([]byte, 39)...)} {
		if _, ok := parsePacket(bad); ok {
			t.Errorf("parsed %x", bad)
		}
	}
}
