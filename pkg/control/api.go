package control

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// APIVersion is the version of the typed API below. A request carries it
// ("v"); boxd refuses a request of a newer version with CodeBadRequest, so
// an old boxd and a new boxctl fail clearly instead of misreading fields.
const APIVersion = 2

// API is everything the control socket serves, typed. boxd implements it
// (cmd/boxd), Client implements it over the socket, and the console's
// command tree (pkg/console) is written against it, so the CLI is tested
// with a fake API and no daemon. Selectors (sel) name a session by user
// name, session id (the call id, "#" optional) or tunnel/peer address.
type API interface {
	Ping(ctx context.Context) (Pong, error)

	// Sessions lists the live sessions; Session gives one in detail.
	Sessions(ctx context.Context) ([]Session, error)
	Session(ctx context.Context, sel string) (SessionDetail, error)
	// Kick ends the sessions sel names (accounting Stop with Admin-Reset)
	// and returns them; CodeNotFound when none matches.
	Kick(ctx context.Context, sel string) ([]Session, error)

	Stats(ctx context.Context) (StatsReply, error)
	Radius(ctx context.Context) (RadiusReply, error)
	NAT(ctx context.Context) (NATReply, error)
	Leases(ctx context.Context) ([]Lease, error)
	// DialOuts lists the [[pptp.dial]] dial-outs and their state.
	DialOuts(ctx context.Context) ([]DialOut, error)
	Interfaces(ctx context.Context) ([]Interface, error)
	Routes(ctx context.Context) ([]Route, error)
	System(ctx context.Context) (System, error)

	// Log returns the last n lines of boxd's log (0: all it keeps).
	Log(ctx context.Context, n int) ([]LogLine, error)
	// LogPrevious returns the log the init saved on the CONFIG partition
	// at the last reboot, poweroff or boxd exit; CodeUnavailable when boxd
	// was not told where it is, CodeNotFound when nothing was saved yet.
	LogPrevious(ctx context.Context) (PreviousLog, error)
	// FollowLog calls fn for each new log line at or above minLevel
	// ("debug", "info", "warn", "error") until ctx ends or fn fails.
	FollowLog(ctx context.Context, minLevel string, fn func(LogLine) error) error
	// Trace calls fn for each event of the logins f selects until ctx ends
	// or fn fails. Other users are not affected.
	Trace(ctx context.Context, f TraceFilter, fn func(TraceEvent) error) error

	// Probe runs ping or traceroute from the box (as root, from boxd) and
	// calls fn for each line of output until it ends, ctx ends or fn fails.
	Probe(ctx context.Context, r ProbeRequest, fn func(ProbeLine) error) error

	// Users lists the local users of the running config (no passwords).
	Users(ctx context.Context) ([]User, error)
	// UserAdd, UserDelete and UserPasswd stage a change in the candidate
	// config, like ConfigSet; ConfigCommit applies it.
	UserAdd(ctx context.Context, u UserSpec) error
	UserDelete(ctx context.Context, name string) error
	UserPasswd(ctx context.Context, name, password string) error

	// ConfigShow returns the running or the candidate config's text.
	ConfigShow(ctx context.Context, which ConfigWhich) (ConfigText, error)
	// ConfigCheck validates the candidate: its errors as file:line: key.
	ConfigCheck(ctx context.Context) (CheckResult, error)
	// ConfigDiff is a unified diff of running → candidate ("" if none).
	ConfigDiff(ctx context.Context) (string, error)
	// ConfigSet stages key = value (a dotted key: "pptp.mppe",
	// "radius.timeout"); the value is TOML ("\"require-128\"", "3", "true"),
	// or a bare word taken as a string. A bad key or value is refused
	// (CodeRefused, Details naming the key) and the candidate is unchanged.
	ConfigSet(ctx context.Context, key, value string) error
	// ConfigLoad replaces the candidate with text (the console's "edit").
	ConfigLoad(ctx context.Context, text string) (CheckResult, error)
	// ConfigDiscard drops the staged changes.
	ConfigDiscard(ctx context.Context) error
	// ConfigCommit validates the candidate, applies it live and writes it
	// to the config store atomically, keeping the previous file as the
	// rollback point. With ConfirmWithin > 0 it reverts by itself unless
	// ConfigConfirm is called in time.
	ConfigCommit(ctx context.Context, r CommitRequest) (CommitResult, error)
	ConfigConfirm(ctx context.Context) (CommitResult, error)
	// ConfigRollback applies and writes the rollback point.
	ConfigRollback(ctx context.Context) (CommitResult, error)
	// Reload re-reads the config file (as SIGHUP); a file that does not
	// validate is refused with its errors in Error.Details.
	Reload(ctx context.Context) (ReloadResult, error)
}

