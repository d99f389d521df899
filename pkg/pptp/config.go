package pptp

import (
	"sync/atomic"
	"time"

	"github.com/pptpbox/pptpbox/internal/lograte"
)

// Config holds the parameters of a control connection. Zero fields take
// the defaults noted.
type Config struct {
	HostName         string // SCCRQ/SCCRP Host Name; default "pptpbox"
	VendorName       string // default "pptpbox"
	FirmwareRevision uint16
	// MaxChannels is the server's SCCRP Maximum Channels (RFC 2637 §2.2:
	// the PPP sessions the PAC supports); default 65535, the session limit
	// is enforced by the Handler. A client always sends 0 (§2.1 SHOULD).
	MaxChannels uint16
	// RecvWindow is our Packet Receive Window Size sent in OCRQ/OCRP
	// (RFC 2637 §2.7/§2.8): how many unacknowledged GRE packets we take.
	// Default 64.
	RecvWindow uint16
	// ProcessingDelay is our Packet Processing Delay in 1/10 s; default 0.
	ProcessingDelay uint16
	// ConnectSpeed is the OCRP Connect Speed in bits/s; default 100 Mbit/s.
	ConnectSpeed uint32
	// EchoInterval is how long the connection may be silent before we send
	// an Echo-Request; EchoTimeout how long we then wait for any message
	// before closing (RFC 2637 §2.5: 60 s each). Defaults 60s and 60s.
	EchoInterval time.Duration
	EchoTimeout  time.Duration
	// StartTimeout bounds the time from TCP connect to an established
	// control connection (a peer that never sends SCCRQ). Default 60s.
	StartTimeout time.Duration
	// MaxCalls caps the calls one control connection holds at once (server
	// side); 0 means no cap. A real client places one call per connection;
	// an Outgoing-Call-Request beyond the cap is answered Do-Not-Accept
	// (RFC 2637 §2.8 result 7) and counted in Counters.CallsOverLimit.
	MaxCalls int
	// StopTimeout is how long Close waits for Stop-Control-Connection-Reply.
	// Default 5s.
	StopTimeout time.Duration
	// WriteTimeout bounds one message write; default 10s.
	WriteTimeout time.Duration
	// Counters, shared by all connections of a server when set; otherwise
	// the connection has its own.
	Counters *Counters
	// Tracer, when set, gets every control message sent and received
	// (describe.go); nil on an untraced connection.
	Tracer Tracer
}

func (cfg Config) withDefaults() Config {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	dur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.HostName, "pptpbox")
	def(&cfg.VendorName, "pptpbox")
	if cfg.MaxChannels == 0 {
		cfg.MaxChannels = 65535
	}
	if cfg.RecvWindow == 0 {
		cfg.RecvWindow = 64
	}
	if cfg.ConnectSpeed == 0 {
		cfg.ConnectSpeed = 100_000_000
	}
	dur(&cfg.EchoInterval, 60*time.Second)
	dur(&cfg.EchoTimeout, 60*time.Second)
	dur(&cfg.StartTimeout, 60*time.Second)
	dur(&cfg.StopTimeout, 5*time.Second)
	dur(&cfg.WriteTimeout, 10*time.Second)
	if cfg.Counters == nil {
		cfg.Counters = new(Counters)
	}
	return cfg
}

// Counters count control connection events, for the CLI and metrics.
// All fields are updated atomically.
type Counters struct {
	MessagesIn    atomic.Uint64
	MessagesOut   atomic.Uint64
	BadMagic      atomic.Uint64 // stream out of sync: connection closed
	BadLength     atomic.Uint64 // absurd Length field: connection closed
	Malformed     atomic.Uint64 // known type, wrong length: connection closed
	Unknown       atomic.Uint64 // unknown or management message: skipped
	Unexpected    atomic.Uint64 // valid message in the wrong state or role: ignored
	BadCallID     atomic.Uint64 // message for a call this connection does not have
	StartTimeouts atomic.Uint64
	EchoTimeouts  atomic.Uint64
	WANErrors     atomic.Uint64 // WAN-Error-Notify received
	CallsOpened   atomic.Uint64
	CallsRefused  atomic.Uint64
	// CallsOverLimit counts Outgoing-Call-Requests refused by MaxCalls
	// (also counted in CallsRefused).
	CallsOverLimit atomic.Uint64
	CallsCleared   atomic.Uint64

	refuseLog lograte.Limiter // refused calls are logged once a second
	startLog  lograte.Limiter // start timeouts too
}
