package netcfg

import (
	"encoding/binary"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// SetGSOMaxSegs caps the segments of one GSO packet the kernel hands
// interface name (IFLA_GSO_MAX_SEGS, settable on a live device since Linux
// 5.19); the kernel segments a larger one itself before the device sees
// it. A TUN with offloads needs it: its reader splits a super-packet into
// a fixed number of buffers (tun.Device.BatchSize), and a TCP peer that
// advertises a small MSS would otherwise make 64 KiB super-packets of more
// segments than that. rtnetlink's LinkAttributes has no such field, so the
// request is built here.
func SetGSOMaxSegs(name string, n int) error {
	if n < 1 || n > 65535 {
		return fmt.Errorf("netcfg: set %s gso_max_segs: %d out of range 1-65535", name, n)
	}
	idx, err := LinkIndex(name)
	if err != nil {
		return err
	}
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(unix.IFLA_GSO_MAX_SEGS, uint32(n))
	attrs, err := ae.Encode()
	if err != nil {
		return err
	}
	_, err = linkRequest(unix.RTM_NEWLINK, netlink.Request|netlink.Acknowledge, idx, attrs)
	if err != nil {
		return fmt.Errorf("netcfg: set %s gso_max_segs %d: %w", name, n, err)
	}
	return nil
}

// GSOMaxSegs reads interface name's IFLA_GSO_MAX_SEGS.
func GSOMaxSegs(name string) (int, error) {
	idx, err := LinkIndex(name)
	if err != nil {
		return 0, err
	}
	msgs, err := linkRequest(unix.RTM_GETLINK, netlink.Request, idx, nil)
	if err != nil {
		return 0, fmt.Errorf("netcfg: %s gso_max_segs: %w", name, err)
	}
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWLINK || len(m.Data) < unix.SizeofIfInfomsg {
			continue
		}
		ad, err := netlink.NewAttributeDecoder(m.Data[unix.SizeofIfInfomsg:])
		if err != nil {
			return 0, err
		}
		for ad.Next() {
			if ad.Type() == unix.IFLA_GSO_MAX_SEGS {
				return int(ad.Uint32()), nil
			}
		}
		if err := ad.Err(); err != nil {
			return 0, err
		}
	}
	return 0, fmt.Errorf("netcfg: %s: no gso_max_segs in the kernel's answer", name)
}

// linkRequest sends one link message for interface index idx (struct
// ifinfomsg, then attrs) and returns the kernel's answer.
func linkRequest(typ netlink.HeaderType, flags netlink.HeaderFlags, idx int, attrs []byte) ([]netlink.Message, error) {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{Strict: true})
	if err != nil {
		return nil, fmt.Errorf("dial rtnetlink: %w", err)
	}
	defer c.Close()
	data := make([]byte, unix.SizeofIfInfomsg, unix.SizeofIfInfomsg+len(attrs))
	data[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(data[4:8], uint32(idx))
	data = append(data, attrs...)
	return c.Execute(netlink.Message{Header: netlink.Header{Type: typ, Flags: flags}, Data: data})
}