// Code classifies an API error; boxctl turns it into its exit status.
type Code string

const (
	CodeBadRequest  Code = "bad_request" // malformed request, unknown command, bad arguments
	CodeNotFound    Code = "not_found"   // no such session, user, key
	CodeRefused     Code = "refused"     // a config or change that does not validate
	CodeUnavailable Code = "unavailable" // the part is off (no RADIUS, no router, no PPTP)
	CodeInternal    Code = "internal"    // anything else
)

// Error is an API error as it crosses the socket.
type Error struct {
	Code    Code     `json:"code"`
	Message string   `json:"message"`
	Details []string `json:"details,omitempty"` // e.g. file:line: key: message, one per error
}

func (e *Error) Error() string {
	if len(e.Details) == 0 {
		return e.Message
	}
	s := e.Message
	for _, d := range e.Details {
		s += "\n  " + d
	}
	return s
}

// Errorf makes an *Error.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf is err's Code: CodeInternal for an error that is not an *Error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrNotRunning is what Client returns when nothing listens on the socket.
var ErrNotRunning = errors.New("boxd is not running (no control socket)")

// Pong answers Ping.
type Pong struct {
	Version    string    `json:"version"`
	APIVersion int       `json:"api_version"`
	Time       time.Time `json:"time"`
	// Degraded says what the box serves without ("no lan port (interface
	// lan0 absent): LAN DHCP server off"); empty when it has everything.
	// The init's readiness check reads it for its ready line.
	Degraded []string `json:"degraded,omitempty"`
}

// SessionDetail is one session in full: what show session prints.
type SessionDetail struct {
	Session
	LCP  []Option `json:"lcp"`  // negotiated LCP options, both directions
	CCP  []Option `json:"ccp"`  // MPPE bits and the like
	IPCP []Option `json:"ipcp"` // addresses, DNS
	// Radius are the attributes of the Access-Accept (secrets and keys masked).
	Radius []Attribute `json:"radius,omitempty"`
	Drops  []Counter   `json:"drops,omitempty"` // this session's drops by reason
	// Counters are the link's other counters (control packets in/out).
	Counters []Counter `json:"counters,omitempty"`
}

