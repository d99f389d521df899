package radius

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/pptpbox/pptpbox/pkg/aaa"
	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// Attr is one RADIUS attribute as an operator sees it: its dictionary name
// and its value printed, secrets and keys masked ("<hidden 50 bytes>").
type Attr struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func (a Attr) String() string { return "<" + a.Name + " " + a.Value + ">" }

// attrKind says how a value prints.
type attrKind uint8

const (
	kindHex    attrKind = iota // opaque octets
	kindText                   // UTF-8 text, quoted
	kindInt                    // 32-bit integer
	kindAddr                   // IPv4 address
	kindSecret                 // never printed: its length only
)

type attrDef struct {
	name  string
	kind  attrKind
	enums map[uint32]string // names of integer values
}

// attrDefs are the RFC 2865/2866/2869/3579 attributes a PPTP NAS sends or
// may receive.
var attrDefs = map[radius.Type]attrDef{
	1:  {"User-Name", kindText, nil},
	2:  {"User-Password", kindSecret, nil},
	3:  {"CHAP-Password", kindSecret, nil},
	4:  {"NAS-IP-Address", kindAddr, nil},
	5:  {"NAS-Port", kindInt, nil},
	6:  {"Service-Type", kindInt, map[uint32]string{1: "Login-User", 2: "Framed-User", 5: "Outbound-User", 6: "Administrative-User", 8: "Authenticate-Only"}},
	7:  {"Framed-Protocol", kindInt, map[uint32]string{1: "PPP"}},
	8:  {"Framed-IP-Address", kindAddr, nil},
	9:  {"Framed-IP-Netmask", kindAddr, nil},
	10: {"Framed-Routing", kindInt, nil},
	11: {"Filter-Id", kindText, nil},
	12: {"Framed-MTU", kindInt, nil},
	13: {"Framed-Compression", kindInt, nil},
	18: {"Reply-Message", kindText, nil},
	22: {"Framed-Route", kindText, nil},
	24: {"State", kindHex, nil},
	25: {"Class", kindHex, nil},
	27: {"Session-Timeout", kindInt, nil},
	28: {"Idle-Timeout", kindInt, nil},
	29: {"Termination-Action", kindInt, nil},
	30: {"Called-Station-Id", kindText, nil},
	31: {"Calling-Station-Id", kindText, nil},
	32: {"NAS-Identifier", kindText, nil},
	40: {"Acct-Status-Type", kindInt, map[uint32]string{1: "Start", 2: "Stop", 3: "Interim-Update", 7: "Accounting-On", 8: "Accounting-Off"}},
	41: {"Acct-Delay-Time", kindInt, nil},
	42: {"Acct-Input-Octets", kindInt, nil},
	43: {"Acct-Output-Octets", kindInt, nil},
	44: {"Acct-Session-Id", kindText, nil},
	45: {"Acct-Authentic", kindInt, map[uint32]string{1: "RADIUS", 2: "Local", 3: "Remote"}},
	46: {"Acct-Session-Time", kindInt, nil},
	47: {"Acct-Input-Packets", kindInt, nil},
	48: {"Acct-Output-Packets", kindInt, nil},
	49: {"Acct-Terminate-Cause", kindInt, map[uint32]string{1: "User-Request", 2: "Lost-Carrier", 3: "Lost-Service", 4: "Idle-Timeout",
		5: "Session-Timeout", 6: "Admin-Reset", 7: "Admin-Reboot", 8: "Port-Error", 9: "NAS-Error", 10: "NAS-Request", 11: "NAS-Reboot",
		12: "Port-Unneeded", 13: "Port-Preempted", 14: "Port-Suspended", 15: "Service-Unavailable", 16: "Callback", 17: "User-Error", 18: "Host-Request"}},
	52: {"Acct-Input-Gigawords", kindInt, nil},
	53: {"Acct-Output-Gigawords", kindInt, nil},
	55: {"Event-Timestamp", kindInt, nil},
	60: {"CHAP-Challenge", kindHex, nil},
	61: {"NAS-Port-Type", kindInt, map[uint32]string{0: "Async", 5: "Virtual"}},
	62: {"Port-Limit", kindInt, nil},
	69: {"Tunnel-Password", kindSecret, nil},
	79: {"EAP-Message", kindHex, nil},
	80: {"Message-Authenticator", kindSecret, nil},
	85: {"Acct-Interim-Interval", kindInt, nil},
	87: {"NAS-Port-Id", kindText, nil},
	95: {"NAS-IPv6-Address", kindAddr, nil},
	101: {"Error-Cause", kindInt, map[uint32]string{201: "Residual-Context-Removed", 401: "Unsupported-Attribute",
		402: "Missing-Attribute", 403: "NAS-Identification-Mismatch", 404: "Invalid-Request", 405: "Unsupported-Service",
		503: "Session-Context-Not-Found", 506: "Resources-Unavailable"}},
}

