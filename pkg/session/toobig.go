package session

import (
	"time"

	"github.com/pptpbox/pptpbox/pkg/ipv4frag"
)

// A session's PPP link takes IP packets up to the peer's MRU, but every
// session shares the one TUN device, whose MTU is [pptp] mtu: the kernel
// cannot know that this client takes less. So the send path does what the
// kernel does for pppd's per-client ppp interface (MTU = the peer's MRU):
// a packet larger than the peer's MRU is fragmented when DF is clear
// (RFC 791 §3.2) and answered with ICMP "fragmentation needed" carrying the
// MRU when DF is set (RFC 792, RFC 1191 §4), so path-MTU discovery learns it.

// Defaults of the frag-needed rate limit: Linux's global ICMP limit
// (net.ipv4.icmp_msgs_per_sec, net.ipv4.icmp_msgs_burst).
const (
	defaultICMPRate  = 1000
	defaultICMPBurst = 50
)

// sendScratch is the send path's own memory, owned by the readTUN
// goroutine: a packet's fragments and frag-needed replies are built here,
// never allocated per packet.
type sendScratch struct {
	// frag holds one fragment with tunHeadroom in front, where the link
	// writes its PPP/MPPE and GRE headers (as for a packet read from TUN).
	frag   []byte
	icmp   []byte
	out    [1][]byte // the one-packet TUN write of a reply
	icmpID uint16    // IP identification of our replies
	limit  tokenBucket
}

func newSendScratch(rate, burst int) sendScratch {
	if rate <= 0 {
		rate = defaultICMPRate
	}
	if burst <= 0 {
		burst = defaultICMPBurst
	}
	return sendScratch{
		frag:  make([]byte, tunHeadroom+65536),
		icmp:  make([]byte, ipv4frag.MaxFragNeededLen),
		limit: tokenBucket{interval: time.Second / time.Duration(rate), burst: burst},
	}
}

// tooBig handles pkt, an IPv4 packet from TUN to ss that is larger than the
// peer's MRU mru. Runs on the readTUN goroutine.
func (s *Server) tooBig(ss *Session, pkt []byte, mru int) {
	tx := &s.tx
	if !ipv4frag.DontFragment(pkt) {
		n, err := ipv4frag.Fragment(pkt, mru, tx.frag[tunHeadroom:], func(f []byte) error {
			// f lies in tx.frag past tunHeadroom: the link encrypts it in
			// place, with its headers in front, like a packet from TUN.
			if err := ss.link.WriteIPAt(tx.frag[:tunHeadroom+len(f)], tunHeadroom); err != nil {
				return err
			}
			ss.pktsOut.Add(1)
			ss.bytesOut.Add(uint64(len(f)))
			return nil
		})
		switch {
		case err == nil:
			s.stats.TUNFragmented.Add(1)
			s.stats.TUNFragmentsOut.Add(uint64(n))
		case n > 0:
			// The link went down between two fragments.
			s.stats.TUNNoSession.Add(1)
		default:
			// Malformed header or options, or an MRU below 68 octets.
			s.stats.TUNTooBigDropped.Add(1)
		}
		return
	}
	tx.icmpID++
	reply, err := ipv4frag.FragNeeded(tx.icmp, pkt, s.cfg.LocalIP, uint16(mru), tx.icmpID)
	if err != nil {
		// RFC 1122 §3.2.2 forbids a reply (ICMP error, fragment,
		// broadcast/multicast, no single-host source), or malformed.
		s.stats.TUNTooBigDropped.Add(1)
		return
	}
	if !tx.limit.allow(time.Now()) {
		s.stats.TUNFragNeededLimited.Add(1)
		return
	}
	tx.out[0] = reply
	if _, err := s.tun.Write(tx.out[:], 0); err != nil {
		s.stats.TUNWriteErrors.Add(1)
		s.log.Debug("tun write: frag-needed", "err", err)
		return
	}
	s.stats.TUNFragNeededSent.Add(1)
}

// tokenBucket allows one event per interval on average, burst at once: the
// kernel's ICMP rate limit (icmp_global_allow) in integer form. Not safe
// for concurrent use; the send path owns it.
type tokenBucket struct {
	interval time.Duration
	burst    int
	tokens   int
	last     time.Time
}

func (b *tokenBucket) allow(now time.Time) bool {
	if b.last.IsZero() {
		b.tokens, b.last = b.burst, now
	}
	if el := now.Sub(b.last); el >= b.interval {
		add := el / b.interval
		if b.tokens+int(min(add, time.Duration(b.burst))) >= b.burst {
			b.tokens, b.last = b.burst, now // full: unspent time is not saved up
		} else {
			b.tokens += int(add)
			b.last = b.last.Add(add * b.interval)
		}
	}
	if b.tokens == 0 {
		return false
	}
	b.tokens--
	return true
}
