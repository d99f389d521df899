package dhcpd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
)

// Serve answers DHCP on the configured interface (UDP 67, bound to the
// device) until ctx ends. The interface must be up with its address.
func (s *Server) Serve(ctx context.Context) error {
	srv, err := server4.NewServer(s.cfg.Iface, &net.UDPAddr{IP: net.IPv4zero, Port: dhcpv4.ServerPort},
		func(conn net.PacketConn, peer net.Addr, req *dhcpv4.DHCPv4) {
			resp, err := s.Handle(req)
			if err != nil {
				s.log.Error("dhcpd: handle", "err", err)
			}
			if resp == nil {
				return
			}
			if _, err := conn.WriteTo(resp.ToBytes(), peer); err != nil {
				s.log.Warn("dhcpd: send reply", "to", peer, "err", err)
			}
		})
	if err != nil {
		return fmt.Errorf("dhcpd: listen on %s: %w", s.cfg.Iface, err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			srv.Close()
		case <-done:
		}
	}()
	// Renewals are written coalesced (ExpiryWriteEvery); a ticker writes
	// what is due, and the stop writes the rest.
	go func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if err := s.FlushDue(); err != nil {
					s.log.Error("dhcpd: leases not saved", "err", err)
				}
			case <-done:
				return
			}
		}
	}()
	defer func() {
		if err := s.Flush(); err != nil {
			s.log.Error("dhcpd: leases not saved at stop", "err", err)
		}
	}()
	s.log.Info("dhcpd: serving", "range", fmt.Sprintf("%v-%v", s.cfg.RangeStart, s.cfg.RangeEnd))
	err = srv.Serve()
	if ctx.Err() != nil {
		return nil
	}
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return fmt.Errorf("dhcpd: serve on %s: %w", s.cfg.Iface, err)
}
