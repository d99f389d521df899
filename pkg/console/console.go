// Package console is the box's command tree, the one the serial console
// (the init) and boxctl serve: show, kick, trace, users, ping, config,
// reboot. It is written against control.API, so it runs over the control
// socket (control.Client) and is tested with a fake API; what runs outside
// boxd (reboot, poweroff, the USB stick, an editor) comes from Local.
//
// Output is for people (tables, human units) unless --json is given: then
// each command prints its typed reply as JSON (a stream: one per line).
package console

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pptpbox/pptpbox/pkg/cli"
	"github.com/pptpbox/pptpbox/pkg/control"
)

// Local is what the console does outside boxd. A nil hook hides its
// command (boxctl on a PC has no reboot).
type Local struct {
	// Reboot and Poweroff act once the operator has confirmed.
	Reboot   func(ctx context.Context) error
	Poweroff func(ctx context.Context) error
	// SaveToUSB writes the running config to the USB stick and says where.
	SaveToUSB func(ctx context.Context, cfg control.ConfigText) (string, error)
	// Edit lets the operator edit text (an editor on the terminal) and
	// returns the result.
	Edit func(ctx context.Context, text string) (string, error)
}

// FlagJSON is the flag that makes every command print JSON.
const FlagJSON = "json"

// console is the tree's handlers: the API and the local hooks.
type console struct {
	api   control.API
	local Local
}

