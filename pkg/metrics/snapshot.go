// Package metrics is boxd's Prometheus endpoint: it writes a Snapshot of
// the box's counters in the Prometheus text format, with the Go runtime's
// and the process's figures (github.com/VictoriaMetrics/metrics). Nothing
// is counted here: boxd fills the Snapshot at scrape time from the
// counters its parts keep anyway (docs/metrics.md lists every metric).
package metrics

import (
	"time"

	"github.com/pptpbox/pptpbox/pkg/control"
)

// Snapshot is what the box knows at one scrape. A nil part is off (or
// could not be read) and its metrics are left out.
type Snapshot struct {
	Version string
	PPTP    *PPTP
	Radius  *Radius
	// Firewall is the nftables table's named counters (pkg/nat).
	Firewall []Firewall
	DHCP     *DHCP
	// Clock is the SNTP client's state ([time]); Syslog the remote syslog
	// sender's ([log] syslog). Nil: off.
	Clock  *control.Clock
	Syslog *control.Syslog
	// DialOuts are the [[pptp.dial]] dial-outs (none: the families are
	// left out).
	DialOuts []control.DialOut
}

// PPTP is the session server's side.
type PPTP struct {
	SessionsUp, SessionsStarting int
	ControlConns                 int
	MaxConns                     int // the cap on ControlConns (0: none)
	PoolSize, PoolInUse          int
	LoginsOK                     uint64
	LoginFailures                []control.Counter // by reason
	// Traffic of every session since boxd started (ended ones included):
	// In is from the clients, Out is to them.
	BytesIn, BytesOut, PktsIn, PktsOut uint64
	Drops                              []control.Counter // packets dropped, by reason
	ControlErrors                      []control.Counter // PPTP control connection errors, by kind
	Refusals                           []control.Counter // connections and calls refused by a limit, by limit
	MTU                                []control.Counter // oversized packets from the LAN side, by what was done
	CallsOpened                        uint64
	GuardEntries                       []control.Counter // the login guard's table sizes, by table
	GuardDelayed                       uint64            // failures the guard held back
	Sessions                           []control.Session
}

// Radius is the RADIUS client's side.
type Radius struct {
	Counters    control.RadiusCounters
	Servers     []control.RadiusServer // per server; nil when not known
	Latency     Histogram
	AcctPending int64
}

// Histogram is a distribution: Counts[i] observations at most Bounds[i]
// (and more than the bound before), the last one past every bound.
type Histogram struct {
	Bounds []time.Duration
	Counts []uint64
	Count  uint64
	Sum    time.Duration
}

// Firewall is one named counter of the firewall.
type Firewall struct {
	Name           string
	Packets, Bytes uint64
}

// DHCP is the LAN DHCP server's side.
type DHCP struct {
	Leases   int // -1: not known (the family is left out)
	Counters []control.Counter
}
