package dialout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pptpbox/pptpbox/pkg/client"
	"github.com/pptpbox/pptpbox/pkg/netcfg"
	"github.com/pptpbox/pptpbox/pkg/ppp"
	"github.com/pptpbox/pptpbox/pkg/tun"
)

// EchoInterval is the dial-out's LCP keepalive: ppp takes the link down
// after 3 unanswered echoes (16 s after the last answer) and its
// Terminate-Request's retries, so a silent server is noticed in about 25 s.
const EchoInterval = 4 * time.Second

// PPTP dials a PPTP server with pkg/client (MS-CHAPv2, 128-bit MPPE
// required) and carries the session on its own TUN device with the address
// IPCP gave and a route for each of Routes. Closing the session closes the
// device, which takes its address and routes with it.
type PPTP struct {
	Mux            *client.Mux
	Iface          string // the TUN device, "dial-<name>"
	Server         string // host:port
	User, Password string
	Routes         []netip.Prefix
	Logger         *slog.Logger
	// Resolve looks the server's host up (net.DefaultResolver when nil).
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
}

// Connect dials and plumbs one session.
func (p *PPTP) Connect(ctx context.Context) (Session, error) {
	host, _, err := net.SplitHostPort(p.Server)
	if err != nil {
		return nil, err
	}
	resolve := p.Resolve
	if resolve == nil {
		resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
		}
	}
	addrs, err := resolve(ctx, host)
	if err != nil || len(addrs) == 0 {
		return nil, fmt.Errorf("resolve %s: %v", host, err)
	}
	server := addrs[0].Unmap()
	for _, r := range p.Routes {
		if r.Contains(server) {
			// The tunnel's own packets would go into the tunnel.
			return nil, fmt.Errorf("route %s covers the server %s", r, server)
		}
	}
	dev, err := tun.OpenOffload(p.Iface)
	if err != nil {
		return nil, err
	}
	// Packets from the server go to the device in one write per GRE
	// receive batch.
	q := tun.NewWriteQueue(dev, client.Batch, 65535)
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pol, _ := ppp.ParseMPPEPolicy("require-128", false, false)
	c, err := p.Mux.Dial(ctx, client.Config{
		Server: p.Server, ServerAddr: server,
		User: p.User, Password: p.Password,
		Auth:         []ppp.AuthProto{ppp.AuthMSCHAPv2},
		MPPE:         pol,
		EchoInterval: EchoInterval,
		Logger:       log,
		OnIP:         q.Add,
		Flush:        q.Flush,
	})
	if err != nil {
		dev.Close()
		return nil, err
	}
	s := &pptpSession{c: c, dev: dev, readDone: make(chan struct{})}
	go s.read()
	if err := p.plumb(c.Info(), dev, log); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// plumb gives the device the session's address, MTU and routes.
func (p *PPTP) plumb(info ppp.UpInfo, dev tun.Device, log *slog.Logger) error {
	if tun.Offloaded(dev) {
		// A read splits a super-packet into BatchSize buffers at most: the
		// kernel segments larger ones itself (Linux 5.19+; without it a
		// super-packet of a tiny MSS loses its tail).
		if err := netcfg.SetGSOMaxSegs(p.Iface, dev.BatchSize()); err != nil {
			log.Warn("dial-out gso_max_segs not set", "iface", p.Iface, "err", err)
		}
	}
	steps := []func() error{
		func() error { return netcfg.AddAddr(p.Iface, netip.PrefixFrom(info.Local, 32), info.Peer) },
		func() error { return netcfg.SetMTU(p.Iface, info.PeerMRU) },
		// An IPv4 link: no IPv6 router solicitations into the tunnel.
		func() error { return netcfg.DisableIPv6(p.Iface) },
		func() error { return netcfg.LinkUp(p.Iface) },
	}
	for _, r := range p.Routes {
		steps = append(steps, func() error {
			if err := netcfg.AddRoute(r, p.Iface); err != nil {
				return fmt.Errorf("route %s: %w", r, err)
			}
			return nil
		})
	}
	for _, f := range steps {
		if err := f(); err != nil {
			return fmt.Errorf("%s: %w", p.Iface, err)
		}
	}
	return nil
}

type pptpSession struct {
	c         *client.Client
	dev       tun.Device
	readDone  chan struct{}
	closeOnce sync.Once
	closeErr  error
}

func (s *pptpSession) Local() netip.Addr     { return s.c.Info().Local }
func (s *pptpSession) Peer() netip.Addr      { return s.c.Info().Peer }
func (s *pptpSession) Done() <-chan struct{} { return s.c.Done() }
func (s *pptpSession) Reason() string        { return s.c.Reason() }

// read carries packets from the device into the tunnel, encrypted in place
// behind the headroom.
func (s *pptpSession) read() {
	defer close(s.readDone)
	bufs, sizes := tun.ReadBuffers(s.dev, client.Headroom, max(s.c.Info().PeerMRU, 1500))
	for {
		n, err := s.dev.Read(bufs, sizes, client.Headroom)
		if err != nil && !errors.Is(err, tun.ErrDropped) {
			return // closed
		}
		if n > 0 {
			s.c.WriteIPBatchAt(bufs, sizes, n, client.Headroom)
		}
	}
}

// Close hangs up and closes the device (its address and routes go with it).
func (s *pptpSession) Close() error {
	s.closeOnce.Do(func() {
		// The device first: its routes go at once, not after the
		// hang-up's waits on a dead server.
		derr := s.dev.Close()
		<-s.readDone
		err := s.c.Close()
		s.closeErr = errors.Join(err, derr)
	})
	return s.closeErr
}
