package radius

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"layeh.com/radius/rfc2866"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/atomicfile"
)

// The accounting spool: a directory (on the firmware, /config/acct on the
// CONFIG partition) with one file per Start or Stop that no server has
// answered yet, so that a restart or a power cut does not lose it. A file
// is written (pkg/atomicfile: whole or not at all) when the record's first
// try went unanswered, or when Close gives up waiting, and removed once a
// server answered. Interim-Updates are not spooled: the Stop carries the
// final counters. Writing only in an outage keeps flash writes to outages.
//
// The file is JSON (spoolRecord), named <Acct-Session-Id>-<status>.acct.
// At most Config.AcctSpoolMax files are kept; beyond that a record stays
// in memory only and is counted (Stats.AcctSpoolFull).

const spoolExt = ".acct"

// spoolRecord is a spooled accounting record.
type spoolRecord struct {
	Version   int      `json:"v"`
	Status    uint32   `json:"status"` // Acct-Status-Type: 1 Start, 2 Stop
	SessionID string   `json:"session_id"`
	Local     bool     `json:"local,omitempty"`
	Class     [][]byte `json:"class,omitempty"`
	Event     int64    `json:"event"` // Unix nanoseconds
	User      string   `json:"user"`
	Peer      string   `json:"peer,omitempty"`
	IP        string   `json:"ip,omitempty"`
	CallID    uint16   `json:"call_id"`
	Time      int64    `json:"time_ns,omitempty"`
	BytesIn   uint64   `json:"bytes_in,omitempty"`
	BytesOut  uint64   `json:"bytes_out,omitempty"`
	PktsIn    uint64   `json:"pkts_in,omitempty"`
	PktsOut   uint64   `json:"pkts_out,omitempty"`
	Cause     uint32   `json:"cause,omitempty"`
}

func encodeSpool(it *acctItem) ([]byte, error) {
	r := it.rec
	s := spoolRecord{
		Version: 1, Status: uint32(it.st), SessionID: it.sessionID, Local: it.local, Class: it.class,
		Event: it.event.UnixNano(), User: r.User, CallID: r.CallID, Time: int64(r.Time),
		BytesIn: r.BytesIn, BytesOut: r.BytesOut, PktsIn: r.PktsIn, PktsOut: r.PktsOut, Cause: uint32(r.Cause),
	}
	if r.Peer.IsValid() {
		s.Peer = r.Peer.String()
	}
	if r.IP.IsValid() {
		s.IP = r.IP.String()
	}
	return json.Marshal(s)
}

// decodeSpool parses a spool file back into a queued record.
func decodeSpool(b []byte) (*acctItem, error) {
	var s spoolRecord
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	if s.Version != 1 {
		return nil, fmt.Errorf("version %d", s.Version)
	}
	st := rfc2866.AcctStatusType(s.Status)
	if st != rfc2866.AcctStatusType_Value_Start && st != rfc2866.AcctStatusType_Value_Stop {
		return nil, fmt.Errorf("status %d is not Start or Stop", s.Status)
	}
	if !validSessionID(s.SessionID) {
		return nil, fmt.Errorf("bad session id %q", s.SessionID)
	}
	if len(s.User) == 0 || len(s.User) > 253 {
		return nil, fmt.Errorf("user of %d octets", len(s.User))
	}
	if len(s.Class) > 16 {
		return nil, fmt.Errorf("%d classes", len(s.Class))
	}
	for _, cl := range s.Class {
		if len(cl) == 0 || len(cl) > 253 {
			return nil, fmt.Errorf("class of %d octets", len(cl))
		}
	}
	if s.Time < 0 {
		return nil, errors.New("negative session time")
	}
	it := &acctItem{
		st: st, sessionID: s.SessionID, local: s.Local, class: s.Class, event: time.Unix(0, s.Event),
		rec: aaa.Record{User: s.User, CallID: s.CallID, Time: time.Duration(s.Time),
			BytesIn: s.BytesIn, BytesOut: s.BytesOut, PktsIn: s.PktsIn, PktsOut: s.PktsOut, Cause: aaa.Cause(s.Cause)},
	}
	var err error
	if s.Peer != "" {
		if it.rec.Peer, err = netip.ParseAddr(s.Peer); err != nil {
			return nil, fmt.Errorf("peer: %w", err)
		}
	}
	if s.IP != "" {
		if it.rec.IP, err = netip.ParseAddr(s.IP); err != nil {
			return nil, fmt.Errorf("ip: %w", err)
		}
	}
	return it, nil
}

