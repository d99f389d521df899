package vmtest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// The command channel's framing, one text line per step (guest-shell in
// qemu/client is the other end):
//
//	host  -> guest  "@@C <id> <base64 script> [<timeout seconds>]"
//	guest -> host   "@@B <id>", base64 lines of the output, "@@E <id> <exit status>"
//
// Lines that are not part of the frame for the awaited id (output of an
// abandoned earlier command, a restart banner "@@R") are skipped.
const (
	tagCommand = "@@C"
	tagBegin   = "@@B"
	tagEnd     = "@@E"
)

// encodeCommand frames script as the command line for id; a positive
// timeout (seconds) makes the guest kill the script after that long.
func encodeCommand(id uint64, script string, timeout int) []byte {
	b := fmt.Appendf(nil, "%s %d %s", tagCommand, id, base64.StdEncoding.EncodeToString([]byte(script)))
	if timeout > 0 {
		b = fmt.Appendf(b, " %d", timeout)
	}
	return append(b, '\n')
}

// encodeReply frames output and status the way guest-shell does (busybox
// base64 wraps at 76 columns); the tests use it as the parser's inverse.
func encodeReply(id uint64, output []byte, status int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d\n", tagBegin, id)
	enc := base64.StdEncoding.EncodeToString(output)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteByte('\n')
		enc = enc[76:]
	}
	if enc != "" {
		b.WriteString(enc)
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "%s %d %d\n", tagEnd, id, status)
	return b.Bytes()
}

// replyParser collects the reply to one command id from the guest's lines.
type replyParser struct {
	id     string
	inside bool
	b64    strings.Builder
	// Results, valid once feed reported done.
	Output []byte
	Status int
}

func newReplyParser(id uint64) *replyParser {
	return &replyParser{id: strconv.FormatUint(id, 10)}
}

// feed takes one line (without its newline) and reports whether the reply
// is complete. A malformed frame for our id is an error; anything else that
// is not ours is ignored.
func (p *replyParser) feed(line string) (done bool, err error) {
	line = strings.TrimRight(line, "\r")
	fields := strings.Fields(line)
	switch {
	case len(fields) == 2 && fields[0] == tagBegin && fields[1] == p.id:
		p.inside = true
		p.b64.Reset()
		return false, nil
	case len(fields) >= 2 && fields[0] == tagEnd && fields[1] == p.id:
		if !p.inside {
			return false, fmt.Errorf("vmtest: reply %s: end without begin", p.id)
		}
		if len(fields) != 3 {
			return false, fmt.Errorf("vmtest: reply %s: bad end line %q", p.id, line)
		}
		st, err := strconv.Atoi(fields[2])
		if err != nil || st < 0 || st > 255 {
			return false, fmt.Errorf("vmtest: reply %s: bad exit status %q", p.id, fields[2])
		}
		out, err := base64.StdEncoding.DecodeString(p.b64.String())
		if err != nil {
			return false, fmt.Errorf("vmtest: reply %s: output: %w", p.id, err)
		}
		p.Output, p.Status, p.inside = out, st, false
		return true, nil
	case p.inside:
		if strings.HasPrefix(line, "@@") {
			// Another frame started inside ours: the guest restarted its shell.
			return false, fmt.Errorf("vmtest: reply %s: interrupted by %q", p.id, line)
		}
		p.b64.WriteString(strings.TrimSpace(line))
	}
	return false, nil
}
