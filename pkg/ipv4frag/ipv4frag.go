// Package ipv4frag does what a router does with an IPv4 packet that is
// larger than the MTU of the link it must leave by:
//
//   - DF clear: split it into fragments that fit (RFC 791 §2.3 and the
//     fragmentation procedure of §3.2), with Fragment;
//   - DF set: drop it and tell the sender the MTU it must use, with an ICMP
//     Destination Unreachable, code 4 "fragmentation needed and DF set"
//     (RFC 792) carrying the next-hop MTU (RFC 1191 §4), with FragNeeded.
//
// Neither allocates: fragments and replies are built in buffers the caller
// owns, so both can run on a dataplane goroutine per packet.
package ipv4frag

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// Wire layout of the IPv4 header (RFC 791 §3.1).
const (
	// HeaderLen is the length of an IPv4 header without options.
	HeaderLen = 20
	// MaxHeaderLen is the longest IPv4 header (IHL 15).
	MaxHeaderLen = 60
	// MinMTU is the MTU every internet module must be able to forward
	// without further fragmentation (RFC 791 §3.2: 60 octets of header
	// plus the 8-octet fragment unit).
	MinMTU = 68

	flagDF     = 0x4000 // don't fragment
	flagMF     = 0x2000 // more fragments
	offsetMask = 0x1fff // fragment offset, in 8-octet units

	optEOL    = 0    // end of option list
	optNOP    = 1    // no operation
	optCopied = 0x80 // option-type bit: copy into every fragment

	protoICMP = 1
)

// ICMP constants (RFC 792).
const (
	icmpDestUnreachable = 3
	icmpCodeFragNeeded  = 4
	icmpHeaderLen       = 8
	// quotedData is how much of the offending datagram's data the error
	// quotes after its header (RFC 792: "the first 64 bits").
	quotedData = 8
	// MaxFragNeededLen is the longest reply FragNeeded builds: our header,
	// the ICMP header, the quoted header with options and 8 data octets.
	MaxFragNeededLen = HeaderLen + icmpHeaderLen + MaxHeaderLen + quotedData

	// ttl is the TTL of our replies (Linux's default ip_default_ttl).
	ttl = 64
	// tosInternetControl is the TOS of ICMP errors: precedence 6,
	// internetwork control (RFC 1812 §4.3.2.5), as Linux sends them.
	tosInternetControl = 0xc0
)

var (
	// ErrMalformed: the input is not a well-formed IPv4 packet.
	ErrMalformed = errors.New("ipv4frag: malformed IPv4 packet")
	// ErrDontFragment: the packet has DF set and is larger than the MTU.
	ErrDontFragment = errors.New("ipv4frag: fragment: DF set")
	// ErrMTU: the MTU leaves no room for 8 octets of data after the header.
	ErrMTU = errors.New("ipv4frag: fragment: MTU too small for the header")
	// ErrBuffer: the caller's buffer is shorter than what must be built in it.
	ErrBuffer = errors.New("ipv4frag: buffer too small")
	// ErrNoReply matches (errors.Is) every reason FragNeeded refuses to
	// answer a packet (RFC 1122 §3.2.2).
	ErrNoReply = errors.New("ipv4frag: no ICMP error may be sent about this packet")
)

// noReply is one reason not to send an ICMP error; each is a static value
// so that refusing costs no allocation.
type noReply string

func (e noReply) Error() string        { return "ipv4frag: no ICMP error: " + string(e) }
func (e noReply) Is(target error) bool { return target == ErrNoReply }

// The reasons of RFC 1122 §3.2.2 (and RFC 1812 §4.3.2.7, which repeats
// them for routers).
var (
	ErrAboutICMPError = error(noReply("the packet is an ICMP error message"))
	ErrAboutFragment  = error(noReply("the packet is a non-initial fragment"))
	ErrAboutSource    = error(noReply("the source is not a single host (zero, loopback, broadcast, multicast or class E)"))
	ErrAboutDest      = error(noReply("the destination is broadcast or multicast"))
)

// header checks pkt's IPv4 header and returns its length and the packet's
// total length (octets of pkt past it are link padding and are ignored).
func header(pkt []byte) (hlen, total int, err error) {
	if len(pkt) < HeaderLen || pkt[0]>>4 != 4 {
		return 0, 0, ErrMalformed
	}
	hlen = int(pkt[0]&0x0f) * 4
	total = int(binary.BigEndian.Uint16(pkt[2:4]))
	if hlen < HeaderLen || hlen > total || total > len(pkt) {
		return 0, 0, ErrMalformed
	}
	return hlen, total, nil
}

