package mschap

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Failure codes of the MS-CHAP Failure message (RFC 2759 §6, RFC 2433 §3).
const (
	ErrorRestrictedLogonHours  = 646
	ErrorAcctDisabled          = 647
	ErrorPasswdExpired         = 648
	ErrorNoDialinPermission    = 649
	ErrorAuthenticationFailure = 691
	ErrorChangingPassword      = 709
)

// Failure is the text of an MS-CHAP Failure packet's Message field
// (RFC 2759 §6; RFC 2433 §3 for version 1, whose challenge is 8 octets):
//
//	E=eeeeeeeeee R=r C=cccccccccccccccccccccccccccccccc V=vvvvvvvvvv M=<msg>
type Failure struct {
	Code  int  // E=: one of the Error* codes
	Retry bool // R=1: the peer may retry on this link
	// Challenge is C=: the authenticator's next challenge, 16 octets for
	// MS-CHAPv2 and 8 for MS-CHAPv1; nil when the message has none.
	Challenge []byte
	Version   int    // V=: 3 for MS-CHAPv2 (RFC 2759 §6), 0 when absent
	Message   string // M=: free text for the user, the rest of the string
}

// FailureMessage formats the MS-CHAPv2 Failure text exactly as RFC 2759 §6
// shows it and Windows expects: "E=691 R=0 C=<32 upper-case hex> V=3 M=text".
func FailureMessage(code int, authChallenge [16]byte, retryAllowed bool, text string) string {
	return Failure{Code: code, Retry: retryAllowed, Challenge: authChallenge[:], Version: 3, Message: text}.String()
}

// String formats f in wire order. "M=" is always present, as Windows peers
// expect; C= and V= only when set.
func (f Failure) String() string {
	var b strings.Builder
	b.Grow(64 + len(f.Message))
	b.WriteString("E=")
	b.WriteString(strconv.Itoa(f.Code))
	if f.Retry {
		b.WriteString(" R=1")
	} else {
		b.WriteString(" R=0")
	}
	if f.Challenge != nil {
		b.WriteString(" C=")
		b.WriteString(strings.ToUpper(hex.EncodeToString(f.Challenge)))
	}
	if f.Version != 0 {
		b.WriteString(" V=")
		b.WriteString(strconv.Itoa(f.Version))
	}
	b.WriteString(" M=")
	b.WriteString(f.Message)
	return b.String()
}

// ParseFailure decodes a Failure message text, as the peer side of
// MS-CHAP does. E= is required; R=, C=, V= and M= are optional, each at most
// once, and M= takes the rest of the text (it may contain spaces). Unknown
// fields before M= are skipped, as future versions may add some.
func ParseFailure(s string) (Failure, error) {
	var f Failure
	var seen [5]bool // E R C V M
	rest := s
	for rest != "" {
		var tok string
		if strings.HasPrefix(rest, "M=") {
			tok, rest = rest, ""
		} else if i := strings.IndexByte(rest, ' '); i >= 0 {
			tok, rest = rest[:i], rest[i+1:]
		} else {
			tok, rest = rest, ""
		}
		if tok == "" {
			continue // tolerate doubled spaces
		}
		if len(tok) < 2 || tok[1] != '=' {
			return Failure{}, fmt.Errorf("mschap: failure message: bad field %q", short(tok))
		}
		key, val := tok[0], tok[2:]
		idx := strings.IndexByte("ERCVM", key)
		if idx < 0 {
			continue
		}
		if seen[idx] {
			return Failure{}, fmt.Errorf("mschap: failure message: duplicate %c=", key)
		}
		seen[idx] = true
		var err error
		switch key {
		case 'E':
			f.Code, err = parseDecimal(val)
		case 'R':
			switch val {
			case "0":
			case "1":
				f.Retry = true
			default:
				err = fmt.Errorf("not 0 or 1")
			}
		case 'C':
			if len(val) != 16 && len(val) != 32 {
				err = fmt.Errorf("length %d, want 16 or 32 hex digits", len(val))
				break
			}
			f.Challenge, err = hex.DecodeString(val)
		case 'V':
			f.Version, err = parseDecimal(val)
		case 'M':
			f.Message = val
		}
		if err != nil {
			return Failure{}, fmt.Errorf("mschap: failure message: %c=%q: %v", key, short(val), err)
		}
	}
	if !seen[0] {
		return Failure{}, fmt.Errorf("mschap: failure message: no E= field in %q", short(s))
	}
	return f, nil
}

// parseDecimal accepts 1 to 10 ASCII digits: the width RFC 2759 §6 gives
// E= and V= fields, which also keeps the value inside an int.
func parseDecimal(s string) (int, error) {
	if len(s) == 0 || len(s) > 10 {
		return 0, fmt.Errorf("want 1 to 10 digits")
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("not a decimal number")
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// short bounds peer-supplied text quoted in errors.
func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
