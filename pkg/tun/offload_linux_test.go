package tun

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// upOffload opens an offload TUN queue named name in the current
// namespace with addr/24 on it, up.
func upOffload(name, addr string) (Device, error) {
	d, err := OpenOffload(name)
	if err != nil {
		return nil, err
	}
	if !Offloaded(d) {
		d.Close()
		return nil, errors.New("kernel refused the offloads")
	}
	for _, args := range [][]string{
		{"addr", "add", addr + "/24", "dev", name},
		{"link", "set", name, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			d.Close()
			return nil, fmt.Errorf("ip %v: %v: %s", args, err, out)
		}
	}
	return d, nil
}

// csum is the Internet checksum (RFC 1071) of the concatenation of bs.
func csum(bs ...[]byte) uint16 {
	var sum uint32
	var all []byte
	for _, b := range bs {
		all = append(all, b...)
	}
	for i := 0; i+1 < len(all); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(all[i:]))
	}
	if len(all)%2 == 1 {
		sum += uint32(all[len(all)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// ipv4 builds an IPv4 packet of protocol proto around the transport
// segment l4 (whose checksum field, at sumAt, it fills in).
func ipv4(src, dst [4]byte, proto byte, l4 []byte, sumAt int) []byte {
	p := make([]byte, 20+len(l4))
	p[0], p[8], p[9] = 0x45, 64, proto
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	p[6] = 0x40 // DF
	copy(p[12:], src[:])
	copy(p[16:], dst[:])
	binary.BigEndian.PutUint16(p[10:], csum(p[:20]))
	copy(p[20:], l4)
	pseudo := make([]byte, 12)
	copy(pseudo, src[:])
	copy(pseudo[4:], dst[:])
	pseudo[9] = proto
	binary.BigEndian.PutUint16(pseudo[10:], uint16(len(l4)))
	binary.BigEndian.PutUint16(p[20+sumAt:], csum(pseudo, p[20:]))
	return p
}

// tcpSeg is a TCP segment (20-octet header) with flags, seq, ack and data.
func tcpSeg(src, dst [4]byte, sport, dport uint16, seq, ack uint32, flags byte, opts, data []byte) []byte {
	l4 := make([]byte, 20+len(opts)+len(data))
	binary.BigEndian.PutUint16(l4[0:], sport)
	binary.BigEndian.PutUint16(l4[2:], dport)
	binary.BigEndian.PutUint32(l4[4:], seq)
	binary.BigEndian.PutUint32(l4[8:], ack)
	l4[12] = byte((20+len(opts))/4) << 4
	l4[13] = flags
	binary.BigEndian.PutUint16(l4[14:], 65535)
	copy(l4[20:], opts)
	copy(l4[20+len(opts):], data)
	return ipv4(src, dst, 6, l4, 16)
}

// udpDgram is a UDP datagram with a checksum.
func udpDgram(src, dst [4]byte, sport, dport uint16, data []byte) []byte {
	l4 := make([]byte, 8+len(data))
	binary.BigEndian.PutUint16(l4[0:], sport)
	binary.BigEndian.PutUint16(l4[2:], dport)
	binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
	copy(l4[8:], data)
	return ipv4(src, dst, 17, l4, 6)
}

// rxPackets is the device's rx_packets counter: what was written to it,
// one per skb (ip -s: this thread's namespace, which sysfs is not).
func rxPackets(name string) (uint64, error) {
	out, err := exec.Command("ip", "-j", "-s", "link", "show", "dev", name).Output()
	if err != nil {
		return 0, fmt.Errorf("ip -s link show %s: %w", name, err)
	}
	var links []struct {
		Stats struct {
			RX struct {
				Packets uint64 `json:"packets"`
			} `json:"rx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		return 0, fmt.Errorf("ip -s link show %s: %q: %v", name, out, err)
	}
	return links[0].Stats.RX.Packets, nil
}

// batchBufs puts each packet behind headroom octets in a buffer of its own
// with room to grow (as pkg/session's GRE receive buffers).
func batchBufs(pkts [][]byte, headroom, room int) [][]byte {
	bufs := make([][]byte, len(pkts))
	for i, p := range pkts {
		b := make([]byte, headroom+len(p), headroom+room)
		copy(b[headroom:], p)
		bufs[i] = b
	}
	return bufs
}

// TestOffloadReadSplitsTCP: a TCP connection from the kernel to a peer
// behind an offload TUN (the test answers the handshake itself): the
// kernel sends its first flight as one TSO super-packet, which one Read
// returns as several MTU-sized segments in a row, each with correct IP
// and TCP checksums, the data in order. Needs root and ip(8).
func TestOffloadReadSplitsTCP(t *testing.T) {
	netnstest.Run(t, func() error {
		d, err := upOffload("tso0", "10.70.0.1")
		if err != nil {
			return err
		}
		defer d.Close()
		if d.BatchSize() < 64 {
			return fmt.Errorf("batch size %d", d.BatchSize())
		}
		local, peer := [4]byte{10, 70, 0, 1}, [4]byte{10, 70, 0, 2}
		const headroom = 40
		bufs := make([][]byte, d.BatchSize())
		for i := range bufs {
			bufs[i] = make([]byte, headroom+2048)
		}
		bufs[0] = make([]byte, headroom+65536)
		sizes := make([]int, len(bufs))
		// The kernel connects; a goroutine answers the handshake (sockets
		// are made on this thread, which is in the namespace).
		var iss uint32
		handshake := make(chan error, 1)
		go func() {
			for {
				n, err := d.Read(bufs, sizes, headroom)
				if err != nil {
					handshake <- err
					return
				}
				for i := range n {
					p := bufs[i][headroom : headroom+sizes[i]]
					if len(p) < 40 || p[0] != 0x45 || p[9] != 6 || p[33]&0x02 == 0 {
						continue
					}
					sport := binary.BigEndian.Uint16(p[20:])
					iss = binary.BigEndian.Uint32(p[24:])
					mss := []byte{2, 4, 0x05, 0x50} // MSS 1360
					synAck := tcpSeg(peer, local, 5001, sport, 1000, iss+1, 0x12, mss, nil)
					if n, err := d.Write(batchBufs([][]byte{synAck}, Headroom, len(synAck)), Headroom); n != 1 || err != nil {
						handshake <- fmt.Errorf("write SYN-ACK: %d, %v", n, err)
						return
					}
					handshake <- nil
					return
				}
			}
		}()
		c, err := net.DialTimeout("tcp4", "10.70.0.2:5001", 5*time.Second)
		if herr := <-handshake; herr != nil {
			return herr
		}
		if err != nil {
			return err
		}
		defer c.Close()
		data := make([]byte, 12000) // within the initial window of 10 segments
		for i := range data {
			data[i] = byte(i * 7)
		}
		if _, err := c.Write(data); err != nil {
			return err
		}
		var got []byte
		most := 0
		next := iss + 1
		c.SetDeadline(time.Now().Add(5 * time.Second))
		for len(got) < len(data) {
			n, err := d.Read(bufs, sizes, headroom)
			if err != nil {
				return err
			}
			most = max(most, n)
			for i := range n {
				p := bufs[i][headroom : headroom+sizes[i]]
				if len(p) < 40 || p[9] != 6 {
					continue
				}
				if len(p) > 1400 {
					return fmt.Errorf("segment of %d octets over the MTU", len(p))
				}
				if csum(p[:20]) != 0 {
					return fmt.Errorf("segment %d: bad IP checksum", i)
				}
				pseudo := make([]byte, 12)
				copy(pseudo, p[12:20])
				pseudo[9] = 6
				binary.BigEndian.PutUint16(pseudo[10:], uint16(len(p)-20))
				if csum(pseudo, p[20:]) != 0 {
					return fmt.Errorf("segment %d: bad TCP checksum", i)
				}
				hl := int(p[32]>>4) * 4
				if binary.BigEndian.Uint32(p[24:]) != next {
					continue // a retransmission or the handshake's ACK
				}
				got = append(got, p[20+hl:]...)
				next += uint32(len(p) - 20 - hl)
			}
		}
		if !bytes.Equal(got, data) {
			return errors.New("data through the split segments differs")
		}
		if most < 2 {
			return fmt.Errorf("every read returned one packet: no super-packet split")
		}
		t.Logf("most packets in one read: %d", most)
		return nil
	}, "ip")
}

// TestOffloadWriteCoalesces: a batch of one UDP flow's datagrams and of
// one TCP flow's in-order segments is written as one skb each (the
// device's rx_packets grows by 2, not 16), and the UDP socket still
// receives every datagram whole; a datagram with a wrong checksum in the
// same flow is not merged (the kernel gets it alone and drops it). Write
// returns the packets, not the bytes, and refuses an offset below
// Headroom. Needs root and ip(8).
func TestOffloadWriteCoalesces(t *testing.T) {
	netnstest.Run(t, func() error {
		d, err := upOffload("gro0", "10.71.0.1")
		if err != nil {
			return err
		}
		defer d.Close()
		local, peer := [4]byte{10, 71, 0, 1}, [4]byte{10, 71, 0, 2}
		u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 71, 0, 1), Port: 6000})
		if err != nil {
			return err
		}
		defer u.Close()
		var pkts [][]byte
		for i := range 8 {
			pkts = append(pkts, udpDgram(peer, local, 7000, 6000, bytes.Repeat([]byte{byte('a' + i)}, 1300)))
		}
		for i := range 8 {
			pkts = append(pkts, tcpSeg(peer, local, 7001, 6001, 5000+uint32(i*1300), 1, 0x10, nil, bytes.Repeat([]byte{'t'}, 1300)))
		}
		before, err := rxPackets("gro0")
		if err != nil {
			return err
		}
		if n, err := d.Write(batchBufs(pkts, 16, 65536), 16); n != len(pkts) || err != nil {
			return fmt.Errorf("write: %d, %v; want %d packets", n, err, len(pkts))
		}
		after, _ := rxPackets("gro0")
		if after-before != 2 {
			return fmt.Errorf("rx_packets grew by %d for 16 packets of 2 flows, want 2 (coalesced)", after-before)
		}
		u.SetReadDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 2048)
		for i := range 8 {
			n, err := u.Read(b)
			if err != nil {
				return fmt.Errorf("datagram %d: %v", i, err)
			}
			if !bytes.Equal(b[:n], bytes.Repeat([]byte{byte('a' + i)}, 1300)) {
				return fmt.Errorf("datagram %d: %d octets %q...", i, n, b[:min(n, 8)])
			}
		}

		// A wrong checksum in the middle of the flow: written alone.
		pkts = pkts[:0]
		for i := range 3 {
			pkts = append(pkts, udpDgram(peer, local, 7000, 6000, bytes.Repeat([]byte{byte('x' + i)}, 1300)))
		}
		pkts[1][30] ^= 0xff // payload changed, checksum not
		before, _ = rxPackets("gro0")
		if n, err := d.Write(batchBufs(pkts, Headroom, 65536), Headroom); n != 3 || err != nil {
			return fmt.Errorf("write: %d, %v", n, err)
		}
		after, _ = rxPackets("gro0")
		if after-before != 3 {
			return fmt.Errorf("rx_packets grew by %d for 3 datagrams around a bad checksum, want 3", after-before)
		}
		for _, want := range []byte{'x', 'z'} {
			n, err := u.Read(b)
			if err != nil || n != 1300 || b[0] != want {
				return fmt.Errorf("datagram %q: %d octets %q, %v", want, n, b[:min(n, 8)], err)
			}
		}
		u.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, err := u.Read(b); err == nil {
			return fmt.Errorf("the datagram with the bad checksum was delivered (%d octets %q)", n, b[:min(n, 8)])
		}

		if _, err := d.Write(batchBufs(pkts[:1], 8, 2048), 8); err == nil {
			return errors.New("write with 8 octets of headroom accepted")
		}
		d.Close()
		if _, err := d.Write(batchBufs(pkts[:1], Headroom, 2048), Headroom); !errors.Is(err, ErrClosed) {
			return fmt.Errorf("write after close: %v", err)
		}
		if _, err := d.Read(make([][]byte, 1), make([]int, 1), 0); !errors.Is(err, ErrClosed) {
			return fmt.Errorf("read after close: %v", err)
		}
		return nil
	}, "ip")
}

// TestOffloadNoAllocs: writing a batch of one flow's packets (coalesced)
// and reading a packet back allocate nothing per call. Needs root and
// ip(8).
func TestOffloadNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	netnstest.Run(t, func() error {
		d, err := upOffload("na0", "10.73.0.1")
		if err != nil {
			return err
		}
		defer d.Close()
		peer, local := [4]byte{10, 73, 0, 2}, [4]byte{10, 73, 0, 1}
		var pkts [][]byte
		for range 8 {
			pkts = append(pkts, udpDgram(peer, local, 7000, 9, bytes.Repeat([]byte{1}, 1300)))
		}
		bufs := batchBufs(pkts, Headroom, 65536)
		mem := make([][]byte, len(bufs))
		copy(mem, bufs)
		var werr error
		if a := testing.AllocsPerRun(100, func() {
			for i, p := range pkts { // Write grew and rewrote them
				bufs[i] = mem[i][:Headroom+copy(mem[i][Headroom:], p)]
			}
			if _, err := d.Write(bufs, Headroom); err != nil {
				werr = err
			}
		}); a != 0 || werr != nil {
			return fmt.Errorf("write: %v allocs per batch, %v", a, werr)
		}
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 73, 0, 1)})
		if err != nil {
			return err
		}
		defer c.Close()
		to := &net.UDPAddr{IP: net.IPv4(10, 73, 0, 2), Port: 9}
		rbufs := [][]byte{make([]byte, 32+65536), make([]byte, 32+2048)}
		sizes := make([]int, 2)
		for range 101 { // AllocsPerRun runs once more
			if _, err := c.WriteToUDP([]byte("ping"), to); err != nil {
				return err
			}
		}
		var rerr error
		if a := testing.AllocsPerRun(100, func() {
			if _, err := d.Read(rbufs, sizes, 32); err != nil {
				rerr = err
			}
		}); a != 0 || rerr != nil {
			return fmt.Errorf("read: %v allocs per packet, %v", a, rerr)
		}
		return nil
	}, "ip")
}