// DontFragment reports whether pkt, a packet with a valid header, has DF set.
func DontFragment(pkt []byte) bool {
	return len(pkt) >= HeaderLen && binary.BigEndian.Uint16(pkt[6:8])&flagDF != 0
}

// Fragment splits the IPv4 packet pkt into fragments of at most mtu octets
// and calls emit with each, in order (RFC 791 §3.2, "An Example
// Fragmentation Procedure"). Each fragment is built in scratch, which must
// hold mtu octets and must not overlap pkt; emit may overwrite it (encrypt
// in place) but must not keep it. The first fragment carries pkt's header
// with all its options; later ones only the options whose type has the
// "copied" bit (RFC 791 §3.1). Every fragment but the last has MF set and a
// data length that is a multiple of 8; an already fragmented pkt keeps its
// identification, its offset is added to, and its own MF stays on its last
// piece, so the receiver reassembles the original datagram either way.
//
// A packet that fits is emitted unchanged (copied into scratch). It returns
// how many fragments it emitted; ErrDontFragment when DF is set and pkt does
// not fit, ErrMTU, ErrBuffer, ErrMalformed, or emit's error.
func Fragment(pkt []byte, mtu int, scratch []byte, emit func(frag []byte) error) (int, error) {
	hlen, total, err := header(pkt)
	if err != nil {
		return 0, err
	}
	pkt = pkt[:total]
	if total <= mtu {
		if len(scratch) < total {
			return 0, ErrBuffer
		}
		n := copy(scratch, pkt)
		return 1, emit(scratch[:n])
	}
	flags := binary.BigEndian.Uint16(pkt[6:8])
	if flags&flagDF != 0 {
		return 0, ErrDontFragment
	}
	if (mtu-hlen)&^7 < 8 {
		return 0, ErrMTU
	}
	if len(scratch) < mtu {
		return 0, ErrBuffer
	}
	offset := int(flags&offsetMask) * 8
	data := pkt[hlen:]
	if offset+len(data) > 0xffff {
		// Its fragments would need offsets past the 13-bit field: no
		// receiver could reassemble it (RFC 791 §3.1, 65,535 octets).
		return 0, ErrMalformed
	}
	// The header of the later fragments: the fixed part and the copied
	// options, padded with End of Option List to a 32-bit boundary.
	var later [MaxHeaderLen]byte
	llen, err := copiedHeader(later[:], pkt[:hlen])
	if err != nil {
		return 0, err
	}
	hdr := pkt[:hlen]
	count := 0
	for pos := 0; pos < len(data); {
		room := mtu - len(hdr)
		n := len(data) - pos
		last := n <= room
		if !last {
			n = room &^ 7
		}
		f := scratch[:len(hdr)+n]
		copy(f, hdr)
		copy(f[len(hdr):], data[pos:pos+n])
		f[0] = 0x40 | byte(len(hdr)/4)
		binary.BigEndian.PutUint16(f[2:4], uint16(len(f)))
		ff := flags&^(flagDF|flagMF|offsetMask) | uint16((offset+pos)/8)
		if !last || flags&flagMF != 0 {
			ff |= flagMF
		}
		binary.BigEndian.PutUint16(f[6:8], ff)
		f[10], f[11] = 0, 0
		binary.BigEndian.PutUint16(f[10:12], Checksum(f[:len(hdr)]))
		count++
		if err := emit(f); err != nil {
			return count, err
		}
		pos += n
		hdr = later[:llen]
	}
	return count, nil
}

// copiedHeader writes into dst the header of a non-first fragment of the
// datagram whose header is h: h's fixed 20 octets and the options whose
// copied bit is set (RFC 791 §3.1), padded to a multiple of 4 octets with
// zeros (End of Option List). It returns the new header's length.
func copiedHeader(dst, h []byte) (int, error) {
	n := copy(dst, h[:HeaderLen])
	for i := HeaderLen; i < len(h); {
		t := h[i]
		if t == optEOL {
			break
		}
		if t == optNOP {
			i++
			continue
		}
		if i+1 >= len(h) {
			return 0, ErrMalformed
		}
		l := int(h[i+1])
		if l < 2 || i+l > len(h) {
			return 0, ErrMalformed
		}
		if t&optCopied != 0 {
			n += copy(dst[n:], h[i:i+l])
		}
		i += l
	}
	for n%4 != 0 {
		dst[n] = optEOL
		n++
	}
	return n, nil
}

