//go:build !linux

package netcfg

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
)

var errOS = fmt.Errorf("netcfg: not implemented on %s", runtime.GOOS)

func LinkIndex(name string) (int, error)                              { return 0, errOS }
func LinkUp(name string) error                                        { return errOS }
func LinkDown(name string) error                                      { return errOS }
func SetMTU(name string, mtu int) error                               { return errOS }
func LinkMTU(name string) (int, error)                                { return 0, errOS }
func SetGSOMaxSegs(name string, n int) error                          { return errOS }
func GSOMaxSegs(name string) (int, error)                             { return 0, errOS }
func AddAddr(name string, prefix netip.Prefix, peer netip.Addr) error { return errOS }
func DelAddr(name string, prefix netip.Prefix) error                  { return errOS }
func Addrs(name string) ([]netip.Prefix, error)                       { return nil, errOS }
func AddRoute(dst netip.Prefix, dev string) error                     { return errOS }
func AddRouteVia(dst netip.Prefix, gw netip.Addr, dev string) error   { return errOS }
func DelRoute(dst netip.Prefix, dev string) error                     { return errOS }
func AddProxyARP(addr netip.Addr, dev string) error                   { return errOS }
func DelProxyARP(addr netip.Addr, dev string) error                   { return errOS }
func SetSysctl(path, value string) error                              { return errOS }
func Sysctl(path string) (string, error)                              { return "", errOS }
func DisableIPv6(name string) error                                   { return errOS }

// Route is one main-table route as the kernel reports it.
type Route struct {
	Dst      netip.Prefix
	Gateway  netip.Addr
	Dev      int
	Protocol uint8
}

func Routes() ([]Route, error) { return nil, errOS }

func LinkState(name string) (LinkEvent, error)                 { return LinkEvent{}, errOS }
func WatchLinks(ctx context.Context, fn func(LinkEvent)) error { return errOS }
func (p *Ports) Configure() error                              { return errOS }
func (p *Ports) ConfigureLAN() error                           { return errOS }
func (p *Ports) ConfigureWAN() error                           { return errOS }
func EnableForwarding() error                                  { return errOS }

// LinkEvent is one link notification (Linux only).
type LinkEvent struct {
	Name                 string
	Index                int
	Up, Carrier, Deleted bool
}

// LinkWatcher is a subscription to link notifications (Linux only).
type LinkWatcher struct{}

func NewLinkWatcher() (*LinkWatcher, error)                              { return nil, errOS }
func (w *LinkWatcher) Run(ctx context.Context, fn func(LinkEvent)) error { return errOS }