// Option is one negotiated PPP option: Dir is "local" (what we use/asked)
// or "peer" (what the peer asked and we acked).
type Option struct {
	Dir   string `json:"dir"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Attribute is one RADIUS attribute, value printed (masked if secret).
type Attribute struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Counter is one named counter.
type Counter struct {
	Name  string `json:"name"`
	Value uint64 `json:"value"`
}

// StatsReply is the reply to Stats: the session server's counters and the
// other parts' when they are on.
type StatsReply struct {
	Stats
	Radius     *RadiusCounters `json:"radius,omitempty"`
	DHCPD      *DHCPDCounters  `json:"dhcpd,omitempty"`
	Goroutines int             `json:"goroutines"`
}

// RadiusCounters are the RADIUS client's counters (pkg/radius Stats).
type RadiusCounters struct {
	Requests        uint64 `json:"requests"`
	Timeouts        uint64 `json:"timeouts"`
	BadReplies      uint64 `json:"bad_replies"`
	Accepts         uint64 `json:"accepts"`
	Rejects         uint64 `json:"rejects"`
	Unreachable     uint64 `json:"unreachable"`
	AcctSent        uint64 `json:"acct_answered"`
	AcctLost        uint64 `json:"acct_lost"`
	UnsignedReplies uint64 `json:"unsigned_replies"`
	BadMsgAuth      uint64 `json:"bad_message_authenticator"`
	DAEACKs         uint64 `json:"dae_acks"`
	DAENAKs         uint64 `json:"dae_naks"`
	DAEDropped      uint64 `json:"dae_dropped"`
	DAEStale        uint64 `json:"dae_stale"`
	DAENoTimestamp  uint64 `json:"dae_no_event_timestamp"`
	InFlight        int64  `json:"in_flight"`
	// The accounting queue: its depth and spooled records now (gauges),
	// tries no server answered, Interim-Updates dropped from a full
	// queue, records not spooled for a full spool.
	AcctQueued     int64  `json:"acct_queued"`
	AcctSpooled    int64  `json:"acct_spooled"`
	AcctUnanswered uint64 `json:"acct_unanswered"`
	AcctDropped    uint64 `json:"acct_dropped"`
	AcctSpoolFull  uint64 `json:"acct_spool_full"`
}

// DHCPDCounters are the LAN DHCP server's counters (pkg/dhcpd Stats).
type DHCPDCounters struct {
	Counters []Counter `json:"counters"`
	Leases   int       `json:"leases"`
}

// RadiusReply is show radius: each server's state.
type RadiusReply struct {
	Enabled  bool            `json:"enabled"`
	Servers  []RadiusServer  `json:"servers,omitempty"`
	Counters *RadiusCounters `json:"counters,omitempty"`
}

// RadiusServer is one configured server as the client sees it.
type RadiusServer struct {
	Address  string        `json:"address"`
	Role     string        `json:"role"` // "auth", "acct", "auth+acct"
	Up       bool          `json:"up"`   // answered the last request sent to it
	LastRTT  time.Duration `json:"last_rtt_ns"`
	AvgRTT   time.Duration `json:"avg_rtt_ns"`
	Requests uint64        `json:"requests"`
	Timeouts uint64        `json:"timeouts"`
	LastSeen time.Time     `json:"last_seen,omitzero"`
}

// NATReply is show nat: the nftables rules boxd owns, with counters.
type NATReply struct {
	Enabled bool      `json:"enabled"`
	Table   string    `json:"table,omitempty"`
	Rules   []NATRule `json:"rules,omitempty"`
	// Counters are the table's named counters (nft list counters).
	Counters []Counter `json:"counters,omitempty"`
}

// NATRule is one rule: its chain, what it does, its counter.
type NATRule struct {
	Chain   string `json:"chain"`
	Comment string `json:"comment"` // the named counter or a description
	// Counter is the named counter the rule counts in ("": none; Packets
	// and Bytes are then 0). Several rules may share one.
	Counter string `json:"counter,omitempty"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// DialOut is one site-to-site dial-out ([[pptp.dial]]): show dialout.
type DialOut struct {
	Name       string   `json:"name"`
	Iface      string   `json:"iface"`  // its TUN device, dial-<name>
	Server     string   `json:"server"` // host:port
	Routes     []string `json:"routes"`
	Masquerade bool     `json:"masquerade"`
	// State is down, dialing, up or backoff, since Since.
	State string    `json:"state"`
	Since time.Time `json:"since"`
	// Local and Peer are the tunnel's addresses while up.
	Local string `json:"local,omitempty"`
	Peer  string `json:"peer,omitempty"`
	// Connects counts the sessions that came up since boxd started;
	// Failures the dials that failed in a row.
	Connects  uint64 `json:"connects"`
	Failures  int    `json:"failures"`
	LastError string `json:"last_error,omitempty"`
	// NextDial is when the next dial starts (in backoff).
	NextDial time.Time `json:"next_dial,omitzero"`
}

// Lease is one LAN DHCP lease.
type Lease struct {
	IP       string    `json:"ip"`
	MAC      string    `json:"mac"`
	Hostname string    `json:"hostname,omitempty"`
	Expires  time.Time `json:"expires"`
}

// Interface is one network interface.
type Interface struct {
	Name      string   `json:"name"`
	Role      string   `json:"role,omitempty"` // wan, lan, tun
	Up        bool     `json:"up"`
	MTU       int      `json:"mtu"`
	MAC       string   `json:"mac,omitempty"`
	Addresses []string `json:"addresses,omitempty"` // prefix form
	RxBytes   uint64   `json:"rx_bytes"`
	TxBytes   uint64   `json:"tx_bytes"`
	RxPackets uint64   `json:"rx_packets"`
	TxPackets uint64   `json:"tx_packets"`
	RxDropped uint64   `json:"rx_dropped"`
	TxDropped uint64   `json:"tx_dropped"`
}

// Route is one IPv4 route of the main table.
type Route struct {
	Dst      string `json:"dst"` // prefix, "default"
	Gateway  string `json:"gateway,omitempty"`
	Dev      string `json:"dev"`
	Src      string `json:"src,omitempty"`
	Protocol string `json:"protocol,omitempty"`
	Metric   uint32 `json:"metric,omitempty"`
}

// System is show system.
type System struct {
	Version      string        `json:"version"`
	Board        string        `json:"board,omitempty"`
	Hostname     string        `json:"hostname"`
	Uptime       time.Duration `json:"uptime_ns"`      // the box's (/proc/uptime)
	BoxdUptime   time.Duration `json:"boxd_uptime_ns"` // boxd's own
	Load         [3]float64    `json:"load"`
	MemTotal     uint64        `json:"mem_total_bytes"`
	MemAvailable uint64        `json:"mem_available_bytes"`
	BoxdRSS      uint64        `json:"boxd_rss_bytes"`
	Goroutines   int           `json:"goroutines"`
	ConfigFile   string        `json:"config_file"`  // what boxd runs with
	ConfigStore  string        `json:"config_store"` // where commits are written
	ConfigSource string        `json:"config_source,omitempty"`
	Pending      *Pending      `json:"pending,omitempty"`  // a commit confirmed waiting
	Ports        []Port        `json:"ports,omitempty"`    // the router's ports
	Time         time.Time     `json:"time,omitzero"`      // the box's clock when it answered
	Clock        *Clock        `json:"clock,omitempty"`    // nil: the SNTP client is off ([time])
	Syslog       *Syslog       `json:"syslog,omitempty"`   // nil: no [log] syslog
	Firmware     *Firmware     `json:"firmware,omitempty"` // on a box: the boot slots (from the init)
}

// Port is one of the router's ports: whether its interface is there, and
// what is off while it is not.
type Port struct {
	Role    string    `json:"role"`  // wan, lan
	Iface   string    `json:"iface"` // the interface the config names
	Present bool      `json:"present"`
	Since   time.Time `json:"since"`
	Off     []string  `json:"off,omitempty"` // what does not run while it is absent
}

// Summary is "no lan port (interface lan0 absent): LAN address 192.168.1.1/24
// and LAN DHCP server off", "" for a port that is there.
func (p Port) Summary() string {
	if p.Present {
		return ""
	}
	s := fmt.Sprintf("no %s port (interface %s absent)", p.Role, p.Iface)
	if len(p.Off) > 0 {
		s += ": off: " + strings.Join(p.Off, ", ")
	}
	return s
}

// Clock is the SNTP client's state.
type Clock struct {
	Synced    bool          `json:"synced"`
	SetsClock bool          `json:"sets_clock"` // false: boxd only measures (not the firmware's boxd)
	Servers   []string      `json:"servers"`
	Server    string        `json:"server,omitempty"` // of the last good round
	Stratum   uint8         `json:"stratum,omitempty"`
	Offset    time.Duration `json:"offset_ns"`        // measured in the last good round
	Action    string        `json:"action,omitempty"` // stepped, slewed, measured
	Steps     int           `json:"steps"`
	LastSync  time.Time     `json:"last_sync,omitzero"`
	NextPoll  time.Time     `json:"next_poll,omitzero"`
	LastError string        `json:"last_error,omitempty"` // of the last failed round
}

// Syslog is the remote syslog sender's state.
type Syslog struct {
	Server    string `json:"server"`
	Sent      uint64 `json:"sent"`
	Dropped   uint64 `json:"dropped"` // queue full or socket error
	LastError string `json:"last_error,omitempty"`
}

// PreviousLog is the log saved before the last reboot, poweroff or boxd
// exit: the init's log ring (its own lines and boxd's, "boxd: " first).
type PreviousLog struct {
	File  string    `json:"file"`
	Saved time.Time `json:"saved"`
	Lines []string  `json:"lines"`
}

// UpgradeSocket is where a box's init takes update files (not boxd: the init owns the
// disk, and an upgrade must work when boxd does not): the client writes the line
// "UpgradeMagic SOURCE\n", then the file, then closes its half; the init answers with
// progress lines and a last line "ok" or "error: ...". boxctl upgrade is its client.
const (
	UpgradeSocket = "/run/pptpbox/upgrade.sock"
	UpgradeMagic  = "pptpbox-upgrade"
)

// Firmware is the boot slots of a box, as its init reports them (docs/show.md).
type Firmware struct {
	Running     string         `json:"running"`   // slot booted: A or B ("" for a direct kernel boot)
	Committed   string         `json:"committed"` // slot GRUB boots when no trial is pending
	Slots       []FirmwareSlot `json:"slots"`
	LastUpgrade string         `json:"last_upgrade"` // the last upgrade's state in words, or "none"
}

// FirmwareSlot is one slot's content.
type FirmwareSlot struct {
	Name    string `json:"name"`
	Version string `json:"version"` // "" when empty or half written
}

// Pending is a commit confirmed that has not been confirmed yet.
type Pending struct {
	RevertAt time.Time `json:"revert_at"`
}

// LogLine is one line of boxd's log.
type LogLine struct {
	Time  time.Time `json:"time"`
	Level string    `json:"level"`
	Text  string    `json:"text"` // the slog text line
}

// TraceFilter selects the logins Trace follows: by user name, or by peer
// (client) address. One of the two is set.
type TraceFilter struct {
	User string `json:"user,omitempty"`
	Peer string `json:"peer,omitempty"`
}

// TraceEvent is one line of a trace, pppd-style:
// "rcvd [LCP ConfReq id=0x1 <mru 1400> <magic 0x...>]".
type TraceEvent struct {
	Time   time.Time `json:"time"`
	CallID uint16    `json:"call_id,omitempty"`
	User   string    `json:"user,omitempty"`
	Peer   string    `json:"peer,omitempty"`
	Layer  string    `json:"layer"` // pptp, lcp, auth, ccp, ipcp, radius, session
	Dir    string    `json:"dir"`   // "rcvd", "sent", "" for a note
	Text   string    `json:"text"`
}

// User is one local user as listed (never the password).
type User struct {
	Name string `json:"name"`
	IP   string `json:"ip,omitempty"` // fixed address, "" for the pool
}

// UserSpec is a user to add.
type UserSpec struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	IP       string `json:"ip,omitempty"`
}