// FragNeeded builds in dst the ICMP Destination Unreachable message, code
// 4 "fragmentation needed and DF set" (RFC 792), that answers pkt: from src
// (the router's address) to pkt's source, with the next-hop MTU in the low
// 16 bits of the otherwise unused field (RFC 1191 §4) and, as data, pkt's
// header and the first 64 bits of its data. id is the reply's IP
// identification. dst needs MaxFragNeededLen octets at most; the reply is
// returned as a prefix of dst.
//
// It refuses (an error matching ErrNoReply) what RFC 1122 §3.2.2 forbids
// answering: ICMP error messages, non-initial fragments, packets to a
// broadcast or multicast address, and packets whose source is not a single
// host.
func FragNeeded(dst, pkt []byte, src netip.Addr, mtu, id uint16) ([]byte, error) {
	hlen, total, err := header(pkt)
	if err != nil {
		return nil, err
	}
	if !src.Is4() {
		return nil, ErrMalformed
	}
	if binary.BigEndian.Uint16(pkt[6:8])&offsetMask != 0 {
		return nil, ErrAboutFragment
	}
	if !singleHost([4]byte(pkt[12:16])) {
		return nil, ErrAboutSource
	}
	if d := pkt[16]; d >= 224 && d <= 239 || [4]byte(pkt[16:20]) == [4]byte{255, 255, 255, 255} {
		return nil, ErrAboutDest
	}
	if pkt[9] == protoICMP && (total == hlen || !icmpQuery(pkt[hlen])) {
		return nil, ErrAboutICMPError
	}
	quoted := hlen + min(quotedData, total-hlen)
	n := HeaderLen + icmpHeaderLen + quoted
	if len(dst) < n {
		return nil, ErrBuffer
	}
	r := dst[:n]
	r[0] = 0x45
	r[1] = tosInternetControl
	binary.BigEndian.PutUint16(r[2:4], uint16(n))
	binary.BigEndian.PutUint16(r[4:6], id)
	r[6], r[7] = 0, 0 // DF clear: the reply is small, no reason to forbid
	r[8] = ttl
	r[9] = protoICMP
	r[10], r[11] = 0, 0
	s := src.As4()
	copy(r[12:16], s[:])
	copy(r[16:20], pkt[12:16])
	binary.BigEndian.PutUint16(r[10:12], Checksum(r[:HeaderLen]))

	m := r[HeaderLen:]
	m[0] = icmpDestUnreachable
	m[1] = icmpCodeFragNeeded
	m[2], m[3] = 0, 0
	m[4], m[5] = 0, 0 // unused (RFC 1191 §4: high-order 16 bits are zero)
	binary.BigEndian.PutUint16(m[6:8], mtu)
	copy(m[icmpHeaderLen:], pkt[:quoted])
	binary.BigEndian.PutUint16(m[2:4], Checksum(m))
	return r, nil
}

// singleHost reports whether a may be the source of a packet we answer:
// not "this network" (0/8), loopback (127/8), multicast (224/4), class E
// or limited broadcast (240/4) (RFC 1122 §3.2.2, §3.2.1.3).
func singleHost(a [4]byte) bool {
	switch {
	case a[0] == 0, a[0] == 127, a[0] >= 224:
		return false
	}
	return true
}

// icmpQuery reports whether ICMP type t is a query (informational)
// message, about which an error may be sent. Unknown types count as errors,
// as in Linux: better no reply than a reply to an error.
func icmpQuery(t byte) bool {
	switch t {
	case 0, 8, // echo reply, echo (RFC 792)
		9, 10, // router advertisement, solicitation (RFC 1256)
		13, 14, // timestamp, timestamp reply (RFC 792)
		15, 16, // information request, reply (RFC 792)
		17, 18: // address mask request, reply (RFC 950)
		return true
	}
	return false
}

// Checksum is the Internet checksum of b (RFC 1071): the ones' complement
// of the ones' complement sum of its 16-bit words, an odd last octet padded
// with zero. A header or message with a correct checksum field sums to 0.
func Checksum(b []byte) uint16 {
	var sum uint64
	for len(b) >= 8 {
		sum += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		sum += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