// msDefs are the Microsoft vendor attributes (RFC 2548).
var msDefs = map[byte]attrDef{
	1: {"MS-CHAP-Response", kindSecret, nil},
	2: {"MS-CHAP-Error", kindText, nil},
	3: {"MS-CHAP-CPW-1", kindSecret, nil},
	4: {"MS-CHAP-CPW-2", kindSecret, nil},
	5: {"MS-CHAP-LM-Enc-PW", kindSecret, nil},
	6: {"MS-CHAP-NT-Enc-PW", kindSecret, nil},
	7: {"MS-MPPE-Encryption-Policy", kindInt, map[uint32]string{1: "Encryption-Allowed", 2: "Encryption-Required"}},
	// Names as FreeRADIUS's and layeh's dictionaries have them; other
	// values (FreeRADIUS's mschap sends 4 and 6 as bit masks) as numbers.
	8:  {"MS-MPPE-Encryption-Types", kindInt, map[uint32]string{1: "RC4-40bit-Allowed", 2: "RC4-128bit-Allowed", 6: "RC4-40or128-bit-Allowed"}},
	10: {"MS-CHAP-Domain", kindText, nil},
	11: {"MS-CHAP-Challenge", kindHex, nil},
	12: {"MS-CHAP-MPPE-Keys", kindSecret, nil},
	16: {"MS-MPPE-Send-Key", kindSecret, nil},
	17: {"MS-MPPE-Recv-Key", kindSecret, nil},
	25: {"MS-CHAP2-Response", kindSecret, nil},
	// The S= authenticator response is derived from the password.
	26: {"MS-CHAP2-Success", kindSecret, nil},
	27: {"MS-CHAP2-CPW", kindSecret, nil},
	28: {"MS-Primary-DNS-Server", kindAddr, nil},
	29: {"MS-Secondary-DNS-Server", kindAddr, nil},
}

// DescribeAttributes lists p's attributes in wire order, Microsoft
// vendor attributes one by one, every secret and key masked: User-Password,
// CHAP-Password, the MS-CHAP responses and MPPE keys, MS-CHAP2-Success,
// Message-Authenticator. It never fails; a malformed attribute prints as hex.
func DescribeAttributes(p *radius.Packet) []Attr {
	var out []Attr
	for _, avp := range p.Attributes {
		if avp.Type == rfc2865.VendorSpecific_Type {
			out = appendVSA(out, avp.Attribute)
			continue
		}
		def, ok := attrDefs[avp.Type]
		if !ok {
			def = attrDef{name: fmt.Sprintf("Attr-%d", avp.Type)}
		}
		out = append(out, Attr{def.name, formatValue(def, avp.Attribute)})
	}
	return out
}

// mikrotikDefs and wisprDefs are the vendor attributes of rate limits (dictionaries/
// dictionary.mikrotik, dictionary.wispr).
var (
	mikrotikDefs = map[byte]attrDef{8: {"Mikrotik-Rate-Limit", kindText, nil}}
	wisprDefs    = map[byte]attrDef{7: {"WISPr-Bandwidth-Max-Up", kindInt, nil}, 8: {"WISPr-Bandwidth-Max-Down", kindInt, nil}}
)