// ConfigWhich picks the running or the candidate config.
type ConfigWhich string

const (
	Running   ConfigWhich = "running"
	Candidate ConfigWhich = "candidate"
)

// ConfigText is a config file's text and where it lives.
type ConfigText struct {
	Which ConfigWhich `json:"which"`
	Path  string      `json:"path"`
	Text  string      `json:"text"`
}

// CheckResult is a validation: OK, or the errors as file:line: key: message.
type CheckResult struct {
	OK     bool     `json:"ok"`
	Errors []string `json:"errors,omitempty"`
}

// CommitRequest asks for a commit; ConfirmWithin > 0 is commit confirmed.
type CommitRequest struct {
	ConfirmWithin time.Duration `json:"confirm_within_ns,omitempty"`
	Comment       string        `json:"comment,omitempty"`
}

// CommitResult says what a commit, confirm or rollback did.
type CommitResult struct {
	Path      string    `json:"path"`                // the file written
	Changed   bool      `json:"changed"`             // false: nothing to commit
	Applied   []string  `json:"applied,omitempty"`   // what was applied live
	Restart   []string  `json:"restart,omitempty"`   // what needs a restart to take effect
	Ended     []Session `json:"ended,omitempty"`     // sessions the change ended (a deleted user)
	RevertAt  time.Time `json:"revert_at,omitzero"`  // commit confirmed: reverts then
	Confirmed bool      `json:"confirmed,omitempty"` // ConfigConfirm
}

// ReloadResult is the reply to Reload.
type ReloadResult struct {
	Config  string   `json:"config"`
	Applied []string `json:"applied,omitempty"`
	Restart []string `json:"restart,omitempty"`
}

// ProbeRequest is a ping or traceroute from the box.
type ProbeRequest struct {
	Kind   string `json:"kind"` // "ping" or "traceroute"
	Target string `json:"target"`
	Count  int    `json:"count,omitempty"` // ping: probes (default 4); traceroute: max hops (default 30)
	Source string `json:"source,omitempty"`
}

// ProbeLine is one line of a probe's output, as ping/traceroute print it.
type ProbeLine struct {
	Text string `json:"text"`
	Done bool   `json:"done,omitempty"` // the summary line
}
