package radius

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"unicode/utf8"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
)

// Attr is one RADIUS attribute as an operator reads it: its dictionary name
// and its value printed by type. Secrets and keys are never printed.
type Attr struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Masked is the value printed for a secret or a key.
const Masked = "****"

// attrKind says how to print a value.
type attrKind int

const (
	kindOctets attrKind = iota // hex
	kindText                   // UTF-8 text (hex when it is not)
	kindAddr                   // IPv4 address
	kindInt                    // 32-bit integer
	kindSecret                 // masked
)

type attrDef struct {
	name string
	kind attrKind
}

// attrDefs are the RFC 2865/2866/2869 attributes a NAS meets, by type.
var attrDefs = map[radius.Type]attrDef{
	1:  {"User-Name", kindText},
	2:  {"User-Password", kindSecret},
	3:  {"CHAP-Password", kindSecret},
	4:  {"NAS-IP-Address", kindAddr},
	5:  {"NAS-Port", kindInt},
	6:  {"Service-Type", kindInt},
	7:  {"Framed-Protocol", kindInt},
	8:  {"Framed-IP-Address", kindAddr},
	9:  {"Framed-IP-Netmask", kindAddr},
	10: {"Framed-Routing", kindInt},
	11: {"Filter-Id", kindText},
	12: {"Framed-MTU", kindInt},
	13: {"Framed-Compression", kindInt},
	18: {"Reply-Message", kindText},
	22: {"Framed-Route", kindText},
	25: {"Class", kindOctets},
	27: {"Session-Timeout", kindInt},
	28: {"Idle-Timeout", kindInt},
	29: {"Termination-Action", kindInt},
	30: {"Called-Station-Id", kindText},
	31: {"Calling-Station-Id", kindText},
	32: {"NAS-Identifier", kindText},
	40: {"Acct-Status-Type", kindInt},
	44: {"Acct-Session-Id", kindText},
	45: {"Acct-Authentic", kindInt},
	49: {"Acct-Terminate-Cause", kindInt},
	55: {"Event-Timestamp", kindInt},
	60: {"CHAP-Challenge", kindOctets},
	61: {"NAS-Port-Type", kindInt},
	62: {"Port-Limit", kindInt},
	69: {"Tunnel-Password", kindSecret},
	79: {"EAP-Message", kindOctets},
	80: {"Message-Authenticator", kindSecret},
	85: {"Acct-Interim-Interval", kindInt},
	87: {"NAS-Port-Id", kindText},
}

// msDefs are the Microsoft vendor attributes (RFC 2548), by vendor type.
var msDefs = map[byte]attrDef{
	1:              {"MS-CHAP-Response", kindSecret},
	msCHAPError:    {"MS-CHAP-Error", kindText},
	3:              {"MS-CHAP-CPW-1", kindSecret},
	4:              {"MS-CHAP-CPW-2", kindSecret},
	5:              {"MS-CHAP-LM-Enc-PW", kindSecret},
	6:              {"MS-CHAP-NT-Enc-PW", kindSecret},
	msEncPolicy:    {"MS-MPPE-Encryption-Policy", kindInt},
	msEncTypes:     {"MS-MPPE-Encryption-Types", kindInt},
	10:             {"MS-CHAP-Domain", kindText},
	11:             {"MS-CHAP-Challenge", kindOctets},
	msCHAPMPPEKeys: {"MS-CHAP-MPPE-Keys", kindSecret},
	msMPPESendKey:  {"MS-MPPE-Send-Key", kindSecret},
	msMPPERecvKey:  {"MS-MPPE-Recv-Key", kindSecret},
	25:             {"MS-CHAP2-Response", kindSecret},
	msCHAP2Success: {"MS-CHAP2-Success", kindText},
	27:             {"MS-CHAP2-CPW", kindSecret},
}

// PacketAttrs prints p's attributes in order, Microsoft vendor attributes
// one by one: what an operator may see of a request or a reply. Passwords,
// MS-CHAP responses, MPPE keys and the Message-Authenticator are printed as
// Masked, whatever their content. Malformed values are printed as hex.
func PacketAttrs(p *radius.Packet) []Attr {
	var out []Attr
	for _, avp := range p.Attributes {
		if avp.Type != rfc2865.VendorSpecific_Type {
			def, ok := attrDefs[avp.Type]
			if !ok {
				def = attrDef{fmt.Sprintf("Attr-%d", avp.Type), kindOctets}
			}
			out = append(out, Attr{def.name, printValue(def.kind, avp.Attribute)})
			continue
		}
		id, v, err := radius.VendorSpecific(avp.Attribute)
		if err != nil {
			out = append(out, Attr{"Vendor-Specific", printValue(kindOctets, avp.Attribute)})
			continue
		}
		if id != msVendor {
			out = append(out, Attr{fmt.Sprintf("Vendor-%d", id), printValue(kindOctets, v)})
			continue
		}
		for len(v) > 0 {
			if len(v) < 2 || int(v[1]) < 2 || int(v[1]) > len(v) {
				out = append(out, Attr{"MS-malformed", printValue(kindOctets, v)})
				break
			}
			t, val := v[0], v[2:v[1]]
			def, ok := msDefs[t]
			if !ok {
				def = attrDef{fmt.Sprintf("MS-%d", t), kindOctets}
			}
			out = append(out, Attr{def.name, printValue(def.kind, val)})
			v = v[v[1]:]
		}
	}
	return out
}

func printValue(k attrKind, v []byte) string {
	switch k {
	case kindSecret:
		return Masked
	case kindText:
		if utf8.Valid(v) { // %q escapes control characters: none reaches a terminal
			return fmt.Sprintf("%q", v)
		}
	case kindAddr:
		if a, ok := netip.AddrFromSlice(v); ok && len(v) == 4 {
			return a.String()
		}
	case kindInt:
		if len(v) == 4 {
			return fmt.Sprint(binary.BigEndian.Uint32(v))
		}
	}
	return "0x" + hex.EncodeToString(v)
}