// validSessionID: what newSessionID makes (hex digits), bounded, so that
// it is a safe file name too.
func validSessionID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !strings.ContainsRune("0123456789ABCDEFabcdef", r) {
			return false
		}
	}
	return true
}

func spoolName(it *acctItem) string {
	return fmt.Sprintf("%s-%d%s", it.sessionID, uint32(it.st), spoolExt)
}

// spoolPending writes the queued Starts and Stops that are not in the
// spool yet. Called by the sender (or Close), never on a session's path.
func (c *Client) spoolPending() {
	if c.cfg.AcctSpool == "" {
		return
	}
	c.spoolMu.Lock()
	defer c.spoolMu.Unlock()
	q := &c.aq
	q.mu.Lock()
	var todo []*acctItem
	for _, it := range q.items {
		if it.spool == "" && it.st != rfc2866.AcctStatusType_Value_InterimUpdate {
			todo = append(todo, it)
		}
	}
	q.mu.Unlock()
	for _, it := range todo {
		if c.spoolFiles >= c.cfg.AcctSpoolMax {
			c.acctSpoolFull.Add(1)
			c.log.Error("radius accounting spool full: record kept in memory only", "dir", c.cfg.AcctSpool, "files", c.spoolFiles, "session_id", it.sessionID)
			return
		}
		b, err := encodeSpool(it)
		if err == nil {
			name := spoolName(it)
			path := filepath.Join(c.cfg.AcctSpool, name)
			if err = atomicfile.Write(path, b); err == nil {
				q.mu.Lock()
				done := it.done // answered while being written (Close's call)
				if !done {
					it.spool = name
				}
				q.mu.Unlock()
				if done {
					os.Remove(path)
				} else {
					c.spoolFiles++
				}
				continue
			}
		}
		c.log.Error("radius accounting spool", "dir", c.cfg.AcctSpool, "session_id", it.sessionID, "err", err)
		return
	}
}

// unspool removes it's file once a server answered it.
func (c *Client) unspool(it *acctItem) {
	c.aq.mu.Lock()
	name := it.spool
	it.spool = ""
	c.aq.mu.Unlock()
	if name == "" {
		return
	}
	c.spoolMu.Lock()
	defer c.spoolMu.Unlock()
	if err := os.Remove(filepath.Join(c.cfg.AcctSpool, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		c.log.Error("radius accounting spool: remove", "file", name, "err", err)
		return
	}
	c.spoolFiles--
	if err := atomicfile.SyncDir(c.cfg.AcctSpool); err != nil {
		c.log.Warn("radius accounting spool", "err", err)
	}
}

// spooled is the number of files in the spool.
func (c *Client) spooled() int {
	c.spoolMu.Lock()
	defer c.spoolMu.Unlock()
	return c.spoolFiles
}

// LoadSpool queues the records a previous run left in the spool (oldest
// event first; a session's Start before its Stop), each sent with its
// Acct-Delay-Time from the stored event time. A file that cannot be read
// is renamed *.bad and logged. It returns how many records it queued.
// Call it once, before sessions start.
func (c *Client) LoadSpool() (int, error) {
	dir := c.cfg.AcctSpool
	if dir == "" {
		return 0, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("radius: accounting spool: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("radius: accounting spool: %w", err)
	}
	var items []*acctItem
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, spoolExt) {
			continue
		}
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if err == nil && len(b) > 64<<10 {
			err = errors.New("too large")
		}
		var it *acctItem
		if err == nil {
			it, err = decodeSpool(b)
		}
		if err == nil && spoolName(it) != name {
			err = fmt.Errorf("named %s, holds %s", name, spoolName(it))
		}
		if err != nil {
			c.log.Error("radius accounting spool: unreadable record set aside", "file", path, "err", err)
			os.Rename(path, path+".bad")
			continue
		}
		it.spool = name
		items = append(items, it)
	}
	slices.SortStableFunc(items, func(a, b *acctItem) int {
		if c := a.event.Compare(b.event); c != 0 {
			return c
		}
		return int(a.st) - int(b.st) // Start (1) before Stop (2)
	})
	c.spoolMu.Lock()
	c.spoolFiles += len(items)
	c.spoolMu.Unlock()
	for _, it := range items {
		c.enqueue(it)
	}
	if len(items) > 0 {
		c.log.Info("radius accounting: records from the spool queued", "dir", dir, "records", len(items))
	}
	return len(items), nil
}