// New is the command tree over api.
func New(api control.API, local Local) *cli.Tree {
	c := &console{api: api, local: local}
	sel := cli.Arg{Name: "user|id|address", Help: "a session: user name, session id (#7) or address", Complete: c.selectors}
	user := cli.Arg{Name: "name", Help: "a local user", Complete: c.userNames}
	show := []*cli.Node{
		{Name: "sessions", Help: "the live sessions", Run: c.showSessions},
		{Name: "session", Help: "one session in detail: negotiated options, RADIUS attributes, counters", Args: []cli.Arg{sel}, Run: c.showSession},
		{Name: "interfaces", Help: "network interfaces, addresses and counters", Run: c.showInterfaces},
		{Name: "routes", Help: "the IPv4 routes", Run: c.showRoutes},
		{Name: "leases", Help: "the LAN's DHCP leases", Run: c.showLeases},
		{Name: "dialout", Help: "the site-to-site dial-outs ([[pptp.dial]]): state, addresses, routes", Run: c.showDialOut},
		{Name: "nat", Help: "the firewall and NAT rules with their counters", Run: c.showNAT},
		{Name: "radius", Help: "each RADIUS server's state, latency and timeouts", Run: c.showRadius},
		{Name: "system", Help: "version, board, uptime, memory, load, config", Run: c.showSystem},
		{Name: "stats", Help: "every counter of boxd", Run: c.showStats},
		{Name: "log", Help: "boxd's recent log", Run: c.showLog,
			Args: []cli.Arg{{Name: "N", Help: "the last N lines (default: all boxd keeps)", Optional: true}},
			Children: []*cli.Node{{Name: "follow", Help: "new log lines as they come, until Ctrl-C", Run: c.followLog,
				Options: []cli.Option{{Name: "level", Value: "level", Help: "the lowest level shown (default info)",
					Complete: func(context.Context) []string { return []string{"debug", "info", "warn", "error"} }}}},
				{Name: "previous", Help: "the log the init saved when the box last went down or boxd exited", Run: c.showLogPrevious}}},
	}
	config := []*cli.Node{
		{Name: "show", Help: "the running config, or the candidate (staged changes)", Run: c.configShow,
			Args: []cli.Arg{{Name: "which", Help: "running (default) or candidate", Optional: true,
				Complete: func(context.Context, []string) []string { return []string{"running", "candidate"} }}}},
		{Name: "check", Help: "validate the candidate: its errors as file:line: key", Run: c.configCheck},
		{Name: "diff", Help: "the staged changes, running -> candidate", Run: c.configDiff},
		{Name: "set", Help: "stage key = value (pptp.mppe require-128)", Run: c.configSet,
			Args: []cli.Arg{{Name: "key", Help: "a dotted key: pptp.mppe, radius.timeout"}, {Name: "value", Help: "a TOML value, or a word taken as a string"}}},
		{Name: "commit", Help: "apply the candidate and write it, keeping a rollback point", Run: c.configCommit,
			Children: []*cli.Node{{Name: "confirmed", Help: "commit, and roll back unless confirmed within the minutes given", Run: c.configCommit,
				Args: []cli.Arg{{Name: "minutes", Help: "minutes until the automatic rollback"}}}}},
		{Name: "confirm", Help: "keep a commit confirmed", Run: c.commitLike(c.api.ConfigConfirm)},
		{Name: "rollback", Help: "apply and write the rollback point (the config before the last commit)", Run: c.commitLike(c.api.ConfigRollback)},
		{Name: "discard", Help: "drop the staged changes", Run: c.done(c.api.ConfigDiscard, "staged changes discarded")},
	}
	if local.Edit != nil {
		config = slices.Insert(config, 4, &cli.Node{Name: "edit", Help: "edit the candidate in an editor", Run: c.configEdit})
	}
	if local.SaveToUSB != nil {
		config = append(config, &cli.Node{Name: "save-to-usb", Help: "write the running config to the USB stick", Run: c.saveToUSB})
	}
	top := []*cli.Node{
		{Name: "show", Help: "the box's state", Children: show},
		{Name: "kick", Help: "end sessions (accounting Stop with Admin-Reset)", Args: []cli.Arg{sel}, Run: c.kick},
		{Name: "trace", Help: "a live pppd-style view of logins, until Ctrl-C", Children: []*cli.Node{
			{Name: "user", Help: "the next logins of a user", Run: c.trace, Args: []cli.Arg{{Name: "name", Help: "a user name", Complete: c.userNames}}},
			{Name: "peer", Help: "the next logins from an address", Run: c.trace, Args: []cli.Arg{{Name: "address", Help: "the client's address"}}},
		}},
		{Name: "users", Help: "local users (changes are staged: config commit applies them)", Children: []*cli.Node{
			{Name: "list", Help: "the local users of the running config", Run: c.usersList},
			{Name: "add", Help: "stage a new user", Run: c.usersAdd, Secret: true, Args: []cli.Arg{{Name: "name", Help: "the user name"},
				{Name: "password", Help: "the password (quote it if it has blanks or ?)"}, {Name: "ip", Help: "a fixed tunnel address (default: the pool)", Optional: true}}},
			{Name: "delete", Help: "stage a user's removal", Run: c.usersDelete, Args: []cli.Arg{user}},
			{Name: "passwd", Help: "stage a new password", Run: c.usersPasswd, Secret: true, Args: []cli.Arg{user, {Name: "password", Help: "the new password"}}},
		}},
		{Name: "ping", Help: "ping from the box", Run: c.probe("ping"), Args: []cli.Arg{{Name: "host", Help: "a name or address"}},
			Options: []cli.Option{{Name: "count", Value: "N", Help: "probes to send (default 4)"}}},
		{Name: "traceroute", Help: "traceroute from the box", Run: c.probe("traceroute"), Args: []cli.Arg{{Name: "host", Help: "a name or address"}},
			Options: []cli.Option{{Name: "hops", Value: "N", Help: "the most hops (default 30)"}}},
		{Name: "config", Help: "the config: stage, check, commit, roll back", Children: config},
		{Name: "reload", Help: "re-read the config file boxd runs with, as SIGHUP", Run: c.reload},
	}
	if local.Reboot != nil {
		top = append(top, &cli.Node{Name: "reboot", Help: "restart the box (asks first)", Run: c.confirmThen("Reboot the box?", local.Reboot)})
	}
	if local.Poweroff != nil {
		top = append(top, &cli.Node{Name: "poweroff", Help: "power the box off (asks first)", Run: c.confirmThen("Power the box off?", local.Poweroff)})
	}
	return &cli.Tree{
		Root:  &cli.Node{Children: top},
		Flags: []cli.Flag{{Name: FlagJSON, Help: "print the reply as JSON"}},
	}
}

