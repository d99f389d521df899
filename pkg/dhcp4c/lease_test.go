package dhcp4c

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

func TestLeaseFromACK(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ip := func(s string) net.IP { return net.ParseIP(s) }
	tests := []struct {
		name    string
		mods    []dhcpv4.Modifier
		want    Lease
		wantErr string
	}{
		{"full", []dhcpv4.Modifier{
			dhcpv4.WithYourIP(ip("198.51.100.10")), dhcpv4.WithNetmask(net.CIDRMask(24, 32)),
			dhcpv4.WithOption(dhcpv4.OptRouter(ip("198.51.100.1"))),
			dhcpv4.WithOption(dhcpv4.OptDNS(ip("198.51.100.53"), ip("198.51.100.54"))),
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(ip("198.51.100.1"))),
			dhcpv4.WithLeaseTime(3600),
			dhcpv4.WithOption(dhcpv4.OptRenewTimeValue(1000 * time.Second)),
		}, Lease{Addr: netip.MustParsePrefix("198.51.100.10/24"), Router: netip.MustParseAddr("198.51.100.1"),
			DNS:    []netip.Addr{netip.MustParseAddr("198.51.100.53"), netip.MustParseAddr("198.51.100.54")},
			Server: netip.MustParseAddr("198.51.100.1"), Lease: time.Hour, Renew: 1000 * time.Second,
			Rebind: 3150 * time.Second, Bound: now}, ""},
		{"defaults", []dhcpv4.Modifier{dhcpv4.WithYourIP(ip("203.0.113.9"))},
			Lease{Addr: netip.MustParsePrefix("203.0.113.9/32"), Lease: time.Hour, Renew: 30 * time.Minute,
				Rebind: 3150 * time.Second, Bound: now}, ""},
		{"renew after lease", []dhcpv4.Modifier{dhcpv4.WithYourIP(ip("203.0.113.9")), dhcpv4.WithLeaseTime(100),
			dhcpv4.WithOption(dhcpv4.OptRenewTimeValue(500 * time.Second))},
			Lease{Addr: netip.MustParsePrefix("203.0.113.9/32"), Lease: 100 * time.Second, Renew: 50 * time.Second,
				Rebind: 87500 * time.Millisecond, Bound: now}, ""},
		{"late renew, no rebind", []dhcpv4.Modifier{dhcpv4.WithYourIP(ip("203.0.113.9")), dhcpv4.WithLeaseTime(100),
			dhcpv4.WithOption(dhcpv4.OptRenewTimeValue(95 * time.Second))},
			Lease{Addr: netip.MustParsePrefix("203.0.113.9/32"), Lease: 100 * time.Second, Renew: 95 * time.Second,
				Rebind: 95 * time.Second, Bound: now}, ""},
		{"no address", nil, Lease{}, "without an address"},
		{"bad mask", []dhcpv4.Modifier{dhcpv4.WithYourIP(ip("203.0.113.9")), dhcpv4.WithNetmask(net.IPMask{255, 0, 255, 0})},
			Lease{}, "bad subnet mask"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ack, err := dhcpv4.New(append([]dhcpv4.Modifier{dhcpv4.WithMessageType(dhcpv4.MessageTypeAck)}, tt.mods...)...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := leaseFromACK(ack, now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.ack, got.offer = nil, nil
			if got.String() != tt.want.String() || got.Renew != tt.want.Renew || got.Rebind != tt.want.Rebind || !got.Bound.Equal(now) {
				t.Fatalf("got  %v renew %v rebind %v\nwant %v renew %v rebind %v", got, got.Renew, got.Rebind, tt.want, tt.want.Renew, tt.want.Rebind)
			}
		})
	}
}

// FuzzLeaseFromACK: any DHCP packet either yields no lease or a usable one:
// an IPv4 address and timers with Renew <= Rebind <= Lease.
func FuzzLeaseFromACK(f *testing.F) {
	ack, _ := dhcpv4.New(dhcpv4.WithMessageType(dhcpv4.MessageTypeAck), dhcpv4.WithYourIP(net.ParseIP("198.51.100.10")),
		dhcpv4.WithNetmask(net.CIDRMask(24, 32)), dhcpv4.WithLeaseTime(3600))
	f.Add(ack.ToBytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := dhcpv4.FromBytes(b)
		if err != nil {
			return
		}
		l, err := leaseFromACK(m, time.Unix(0, 0))
		if err != nil {
			return
		}
		if !l.Addr.IsValid() || !l.Addr.Addr().Is4() || l.Addr.Addr().IsUnspecified() {
			t.Fatalf("lease address %v", l.Addr)
		}
		if l.Lease < minLease || l.Renew <= 0 || l.Renew > l.Rebind || l.Rebind > l.Lease {
			t.Fatalf("timers lease %v renew %v rebind %v", l.Lease, l.Renew, l.Rebind)
		}
	})
}
