package ppp

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/pptpbox/pptpbox/pkg/mppe"
)

// describe renders a control packet the way pppd logs it, e.g.
// "[LCP ConfReq id=0x1 <mru 1400> <magic 0x1234abcd> <auth chap MS-v2>]",
// which every PPP engineer can read. Passwords are never printed.
func describe(proto Proto, p Packet) string {
	var b strings.Builder
	b.WriteByte('[')
	b.WriteString(proto.String())
	b.WriteByte(' ')
	switch proto {
	case ProtoPAP:
		describePAP(&b, p)
	case ProtoCHAP:
		describeCHAP(&b, p)
	default:
		describeControl(&b, proto, p)
	}
	b.WriteByte(']')
	return b.String()
}

func describeControl(b *strings.Builder, proto Proto, p Packet) {
	fmt.Fprintf(b, "%v id=0x%x", p.Code, p.ID)
	switch p.Code {
	case CodeConfReq, CodeConfAck, CodeConfNak, CodeConfRej:
		opts, err := ParseOptions(p.Data)
		if err != nil {
			fmt.Fprintf(b, " <malformed % x>", p.Data)
			return
		}
		for _, o := range opts {
			b.WriteByte(' ')
			b.WriteString(describeOption(proto, o))
		}
	case CodeTermReq, CodeTermAck:
		if len(p.Data) > 0 {
			fmt.Fprintf(b, " %q", printable(p.Data))
		}
	case CodeEchoReq, CodeEchoRep, CodeDiscReq, CodeIdent, CodeTimeRem:
		if proto == ProtoLCP && len(p.Data) >= echoMagicLen {
			fmt.Fprintf(b, " magic=0x%x", binary.BigEndian.Uint32(p.Data))
			rest := p.Data[echoMagicLen:]
			switch {
			case p.Code == CodeIdent:
				fmt.Fprintf(b, " %q", printable(rest))
			case p.Code == CodeTimeRem && len(rest) >= 4:
				fmt.Fprintf(b, " seconds=%d", binary.BigEndian.Uint32(rest))
			case len(rest) > 0:
				fmt.Fprintf(b, " % x", clip(rest))
			}
		}
	default:
		if len(p.Data) > 0 {
			fmt.Fprintf(b, " % x", clip(p.Data))
		}
	}
}

// clip keeps hex dumps of rejected packets readable.
func clip(b []byte) []byte {
	if len(b) > 32 {
		return b[:32]
	}
	return b
}

func describeOption(proto Proto, o Option) string {
	switch proto {
	case ProtoLCP:
		switch {
		case o.Type == lcpMRU && len(o.Value) == 2:
			return fmt.Sprintf("<mru %d>", binary.BigEndian.Uint16(o.Value))
		case o.Type == lcpACCM && len(o.Value) == 4:
			return fmt.Sprintf("<asyncmap 0x%x>", binary.BigEndian.Uint32(o.Value))
		case o.Type == lcpAuth:
			if ap, ok := parseAuthOption(o.Value); ok {
				return "<auth " + map[AuthProto]string{AuthPAP: "pap", AuthCHAPMD5: "chap MD5", AuthMSCHAPv1: "chap MS", AuthMSCHAPv2: "chap MS-v2"}[ap] + ">"
			}
		case o.Type == lcpMagic && len(o.Value) == 4:
			return fmt.Sprintf("<magic 0x%x>", binary.BigEndian.Uint32(o.Value))
		case o.Type == lcpPFC && len(o.Value) == 0:
			return "<pcomp>"
		case o.Type == lcpACFC && len(o.Value) == 0:
			return "<accomp>"
		}
	case ProtoIPCP:
		if a, ok := optAddr(o.Value); ok {
			switch o.Type {
			case ipcpAddress:
				return "<addr " + a.String() + ">"
			case ipcpDNS1:
				return "<ms-dns1 " + a.String() + ">"
			case ipcpDNS2:
				return "<ms-dns2 " + a.String() + ">"
			case ipcpNBNS1, ipcpNBNS2:
				return "<ms-wins " + a.String() + ">"
			}
		}
		if o.Type == ipcpCompression && len(o.Value) >= 2 {
			return fmt.Sprintf("<compress 0x%x>", binary.BigEndian.Uint16(o.Value))
		}
	case ProtoCCP:
		if o.Type == mppe.OptionType {
			if v, err := mppe.ParseBits(o.Value); err == nil {
				return v.String()
			}
		}
	}
	return fmt.Sprintf("<option %d % x>", o.Type, o.Value)
}

func describePAP(b *strings.Builder, p Packet) {
	names := map[Code]string{papAuthReq: "AuthReq", papAuthAck: "AuthAck", papAuthNak: "AuthNak"}
	name, ok := names[p.Code]
	if !ok {
		name = fmt.Sprintf("code=0x%x", uint8(p.Code))
	}
	fmt.Fprintf(b, "%s id=0x%x", name, p.ID)
	switch p.Code {
	case papAuthReq:
		if r, err := parsePAPRequest(p.Data); err == nil {
			fmt.Fprintf(b, " user=%q password=<hidden>", printable([]byte(r.user)))
		}
	case papAuthAck, papAuthNak:
		if len(p.Data) > 0 && int(p.Data[0]) <= len(p.Data)-1 {
			fmt.Fprintf(b, " %q", printable(p.Data[1:1+int(p.Data[0])]))
		}
	}
}

func describeCHAP(b *strings.Builder, p Packet) {
	names := map[Code]string{chapChallenge: "Challenge", chapResponse: "Response", chapSuccess: "Success", chapFailure: "Failure"}
	name, ok := names[p.Code]
	if !ok {
		name = fmt.Sprintf("code=0x%x", uint8(p.Code))
	}
	fmt.Fprintf(b, "%s id=0x%x", name, p.ID)
	// A Response's value (the MS-CHAP NT-Response, the CHAP-MD5 hash) can
	// be attacked offline for the password, and so can the MS-CHAPv2
	// Success's S= authenticator response: neither is printed.
	switch p.Code {
	case chapChallenge:
		if v, err := parseCHAPValue(p.Data); err == nil {
			fmt.Fprintf(b, " <%x>, name = %q", v.value, printable([]byte(v.name)))
		}
	case chapResponse:
		if v, err := parseCHAPValue(p.Data); err == nil {
			fmt.Fprintf(b, " <hidden %d bytes>, name = %q", len(v.value), printable([]byte(v.name)))
		} else {
			fmt.Fprintf(b, " <malformed, %d bytes>", len(p.Data))
		}
	case chapSuccess:
		if len(p.Data) > 0 {
			fmt.Fprintf(b, " %q", maskAuthResponse(printable(p.Data)))
		}
	case chapFailure:
		if len(p.Data) > 0 {
			fmt.Fprintf(b, " %q", printable(p.Data))
		}
	}
}
