package gre

import (
	"fmt"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// ipProtoGRE is the IP protocol number of GRE (RFC 1701, IANA).
const ipProtoGRE = 47

// maxBatch bounds the messages one recvmmsg/sendmmsg call moves; longer
// batches are split. A Queue holds as many.
const maxBatch = QueueLen

// socketBuffer is the receive and send buffer size asked of the kernel.
const socketBuffer = 4 << 20

// mmsghdr is struct mmsghdr from <sys/socket.h>; x/sys/unix does not
// declare it. Go pads the struct to its alignment exactly like C does.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// rawConn is a raw IPv4 socket for protocol 47. Every GRE packet sent to the
// host (or to the bound address) arrives here, whatever its version or key;
// gre.Parse sorts PPTP's from the rest.
type rawConn struct {
	f  *os.File
	rc syscall.RawConn

	rmu   sync.Mutex // one reader at a time owns the read scratch space
	rhdrs [maxBatch]mmsghdr
	riov  [2 * maxBatch]unix.Iovec // per message: IP header, then Buf
	rip   [maxBatch][ipv4HeaderLen]byte

	wmu   sync.Mutex
	whdrs [maxBatch]mmsghdr
	wiov  [maxBatch]unix.Iovec
	wname [maxBatch]unix.RawSockaddrInet4
}

// ListenIPv4 opens a raw IPv4 socket for GRE. If local is a specific
// address the socket only receives packets sent to it and sends from it;
// the zero or unspecified address takes packets to every local address.
// It needs CAP_NET_RAW.
func ListenIPv4(local netip.Addr) (Conn, error) {
	return listenRaw(local, nil)
}

// ListenIPv4Shards opens n raw GRE sockets (n ≥ 1) on local, socket k
// receiving only the PPTP packets of the call IDs in Shard k of n, and
// every packet that is not PPTP GRE on socket 0 (shard.go): give each its
// own reader and every call's packets are read by one goroutine, in order.
// Any of them sends to any peer. With n = 1 it is ListenIPv4.
func ListenIPv4Shards(local netip.Addr, n int) ([]Conn, error) {
	if n < 1 {
		return nil, fmt.Errorf("gre: listen: %d shards", n)
	}
	if n == 1 {
		c, err := ListenIPv4(local)
		if err != nil {
			return nil, err
		}
		return []Conn{c}, nil
	}
	cs := make([]Conn, 0, n)
	for k := range n {
		c, err := listenRaw(local, shardFilter(k, n))
		if err != nil {
			for _, c := range cs {
				c.Close()
			}
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// listenRaw opens the raw GRE socket, with filter attached when not nil.
func listenRaw(local netip.Addr, filter []bpf.Instruction) (Conn, error) {
	if local.IsValid() && !local.Unmap().Is4() {
		return nil, fmt.Errorf("gre: listen: %s is not an IPv4 address", local)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, ipProtoGRE)
	if err != nil {
		return nil, fmt.Errorf("gre: raw socket: %w", err)
	}
	if filter != nil {
		if err := attachFilter(fd, filter); err != nil {
			unix.Close(fd)
			return nil, err
		}
	}
	if local.IsValid() && !local.IsUnspecified() {
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: local.Unmap().As4()}); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("gre: bind %s: %w", local, err)
		}
	}
	// Every call's packets (or a shard's) share this one socket: ask for
	// deep queues so a burst from thousands of sessions is not dropped
	// while the reader is busy. The kernel caps the sizes at net.core.[rw]mem_max; best effort.
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, socketBuffer)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, socketBuffer)
	// os.NewFile registers the non-blocking fd with the runtime poller, so
	// reads park the goroutine instead of a thread and Close wakes them.
	f := os.NewFile(uintptr(fd), "gre-raw")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("gre: raw socket: %w", err)
	}
	return &rawConn{f: f, rc: rc}, nil
}

// attachFilter attaches the classic BPF program prog to socket fd and
// then empties its queue: packets that arrived between socket(2) and the
// attach passed unfiltered, and another shard reads them too.
func attachFilter(fd int, prog []bpf.Instruction) error {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return fmt.Errorf("gre: shard filter: %w", err)
	}
	code := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		code[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(code)), Filter: &code[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return fmt.Errorf("gre: attach shard filter: %w", err)
	}
	var b [1]byte
	for {
		if _, _, err := unix.Recvfrom(fd, b[:], unix.MSG_DONTWAIT|unix.MSG_TRUNC); err != nil {
			return nil // EAGAIN: empty
		}
	}
}

