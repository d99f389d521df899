// Package ippool parses pptpd's remoteip address syntax and hands out
// addresses from it, one per session.
//
// Syntax (pptpd.conf(5) "remoteip", extended): a comma-separated list of
// items, each one of
//
//	10.79.97.10          a single address
//	10.79.97.10-200      a range in the last octet (pptpd)
//	10.79.97.10-10.79.98.20  a range between two full addresses
//	10.79.97.0/24        a prefix (network and broadcast addresses skipped)
package ippool

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
)

// Range is an inclusive range of IPv4 addresses.
type Range struct{ First, Last netip.Addr }

func (r Range) String() string {
	if r.First == r.Last {
		return r.First.String()
	}
	return r.First.String() + "-" + r.Last.String()
}

// Contains reports whether a is inside r.
func (r Range) Contains(a netip.Addr) bool {
	return a.Is4() && r.First.Compare(a) <= 0 && a.Compare(r.Last) <= 0
}

func (r Range) size() uint32 { return u32(r.Last) - u32(r.First) + 1 }

// MaxAddrs bounds the addresses of a pool: a Pool keeps one bit per
// address, and the 2^32 addresses of "0.0.0.0-255.255.255.255" would both
// wrap its uint32 size to 0 (every Reserve or Put then indexes past the
// bitmap) and ask for 512 MiB. A /8 is far more than the 65535 calls PPTP
// call IDs allow.
const MaxAddrs = 1 << 24

// ParseRanges parses the remoteip syntax. Ranges must not overlap, and
// together hold at most MaxAddrs addresses.
func ParseRanges(s string) ([]Range, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("empty address range")
	}
	var out []Range
	var total uint64
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		r, err := parseItem(item)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", item, err)
		}
		for _, o := range out {
			if o.Contains(r.First) || o.Contains(r.Last) || r.Contains(o.First) {
				return nil, fmt.Errorf("%q overlaps %s", item, o)
			}
		}
		total += uint64(u32(r.Last)-u32(r.First)) + 1
		if total > MaxAddrs {
			return nil, fmt.Errorf("%q: the ranges hold %d addresses or more, over the limit of %d (a /8)", item, total, MaxAddrs)
		}
		out = append(out, r)
	}
	return out, nil
}

func parseItem(item string) (Range, error) {
	if strings.Contains(item, "/") {
		p, err := netip.ParsePrefix(item)
		if err != nil || !p.Addr().Is4() {
			return Range{}, errors.New("not an IPv4 prefix")
		}
		p = p.Masked()
		first, last := u32(p.Addr()), u32(p.Addr())|(1<<(32-p.Bits())-1)
		if p.Bits() <= 30 {
			first, last = first+1, last-1 // skip network and broadcast
		}
		return Range{addr(first), addr(last)}, nil
	}
	lo, hi, isRange := strings.Cut(item, "-")
	first, err := netip.ParseAddr(strings.TrimSpace(lo))
	if err != nil || !first.Is4() {
		return Range{}, errors.New("not an IPv4 address")
	}
	if !isRange {
		return Range{first, first}, nil
	}
	hi = strings.TrimSpace(hi)
	var last netip.Addr
	if strings.Contains(hi, ".") {
		last, err = netip.ParseAddr(hi)
		if err != nil || !last.Is4() {
			return Range{}, errors.New("range end is not an IPv4 address")
		}
	} else {
		n, err := strconv.ParseUint(hi, 10, 8)
		if err != nil {
			return Range{}, errors.New("range end is not an octet (0-255)")
		}
		b := first.As4()
		b[3] = byte(n)
		last = netip.AddrFrom4(b)
	}
	if last.Less(first) {
		return Range{}, errors.New("range end before its start")
	}
	return Range{first, last}, nil
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func addr(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// ErrExhausted is returned when every address of the pool is in use.
var ErrExhausted = errors.New("ippool: no free address")

// Pool hands out the addresses of its ranges. It is safe for concurrent use.
type Pool struct {
	mu     sync.Mutex
	ranges []Range
	used   []uint64 // bitmap over the concatenated ranges
	size   uint32
	next   uint32 // search cursor, so addresses rotate rather than being reused at once
	inUse  int
}

// New makes a pool over ranges (as ParseRanges returns them).
func New(ranges []Range) *Pool {
	p := &Pool{ranges: ranges}
	for _, r := range ranges {
		p.size += r.size()
	}
	p.used = make([]uint64, (p.size+63)/64)
	return p
}

// Size is the number of addresses in the pool; InUse how many are handed out.
func (p *Pool) Size() int { return int(p.size) }

func (p *Pool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUse
}

// Contains reports whether a belongs to one of the pool's ranges.
func (p *Pool) Contains(a netip.Addr) bool {
	_, ok := p.index(a)
	return ok
}

func (p *Pool) index(a netip.Addr) (uint32, bool) {
	var base uint32
	for _, r := range p.ranges {
		if r.Contains(a) {
			return base + u32(a) - u32(r.First), true
		}
		base += r.size()
	}
	return 0, false
}

func (p *Pool) at(i uint32) netip.Addr {
	for _, r := range p.ranges {
		if i < r.size() {
			return addr(u32(r.First) + i)
		}
		i -= r.size()
	}
	panic("ippool: index out of range")
}

func (p *Pool) isUsed(i uint32) bool { return p.used[i/64]&(1<<(i%64)) != 0 }

// Get hands out the next free address.
func (p *Pool) Get() (netip.Addr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for n := uint32(0); n < p.size; n++ {
		i := (p.next + n) % p.size
		if !p.isUsed(i) {
			p.used[i/64] |= 1 << (i % 64)
			p.inUse++
			p.next = (i + 1) % p.size
			return p.at(i), nil
		}
	}
	return netip.Addr{}, ErrExhausted
}

// Reserve takes a specific address (a user's fixed address). Addresses
// outside the pool are accepted and not tracked: they are the caller's to
// keep unique. It fails if a pool address is already in use.
func (p *Pool) Reserve(a netip.Addr) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, ok := p.index(a)
	if !ok {
		return nil
	}
	if p.isUsed(i) {
		return fmt.Errorf("ippool: %s already in use", a)
	}
	p.used[i/64] |= 1 << (i % 64)
	p.inUse++
	return nil
}

// Put returns an address to the pool. Putting a free or foreign address is a no-op.
func (p *Pool) Put(a netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, ok := p.index(a)
	if !ok || !p.isUsed(i) {
		return
	}
	p.used[i/64] &^= 1 << (i % 64)
	p.inUse--
}

// Prefixes returns the smallest set of prefixes covering the ranges, for
// routing the pool to the TUN device.
func Prefixes(ranges []Range) []netip.Prefix {
	var out []netip.Prefix
	for _, r := range ranges {
		lo, hi := uint64(u32(r.First)), uint64(u32(r.Last))
		for lo <= hi {
			bits := 32
			for bits > 0 {
				size := uint64(1) << (32 - (bits - 1))
				if lo%size != 0 || lo+size-1 > hi {
					break
				}
				bits--
			}
			out = append(out, netip.PrefixFrom(addr(uint32(lo)), bits))
			lo += uint64(1) << (32 - bits)
		}
	}
	return out
}
