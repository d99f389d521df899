// Package remotelog sends a daemon's log/slog records to a syslog server
// as RFC 5424 messages over UDP (RFC 5426), beside its own log output.
//
// Handler fans each record out to the handler it wraps and to a Writer.
// The Writer never makes the logger wait: records queue on a bounded
// channel and one goroutine formats and sends them; a full queue or a
// socket error drops the record and counts it (Stats), so a dead or slow
// syslog server cannot stall the dataplane that logs.
//
// # Message shape (RFC 5424 §6)
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - [boxd@32473 key="value" ...] msg
//
// PRI is facility daemon (3) with the slog level's severity; the
// record's attributes travel as the parameters of one structured-data
// element (keys of groups joined with "."), so that a receiver can filter
// on them; the message text is slog's message. 32473 is the private
// enterprise number RFC 5612 reserves for examples: a box shipped under a
// registered number changes SDID.
package remotelog

import (
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// SDID is the structured-data element the attributes go in.
const SDID = "boxd@32473"

// MaxMessage is the longest message sent: RFC 5426 §3.2 asks receivers to
// take 2048 octets; longer messages are cut (the text first, then the
// attributes from the last).
const MaxMessage = 2048

// maxValue bounds one parameter value (before escaping).
const maxValue = 512

const facilityDaemon = 3

// Header is what every message of one sender has.
type Header struct {
	Hostname string
	AppName  string
	ProcID   string
}

// Message is one syslog message, as Parse reads it back.
type Message struct {
	Priority  int
	Timestamp time.Time // zero: "-"
	Header
	MsgID  string
	Params []Param // of the SDID element, in order
	Text   string
}

// Param is one SD-PARAM.
type Param struct{ Name, Value string }

// Severity maps a slog level onto RFC 5424 §6.2.1 severities.
func Severity(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3 // error
	case l >= slog.LevelWarn:
		return 4 // warning
	case l >= slog.LevelInfo:
		return 6 // informational
	}
	return 7 // debug
}

// Format appends the RFC 5424 message for a record at t, level l, with
// text msg and attributes ps, to b.
func Format(b []byte, h Header, t time.Time, l slog.Level, msg string, ps []Param) []byte {
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(facilityDaemon*8+Severity(l)), 10)
	b = append(b, ">1 "...)
	if t.IsZero() {
		b = append(b, '-')
	} else {
		b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	}
	b = append(b, ' ')
	b = appendHeaderField(b, h.Hostname, 255)
	b = append(b, ' ')
	b = appendHeaderField(b, h.AppName, 48)
	b = append(b, ' ')
	b = appendHeaderField(b, h.ProcID, 128)
	b = append(b, " - "...) // MSGID
	start := len(b)
	n := len(ps)
	for {
		b = appendSD(b[:start], ps[:n])
		if len(b)+1 <= MaxMessage || n == 0 {
			break
		}
		n-- // too long even without text: drop the last attributes
	}
	msg = strings.ToValidUTF8(msg, "\uFFFD")
	if len(msg) > 0 {
		room := MaxMessage - len(b) - 1
		if room < len(msg) {
			msg = cutUTF8(msg, max(room, 0))
		}
		if msg != "" {
			b = append(b, ' ')
			b = append(b, msg...)
		}
	}
	return b
}

// appendHeaderField writes a header field: PRINTUSASCII (33-126) only, at
// most n octets; empty is the NILVALUE "-".
func appendHeaderField(b []byte, s string, n int) []byte {
	start := len(b)
	for i := 0; i < len(s) && len(b)-start < n; i++ {
		if c := s[i]; c >= 33 && c <= 126 {
			b = append(b, c)
		}
	}
	if len(b) == start {
		b = append(b, '-')
	}
	return b
}

// appendSD writes the SDID element with ps, or "-" when ps is empty
// (RFC 5424 §6.3).
func appendSD(b []byte, ps []Param) []byte {
	if len(ps) == 0 {
		return append(b, '-')
	}
	b = append(b, '[')
	b = append(b, SDID...)
	for _, p := range ps {
		b = append(b, ' ')
		b = append(b, SDName(p.Name)...)
		b = append(b, '=', '"')
		v := cutUTF8(strings.ToValidUTF8(p.Value, "\uFFFD"), maxValue)
		for i := 0; i < len(v); i++ {
			// §6.3.3: '"', '\' and ']' are escaped with a backslash.
			if c := v[i]; c == '"' || c == '\\' || c == ']' {
				b = append(b, '\\')
			}
			b = append(b, v[i])
		}
		b = append(b, '"')
	}
	return append(b, ']')
}

// SDName makes s a PARAM-NAME (§6.3.3): 1 to 32 PRINTUSASCII other than
// '=', ' ', ']' and '"'; other characters become '_'.
func SDName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 32; i++ {
		c := s[i]
		if c < 33 || c > 126 || c == '=' || c == ']' || c == '"' {
			c = '_'
		}
		b.WriteByte(c)
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// cutUTF8 cuts s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