func (c *rawConn) ReadBatch(msgs []Message) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if len(msgs) > maxBatch {
		msgs = msgs[:maxBatch]
	}
	// The kernel scatters each packet: its (option-less) IPv4 header into
	// rip, the GRE packet straight into Buf, so nothing is moved afterwards.
	for i := range msgs {
		c.riov[2*i].Base = &c.rip[i][0]
		c.riov[2*i].SetLen(ipv4HeaderLen)
		c.riov[2*i+1].Base = unsafe.SliceData(msgs[i].Buf)
		c.riov[2*i+1].SetLen(len(msgs[i].Buf))
		c.rhdrs[i] = mmsghdr{}
		c.rhdrs[i].hdr.Iov = &c.riov[2*i]
		c.rhdrs[i].hdr.SetIovlen(2)
	}
	var n int
	var errno unix.Errno
	err := c.rc.Read(func(fd uintptr) bool {
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&c.rhdrs[0])),
			uintptr(len(msgs)), unix.MSG_DONTWAIT, 0, 0)
		n, errno = int(r), e
		return errno != unix.EAGAIN && errno != unix.EINTR
	})
	if err != nil {
		return 0, fmt.Errorf("gre: read: %w", err)
	}
	if errno != 0 {
		return 0, fmt.Errorf("gre: recvmmsg: %w", errno)
	}
	for i := 0; i < n; i++ {
		splitIPv4(&msgs[i], &c.rip[i], int(c.rhdrs[i].n))
	}
	return n, nil
}

// ipv4HeaderLen is the IPv4 header without options (RFC 791 §3.1).
const ipv4HeaderLen = 20

// splitIPv4 checks the IPv4 header of a packet of n bytes received as hdr
// followed by m.Buf, sets m.Addr to its source and m.N to the length of
// the GRE packet left at the front of m.Buf. A raw IPv4 socket always
// delivers the IP header (raw(7)); its length is IHL words, and options
// (rare) spill into m.Buf, which is then moved down over them.
func splitIPv4(m *Message, hdr *[ipv4HeaderLen]byte, n int) {
	m.N, m.Addr = 0, netip.Addr{}
	if n < ipv4HeaderLen || hdr[0]>>4 != 4 {
		return
	}
	body := min(n-ipv4HeaderLen, len(m.Buf))
	ihl := int(hdr[0]&0x0f) * 4
	if ihl < ipv4HeaderLen || ihl-ipv4HeaderLen > body {
		return
	}
	m.Addr = netip.AddrFrom4([4]byte(hdr[12:16]))
	m.N = copy(m.Buf, m.Buf[ihl-ipv4HeaderLen:body])
}

func (c *rawConn) WriteBatch(msgs []Message) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	done := 0
	for done < len(msgs) {
		batch := msgs[done:min(len(msgs), done+maxBatch)]
		n, err := c.writeSome(batch)
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

func (c *rawConn) writeSome(msgs []Message) (int, error) {
	for i := range msgs {
		if err := checkWrite(&msgs[i]); err != nil {
			return i, err
		}
		if !msgs[i].Addr.Unmap().Is4() {
			return i, fmt.Errorf("gre: write: %v is not an IPv4 address", msgs[i].Addr)
		}
		c.wname[i] = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: msgs[i].Addr.Unmap().As4()}
		c.wiov[i].Base = unsafe.SliceData(msgs[i].Buf)
		c.wiov[i].SetLen(msgs[i].N)
		c.whdrs[i] = mmsghdr{}
		c.whdrs[i].hdr.Name = (*byte)(unsafe.Pointer(&c.wname[i]))
		c.whdrs[i].hdr.Namelen = unix.SizeofSockaddrInet4
		c.whdrs[i].hdr.Iov = &c.wiov[i]
		c.whdrs[i].hdr.SetIovlen(1)
	}
	sent := 0
	for sent < len(msgs) {
		var n int
		var errno unix.Errno
		err := c.rc.Write(func(fd uintptr) bool {
			r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&c.whdrs[sent])),
				uintptr(len(msgs)-sent), unix.MSG_DONTWAIT, 0, 0)
			n, errno = int(r), e
			return errno != unix.EAGAIN && errno != unix.EINTR
		})
		if err != nil {
			return sent, fmt.Errorf("gre: write: %w", err)
		}
		if errno != 0 {
			return sent, fmt.Errorf("gre: sendmmsg to %v: %w", msgs[sent].Addr, errno)
		}
		sent += n
	}
	return sent, nil
}

func (c *rawConn) Close() error {
	return c.f.Close()
}