// Vendor numbers (SMI Network Management Private Enterprise Codes) of
// dictionaries/dictionary.mikrotik and dictionary.wispr.
const (
	mikrotikVendor = 14988
	wisprVendor    = 14122
)

// vendors are the vendors whose attributes print by name: their name and
// the prefix of their unknown attributes.
var vendors = map[uint32]struct {
	name, prefix string
	defs         map[byte]attrDef
}{
	msVendor:       {"Microsoft", "MS", msDefs},
	mikrotikVendor: {"Mikrotik", "Mikrotik", mikrotikDefs},
	wisprVendor:    {"WISPr", "WISPr", wisprDefs},
}

func appendVSA(out []Attr, a radius.Attribute) []Attr {
	id, v, err := radius.VendorSpecific(a)
	vd, known := vendors[id]
	if err != nil || !known {
		return append(out, Attr{fmt.Sprintf("Vendor-%d", id), formatValue(attrDef{kind: kindHex}, v)})
	}
	for len(v) > 0 {
		if len(v) < 2 || int(v[1]) < 2 || int(v[1]) > len(v) {
			return append(out, Attr{vd.name + "-malformed", formatValue(attrDef{kind: kindHex}, v)})
		}
		t, val := v[0], v[2:v[1]]
		def, ok := vd.defs[t]
		if !ok {
			def = attrDef{name: fmt.Sprintf("%s-Attr-%d", vd.prefix, t)}
		}
		out = append(out, Attr{def.name, formatValue(def, val)})
		v = v[v[1]:]
	}
	return out
}

func formatValue(def attrDef, v []byte) string {
	switch def.kind {
	case kindSecret:
		return fmt.Sprintf("<hidden %d bytes>", len(v))
	case kindText:
		if def.name == "MS-CHAP-Error" && len(v) > 0 {
			v = v[1:] // the Ident octet, then "E=691 R=0 ..."
		}
		if utf8.Valid(v) {
			return fmt.Sprintf("%q", clipText(string(v)))
		}
	case kindInt:
		if len(v) == 4 {
			n := binary.BigEndian.Uint32(v)
			if name, ok := def.enums[n]; ok {
				return name
			}
			return fmt.Sprint(n)
		}
	case kindAddr:
		if a, ok := netip.AddrFromSlice(v); ok {
			return a.String()
		}
	}
	if len(v) > 32 {
		return fmt.Sprintf("0x%x… (%d bytes)", v[:32], len(v))
	}
	return fmt.Sprintf("0x%x", v)
}

func clipText(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}

// describePacket renders p on one line, pppd-style:
// `[Access-Request id=0x2a to 10.0.0.2:1812 <User-Name "alice"> ...]`.
// where is "to ADDR" or "from ADDR".
func describePacket(p *radius.Packet, where string, attrs []Attr) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%v id=0x%x %s", p.Code, p.Identifier, where)
	for _, a := range attrs {
		b.WriteByte(' ')
		b.WriteString(a.String())
	}
	b.WriteByte(']')
	return b.String()
}

// authTrace is the tracer of a login's Access-Request, nil when the link
// is not traced.
func authTrace(req *ppp.AuthRequest) ppp.Tracer {
	if t := req.Trace; t != nil && t.Tracing() {
		return t
	}
	return nil
}

// acctTrace is the tracer of a session's accounting, nil when the session
// is not traced.
func acctTrace(r aaa.Record) ppp.Tracer {
	if t := r.Trace; t != nil && t.Tracing() {
		return t
	}
	return nil
}

// traceRequest records an Access-Request built for server addr. The
// Message-Authenticator goes in first when the packet is encoded
// (signedPacket), so the line shows it there.
func traceRequest(t ppp.Tracer, p *radius.Packet, addr string) {
	attrs := append([]Attr{{"Message-Authenticator", "<hidden 16 bytes>"}}, DescribeAttributes(p)...)
	t.Trace("radius", "sent", describePacket(p, "to "+addr, attrs))
}

// traceReply records the reply that server addr gave.
func traceReply(t ppp.Tracer, p *radius.Packet, addr string) {
	t.Trace("radius", "rcvd", describePacket(p, "from "+addr, DescribeAttributes(p)))
}