// selectors completes a session selector: the users, ids and addresses
// of the live sessions.
func (c *console) selectors(ctx context.Context, _ []string) []string {
	ss, err := c.api.Sessions(ctx)
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range ss {
		for _, v := range []string{s.User, fmt.Sprintf("#%d", s.CallID), s.IP} {
			if v != "" && v != "#0" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

func (c *console) userNames(ctx context.Context, _ []string) []string {
	us, err := c.api.Users(ctx)
	if err != nil {
		return nil
	}
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Name
	}
	return out
}

// reply prints v as JSON with --json, else calls human.
func reply[T any](call *cli.Call, v T, err error, human func(w io.Writer, v T) error) error {
	if err != nil {
		return err
	}
	if call.Flag(FlagJSON) {
		return printJSON(call.Out, v)
	}
	return human(call.Out, v)
}

// done runs f and says what it did (nothing with --json: the exit status tells).
func (c *console) done(f func(context.Context) error, msg string) func(context.Context, *cli.Call) error {
	return func(ctx context.Context, call *cli.Call) error {
		if err := f(ctx); err != nil {
			return err
		}
		return say(call, msg)
	}
}

func say(call *cli.Call, format string, args ...any) error {
	if call.Flag(FlagJSON) {
		return nil
	}
	_, err := fmt.Fprintf(call.Out, format+"\n", args...)
	return err
}

// peerAddr is a session's peer as address:port.
func peerAddr(s control.Session) string {
	if s.PeerPort == 0 || s.Peer == "" {
		return or(s.Peer)
	}
	return net.JoinHostPort(s.Peer, strconv.Itoa(int(s.PeerPort)))
}

func sessionID(s control.Session) string { return fmt.Sprintf("#%d", s.CallID) }

func (c *console) showSessions(ctx context.Context, call *cli.Call) error {
	ss, err := c.api.Sessions(ctx)
	return reply(call, ss, err, func(w io.Writer, ss []control.Session) error {
		if len(ss) == 0 {
			_, err := fmt.Fprintln(w, "no sessions")
			return err
		}
		rows := make([][]string, 0, len(ss))
		for _, s := range ss {
			rows = append(rows, []string{s.User, peerAddr(s), or(s.IP), or(s.State), humanDuration(s.Uptime),
				humanBytes(s.BytesIn), humanBytes(s.BytesOut), humanCount(s.PktsIn) + "/" + humanCount(s.PktsOut),
				or(s.MPPE), or(s.AuthSource), or(s.RateLimit), sessionID(s)})
		}
		return table(w, "USER\tPEER\tTUNNEL\tSTATE\tUPTIME\tIN\tOUT\tPKTS IN/OUT\tMPPE\tAUTH\tLIMIT\tID", rows)
	})
}

func (c *console) showSession(ctx context.Context, call *cli.Call) error {
	d, err := c.api.Session(ctx, call.Arg(0))
	return reply(call, d, err, func(w io.Writer, d control.SessionDetail) error {
		s := d.Session
		fmt.Fprintf(w, "session %s, user %s\n", sessionID(s), s.User)
		auth := or(s.Auth)
		if s.AuthSource != "" {
			auth += " (" + s.AuthSource + ")"
		}
		kv := [][2]string{
			{"peer", peerAddr(s)}, {"tunnel address", or(s.IP)}, {"state", or(s.State)},
			{"uptime", humanDuration(s.Uptime)}, {"auth", auth}, {"MPPE", or(s.MPPE)},
			{"peer call id", fmt.Sprint(s.PeerCall)},
			{"in", fmt.Sprintf("%s, %s packets", humanBytes(s.BytesIn), humanCount(s.PktsIn))},
			{"out", fmt.Sprintf("%s, %s packets", humanBytes(s.BytesOut), humanCount(s.PktsOut))},
		}
		if s.AcctSessionID != "" {
			kv = append(kv, [2]string{"acct session id", s.AcctSessionID})
		}
		if s.RateLimit != "" {
			kv = append(kv, [2]string{"rate limit", fmt.Sprintf("%s bits/s (in/out), dropped %s in, %s out",
				s.RateLimit, humanCount(s.LimitedIn), humanCount(s.LimitedOut))})
		}
		if len(s.Routes) > 0 {
			kv = append(kv, [2]string{"routes", strings.Join(s.Routes, ", ")})
		}
		pairs(w, "  ", kv)
		for _, sec := range []struct {
			name string
			opts []control.Option
		}{{"LCP", d.LCP}, {"CCP", d.CCP}, {"IPCP", d.IPCP}} {
			if len(sec.opts) == 0 {
				continue
			}
			fmt.Fprintln(w, sec.name)
			var kv [][2]string
			for _, o := range sec.opts {
				kv = append(kv, [2]string{o.Dir + " " + o.Name, o.Value})
			}
			pairs(w, "  ", kv)
		}
		if len(d.Radius) > 0 {
			fmt.Fprintln(w, "RADIUS attributes")
			var kv [][2]string
			for _, a := range d.Radius {
				kv = append(kv, [2]string{a.Name, a.Value})
			}
			pairs(w, "  ", kv)
		}
		counters(w, "counters", d.Counters)
		return counters(w, "drops", d.Drops)
	})
}

// counters prints a titled list of counters, nothing when there are none.
func counters(w io.Writer, title string, cs []control.Counter) error {
	if len(cs) == 0 {
		return nil
	}
	fmt.Fprintln(w, title)
	kv := make([][2]string, len(cs))
	for i, c := range cs {
		kv[i] = [2]string{c.Name, fmt.Sprint(c.Value)}
	}
	return pairs(w, "  ", kv)
}

func (c *console) kick(ctx context.Context, call *cli.Call) error {
	ss, err := c.api.Kick(ctx, call.Arg(0))
	return reply(call, ss, err, func(w io.Writer, ss []control.Session) error {
		for _, s := range ss {
			fmt.Fprintf(w, "kicked %s (%s, %s from %s)\n", s.User, sessionID(s), or(s.IP), peerAddr(s))
		}
		return nil
	})
}

func (c *console) showInterfaces(ctx context.Context, call *cli.Call) error {
	ifs, err := c.api.Interfaces(ctx)
	return reply(call, ifs, err, func(w io.Writer, ifs []control.Interface) error {
		rows := make([][]string, 0, len(ifs))
		for _, i := range ifs {
			state := "down"
			if i.Up {
				state = "up"
			}
			rows = append(rows, []string{i.Name, or(i.Role), state, fmt.Sprint(i.MTU), or(strings.Join(i.Addresses, ",")),
				humanBytes(i.RxBytes) + "/" + humanCount(i.RxPackets), humanBytes(i.TxBytes) + "/" + humanCount(i.TxPackets),
				fmt.Sprintf("%d/%d", i.RxDropped, i.TxDropped), or(i.MAC)})
		}
		return table(w, "NAME\tROLE\tSTATE\tMTU\tADDRESSES\tRX BYTES/PKTS\tTX BYTES/PKTS\tDROPS RX/TX\tMAC", rows)
	})
}

func (c *console) showRoutes(ctx context.Context, call *cli.Call) error {
	rs, err := c.api.Routes(ctx)
	return reply(call, rs, err, func(w io.Writer, rs []control.Route) error {
		rows := make([][]string, 0, len(rs))
		for _, r := range rs {
			rows = append(rows, []string{r.Dst, or(r.Gateway), r.Dev, or(r.Src), or(r.Protocol), fmt.Sprint(r.Metric)})
		}
		return table(w, "DESTINATION\tGATEWAY\tDEV\tSOURCE\tPROTO\tMETRIC", rows)
	})
}

func (c *console) showLeases(ctx context.Context, call *cli.Call) error {
	ls, err := c.api.Leases(ctx)
	return reply(call, ls, err, func(w io.Writer, ls []control.Lease) error {
		if len(ls) == 0 {
			_, err := fmt.Fprintln(w, "no leases")
			return err
		}
		rows := make([][]string, 0, len(ls))
		for _, l := range ls {
			rows = append(rows, []string{l.IP, l.MAC, or(l.Hostname), l.Expires.Local().Format(time.DateTime) +
				" (in " + humanDuration(time.Until(l.Expires)) + ")"})
		}
		return table(w, "ADDRESS\tMAC\tHOSTNAME\tEXPIRES", rows)
	})
}

func (c *console) showDialOut(ctx context.Context, call *cli.Call) error {
	ds, err := c.api.DialOuts(ctx)
	return reply(call, ds, err, func(w io.Writer, ds []control.DialOut) error {
		if len(ds) == 0 {
			_, err := fmt.Fprintln(w, "no dial-outs")
			return err
		}
		rows := make([][]string, 0, len(ds))
		for _, d := range ds {
			state := d.State + " " + humanDuration(time.Since(d.Since))
			if !d.NextDial.IsZero() {
				state += ", next dial in " + humanDuration(time.Until(d.NextDial))
			}
			tunnel := "-"
			if d.Local != "" {
				tunnel = d.Local + " -> " + d.Peer
			}
			routes := strings.Join(d.Routes, ",")
			if d.Masquerade {
				routes += " (masquerade)"
			}
			rows = append(rows, []string{d.Name, d.Iface, d.Server, state, tunnel, routes, fmt.Sprint(d.Connects), or(d.LastError)})
		}
		return table(w, "NAME\tDEV\tSERVER\tSTATE\tTUNNEL\tROUTES\tCONNECTS\tLAST ERROR", rows)
	})
}

func (c *console) showNAT(ctx context.Context, call *cli.Call) error {
	n, err := c.api.NAT(ctx)
	return reply(call, n, err, func(w io.Writer, n control.NATReply) error {
		if !n.Enabled {
			_, err := fmt.Fprintln(w, "NAT and firewall off (no router)")
			return err
		}
		fmt.Fprintf(w, "table %s\n", n.Table)
		rows := make([][]string, 0, len(n.Rules))
		for _, r := range n.Rules {
			rows = append(rows, []string{r.Chain, r.Comment, or(r.Counter), humanCount(r.Packets), humanBytes(r.Bytes)})
		}
		if err := table(w, "CHAIN\tRULE\tCOUNTER\tPACKETS\tBYTES", rows); err != nil {
			return err
		}
		return counters(w, "counters", n.Counters)
	})
}

func (c *console) showRadius(ctx context.Context, call *cli.Call) error {
	r, err := c.api.Radius(ctx)
	return reply(call, r, err, func(w io.Writer, r control.RadiusReply) error {
		if !r.Enabled {
			_, err := fmt.Fprintln(w, "RADIUS off: local users only")
			return err
		}
		rows := make([][]string, 0, len(r.Servers))
		for _, s := range r.Servers {
			state, seen := "down", "never"
			if s.Up {
				state = "up"
			}
			if !s.LastSeen.IsZero() {
				seen = humanDuration(time.Since(s.LastSeen)) + " ago"
			}
			rows = append(rows, []string{s.Address, s.Role, state, humanRTT(s.LastRTT), humanRTT(s.AvgRTT),
				fmt.Sprint(s.Requests), fmt.Sprint(s.Timeouts), seen})
		}
		if err := table(w, "SERVER\tROLE\tSTATE\tLAST RTT\tAVG RTT\tREQUESTS\tTIMEOUTS\tLAST ANSWER", rows); err != nil {
			return err
		}
		if r.Counters == nil {
			return nil
		}
		kv, err := flatten(r.Counters)
		if err != nil {
			return err
		}
		fmt.Fprintln(w, "counters")
		return pairs(w, "  ", kv)
	})
}

func (c *console) showSystem(ctx context.Context, call *cli.Call) error {
	s, err := c.api.System(ctx)
	return reply(call, s, err, func(w io.Writer, s control.System) error {
		kv := [][2]string{
			{"version", s.Version}, {"board", or(s.Board)}, {"hostname", s.Hostname},
			{"uptime", humanDuration(s.Uptime)}, {"boxd uptime", humanDuration(s.BoxdUptime)},
			{"load", fmt.Sprintf("%.2f %.2f %.2f", s.Load[0], s.Load[1], s.Load[2])},
			{"memory", fmt.Sprintf("%s available of %s", humanBytes(s.MemAvailable), humanBytes(s.MemTotal))},
			{"boxd memory", humanBytes(s.BoxdRSS)}, {"goroutines", fmt.Sprint(s.Goroutines)},
			{"config", s.ConfigFile}, {"config store", or(s.ConfigStore)}, {"config source", or(s.ConfigSource)},
		}
		if s.Pending != nil {
			kv = append(kv, [2]string{"commit confirmed", "rolls back at " + s.Pending.RevertAt.Local().Format(time.TimeOnly) +
				" unless `config confirm`"})
		}
		for _, p := range s.Ports {
			state := p.Iface + " up"
			if !p.Present {
				state = p.Iface + " MISSING: served without it until it appears"
				if len(p.Off) > 0 {
					state += "; off: " + strings.Join(p.Off, ", ")
				}
			}
			kv = append(kv, [2]string{"port " + p.Role, state})
		}
		if !s.Time.IsZero() {
			kv = append(kv, [2]string{"time", s.Time.UTC().Format(time.DateTime) + " UTC"})
		}
		kv = append(kv, [2]string{"clock", clockLine(s.Clock, s.Time)})
		if s.Syslog != nil {
			l := fmt.Sprintf("%s, %d sent, %d dropped", s.Syslog.Server, s.Syslog.Sent, s.Syslog.Dropped)
			if s.Syslog.LastError != "" {
				l += " (last error: " + s.Syslog.LastError + ")"
			}
			kv = append(kv, [2]string{"syslog", l})
		}
		if f := s.Firmware; f != nil {
			kv = append(kv, [2]string{"slot", or(f.Running)})
			for _, sl := range f.Slots {
				v := or(sl.Version)
				if sl.Name == f.Committed {
					v += " (committed)"
				}
				kv = append(kv, [2]string{"slot " + sl.Name, v})
			}
			kv = append(kv, [2]string{"last upgrade", f.LastUpgrade})
		}
		return pairs(w, "", kv)
	})
}

// clockLine is the SNTP client's state in a line, times relative to now
// (the box's clock when it answered).
func clockLine(c *control.Clock, now time.Time) string {
	if c == nil {
		return "not set by boxd ([time] off)"
	}
	if now.IsZero() {
		now = time.Now()
	}
	var l string
	if c.Synced {
		l = fmt.Sprintf("synced to %s stratum %d, offset %s (%s), %s ago", c.Server, c.Stratum, signed(c.Offset), c.Action,
			humanDuration(now.Sub(c.LastSync)))
	} else {
		l = "not synced"
		if c.LastError != "" {
			l += ": " + c.LastError
		}
	}
	if !c.NextPoll.IsZero() {
		l += ", next poll in " + humanDuration(c.NextPoll.Sub(now))
	}
	if !c.SetsClock {
		l += "; measured only, this boxd does not set the clock"
	}
	return l
}

// signed is an offset to the millisecond with its sign: "+3ms", "-1.5s".
func signed(d time.Duration) string {
	d = d.Round(time.Millisecond)
	if d >= 0 {
		return "+" + d.String()
	}
	return d.String()
}

func (c *console) showStats(ctx context.Context, call *cli.Call) error {
	s, err := c.api.Stats(ctx)
	return reply(call, s, err, func(w io.Writer, s control.StatsReply) error {
		kv, err := flatten(s)
		if err != nil {
			return err
		}
		return pairs(w, "", kv)
	})
}

func (c *console) showLog(ctx context.Context, call *cli.Call) error {
	n := 0
	if a := call.Arg(0); a != "" {
		var err error
		if n, err = strconv.Atoi(a); err != nil || n < 0 {
			return &cli.UsageError{Msg: fmt.Sprintf("show log: N is a number of lines, not %q", a)}
		}
	}
	ls, err := c.api.Log(ctx, n)
	return reply(call, ls, err, func(w io.Writer, ls []control.LogLine) error {
		for _, l := range ls {
			fmt.Fprintln(w, l.Text)
		}
		return nil
	})
}

func (c *console) showLogPrevious(ctx context.Context, call *cli.Call) error {
	p, err := c.api.LogPrevious(ctx)
	return reply(call, p, err, func(w io.Writer, p control.PreviousLog) error {
		fmt.Fprintf(w, "saved %s UTC in %s (%d lines)\n", p.Saved.UTC().Format(time.DateTime), p.File, len(p.Lines))
		for _, l := range p.Lines {
			fmt.Fprintln(w, l)
		}
		return nil
	})
}

// stream prints the events of a stream until it ends or ctx does (Ctrl-C,
// which ends it without an error).
func stream[E any](ctx context.Context, call *cli.Call, run func(func(E) error) error, human func(E) string) error {
	err := run(func(e E) error {
		if call.Flag(FlagJSON) {
			return printJSONLine(call.Out, e)
		}
		_, err := fmt.Fprintln(call.Out, human(e))
		return err
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (c *console) followLog(ctx context.Context, call *cli.Call) error {
	level := call.Opts["level"]
	if level == "" {
		level = "info"
	}
	say(call, "following boxd's log from level %s (Ctrl-C to stop)", level)
	return stream(ctx, call, func(fn func(control.LogLine) error) error { return c.api.FollowLog(ctx, level, fn) },
		func(l control.LogLine) string { return l.Text })
}

func (c *console) trace(ctx context.Context, call *cli.Call) error {
	var f control.TraceFilter
	if call.Path[len(call.Path)-1] == "user" {
		f.User = call.Arg(0)
	} else {
		f.Peer = call.Arg(0)
	}
	say(call, "tracing %s %s: its next logins (Ctrl-C to stop)", call.Path[len(call.Path)-1], call.Arg(0))
	return stream(ctx, call, func(fn func(control.TraceEvent) error) error { return c.api.Trace(ctx, f, fn) }, traceLine)
}

// traceLine is a trace event as pppd logs it, after the time and the call:
// "21:00:00.123 alice #7 rcvd [LCP ConfReq id=0x1 <mru 1400>]".
func traceLine(e control.TraceEvent) string {
	who := e.User
	if who == "" {
		who = e.Peer
	}
	if e.CallID != 0 {
		who += fmt.Sprintf(" #%d", e.CallID)
	}
	text := e.Text
	if e.Dir != "" {
		text = e.Dir + " " + text
	} else if e.Layer != "" {
		text = e.Layer + ": " + text
	}
	return fmt.Sprintf("%s %s %s", e.Time.Local().Format("15:04:05.000"), or(who), text)
}

func (c *console) probe(kind string) func(context.Context, *cli.Call) error {
	return func(ctx context.Context, call *cli.Call) error {
		r := control.ProbeRequest{Kind: kind, Target: call.Arg(0)}
		for _, o := range []string{"count", "hops"} {
			if v, ok := call.Opts[o]; ok {
				n, err := strconv.Atoi(v)
				if err != nil || n <= 0 {
					return &cli.UsageError{Msg: fmt.Sprintf("%s: %s is a positive number, not %q", kind, o, v)}
				}
				r.Count = n
			}
		}
		return stream(ctx, call, func(fn func(control.ProbeLine) error) error { return c.api.Probe(ctx, r, fn) },
			func(l control.ProbeLine) string { return l.Text })
	}
}

func (c *console) usersList(ctx context.Context, call *cli.Call) error {
	us, err := c.api.Users(ctx)
	return reply(call, us, err, func(w io.Writer, us []control.User) error {
		if len(us) == 0 {
			_, err := fmt.Fprintln(w, "no local users")
			return err
		}
		rows := make([][]string, len(us))
		for i, u := range us {
			ip := u.IP
			if ip == "" {
				ip = "(pool)"
			}
			rows[i] = []string{u.Name, ip}
		}
		return table(w, "USER\tADDRESS", rows)
	})
}

// staged is the note after a staged change.
const staged = "staged: `config commit` applies it"

func (c *console) usersAdd(ctx context.Context, call *cli.Call) error {
	u := control.UserSpec{Name: call.Arg(0), Password: call.Arg(1), IP: call.Arg(2)}
	if err := c.api.UserAdd(ctx, u); err != nil {
		return err
	}
	return say(call, "user %s added; %s", u.Name, staged)
}

func (c *console) usersDelete(ctx context.Context, call *cli.Call) error {
	if err := c.api.UserDelete(ctx, call.Arg(0)); err != nil {
		return err
	}
	return say(call, "user %s deleted; %s", call.Arg(0), staged)
}

func (c *console) usersPasswd(ctx context.Context, call *cli.Call) error {
	if err := c.api.UserPasswd(ctx, call.Arg(0), call.Arg(1)); err != nil {
		return err
	}
	return say(call, "password of %s changed; %s", call.Arg(0), staged)
}
