package tun

import "sync"

// WriteQueue batches the IP packets a PPTP client receives for its device:
// Add copies a packet (which lies in the client's GRE receive buffer, about
// to be reused) into a slot of its own, with Headroom in front (for the
// virtio-net header of a device with offloads), and
// Flush writes every queued packet in one Write, which a device with
// offloads turns into one system call per flow. A client calls Add from
// its OnIP and Flush after each GRE receive batch (client.Config.Flush).
// The copy is one memmove per packet; what it saves is a system call, and
// the wake-up of the reader of the packet, per packet.
//
// A queue is safe for concurrent use. A packet larger than a slot is
// written on its own at once.
type WriteQueue struct {
	mu    sync.Mutex
	dev   Device
	slots [][]byte // Headroom + slot size each; never shrunk
	out   [][]byte // the queued packets: slots[i][:Headroom+len]
	// dropped counts packets the device refused (Flush's errors).
	dropped uint64
}

// NewWriteQueue returns a queue of n slots of size octets each for dev.
// A slot holds one packet; an offload device coalesces the packets of one
// flow into the first one's slot, so size bounds a coalesced write too
// (65535 lets the kernel's largest GSO packet through).
func NewWriteQueue(dev Device, n, size int) *WriteQueue {
	q := &WriteQueue{dev: dev, slots: make([][]byte, n), out: make([][]byte, 0, n)}
	for i := range q.slots {
		q.slots[i] = make([]byte, Headroom+size)
	}
	return q
}

// Add queues a copy of pkt; a full queue is flushed first.
func (q *WriteQueue) Add(pkt []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.slots) == 0 || len(pkt) > len(q.slots[0])-Headroom {
		q.flushLocked()
		one := [1][]byte{pkt}
		if _, err := q.dev.Write(one[:], 0); err != nil {
			q.dropped++
		}
		return
	}
	if len(q.out) == len(q.slots) {
		q.flushLocked()
	}
	s := q.slots[len(q.out)]
	n := copy(s[Headroom:], pkt)
	q.out = append(q.out, s[:Headroom+n])
}

// Flush writes the queued packets to the device.
func (q *WriteQueue) Flush() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.flushLocked()
}

func (q *WriteQueue) flushLocked() {
	if len(q.out) == 0 {
		return
	}
	n, err := q.dev.Write(q.out, Headroom)
	if err != nil {
		q.dropped += uint64(len(q.out) - max(n, 0))
	}
	clear(q.out)
	q.out = q.out[:0]
}

// Dropped is how many packets the device refused.
func (q *WriteQueue) Dropped() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// ReadBuffers returns the buffers for Read of dev: as many as one Read
// fills (BatchSize; a device with offloads splits a GSO packet into
// that many at most), each with headroom in front: the first of the
// largest IP packet (a read of one packet goes there), the others of a
// packet of up to mtu octets (the device's MTU: no segment of a split
// packet is larger).
func ReadBuffers(dev Device, headroom, mtu int) (bufs [][]byte, sizes []int) {
	n := max(dev.BatchSize(), 1)
	bufs = make([][]byte, n)
	bufs[0] = make([]byte, headroom+65535)
	for i := 1; i < n; i++ {
		bufs[i] = make([]byte, headroom+mtu)
	}
	return bufs, make([]int, n)
}
