package radius

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"layeh.com/radius"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/vendors/microsoft"

	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// fuzzSecret and fuzzRequest are the request every fuzzed reply answers.
var fuzzSecret = []byte("fuzz-secret")

func fuzzRequest() (*radius.Packet, []byte) {
	p := radius.New(radius.CodeAccessRequest, fuzzSecret)
	p.Identifier = 0x21
	for i := range p.Authenticator {
		p.Authenticator[i] = byte(i)
	}
	b, err := encodeRequest(p)
	if err != nil {
		panic(err)
	}
	return p, b
}

// FuzzReply: any bytes as the reply to an Access-Request: the checks and
// the attribute parsing never panic, an accepted reply gives a usable
// result, and the packet layer round-trips (parse -> encode -> parse).
func FuzzReply(f *testing.F) {
	req, wire := fuzzRequest()
	for _, proto := range []ppp.AuthProto{ppp.AuthMSCHAPv2, ppp.AuthMSCHAPv1} {
		for _, code := range []radius.Code{radius.CodeAccessAccept, radius.CodeAccessReject} {
			for _, signed := range []bool{true, false} {
				resp := req.Response(code)
				b, _ := encodeReply(resp, signed)
				f.Add(b, uint8(proto))
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, proto uint8) {
		// Strict (the default) and lenient (require_message_authenticator
		// off) checks: what strict takes, lenient takes too, and it is
		// signed: the one HMAC-MD5 over it matches under the secret.
		strict, serr := checkReply(b, wire, fuzzSecret, false)
		lenient, lerr := checkReply(b, wire, fuzzSecret, true)
		if serr == nil {
			if lerr != nil || lenient.Code != strict.Code {
				t.Fatalf("strict took it, lenient: %v", lerr)
			}
			n := int(b[2])<<8 | int(b[3])
			off := findAttr(b[:n], 80)
			if off < 0 || b[off+1] != 18 {
				t.Fatalf("strict took an unsigned %v", strict.Code)
			}
		} else if lerr == nil && !errors.Is(serr, errNoMsgAuth) {
			t.Fatalf("lenient took what strict refused for %v", serr)
		}
		p, err := radius.Parse(b, fuzzSecret)
		if err != nil {
			return
		}
		r := mschapv2Request("alice", "alice-pw")
		r.Proto = ppp.AuthProto(proto % 5)
		if r.Proto == ppp.AuthMSCHAPv1 {
			r.Challenge = r.Challenge[:8]
		}
		res, l, why := parseReply(p, req, r)
		if res == nil || res.OK == (why != "") || res.OK != (l != nil) {
			t.Fatalf("parseReply = %+v, %+v, %q", res, l, why)
		}
		if res.OK && r.Proto == ppp.AuthMSCHAPv2 && len(res.AuthenticatorResponse) != 42 {
			t.Fatalf("accepted with S= %q", res.AuthenticatorResponse)
		}
		if n := len(res.MPPESendKey); n != 0 && n != 16 {
			t.Fatalf("send key of %d octets", n)
		}
		_, _ = mppeKey(microsoft.MSMPPESendKey_Lookup(p, req))
		enc, err := p.MarshalBinary()
		if err != nil {
			return // too long once re-encoded is not possible: same bytes
		}
		q, err := radius.Parse(enc, fuzzSecret)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		enc2, _ := q.MarshalBinary()
		if !bytes.Equal(enc, enc2) || q.Code != p.Code || q.Identifier != p.Identifier || len(q.Attributes) != len(p.Attributes) {
			t.Fatalf("round trip differs:\n% x\n% x", enc, enc2)
		}
	})
}

// FuzzSpool feeds the accounting spool's parser any file: it never
// panics, and what it accepts is a Start or a Stop with a session id safe
// as a file name, that encodes back to a file it accepts the same.
func FuzzSpool(f *testing.F) {
	f.Add([]byte(`{"v":1,"status":2,"session_id":"65A1B2C300000001","class":["Y2xz"],"event":1700000000000000000,"user":"alice","peer":"198.51.100.7","ip":"10.79.97.10","call_id":3,"time_ns":42000000000,"bytes_in":21474836487,"bytes_out":1234,"pkts_in":10,"pkts_out":20,"cause":1}`))
	f.Add([]byte(`{"v":1,"status":1,"session_id":"AB","event":0,"user":"x","call_id":0}`))
	f.Add([]byte(`{"v":1,"status":3,"session_id":"AB","user":"x"}`))
	f.Add([]byte(`{"v":1,"status":2,"session_id":"../x","user":"x"}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := decodeSpool(b)
		if err != nil {
			return
		}
		if it.st != rfc2866.AcctStatusType_Value_Start && it.st != rfc2866.AcctStatusType_Value_Stop {
			t.Fatalf("status %v accepted", it.st)
		}
		name := spoolName(it)
		if strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
			t.Fatalf("file name %q", name)
		}
		again, err := encodeSpool(it)
		if err != nil {
			t.Fatal(err)
		}
		it2, err := decodeSpool(again)
		if err != nil {
			t.Fatalf("re-encoded %s: %v", again, err)
		}
		if spoolName(it2) != name || it2.rec.BytesIn != it.rec.BytesIn || it2.rec.User != it.rec.User || !it2.event.Equal(it.event) || it2.rec.IP != it.rec.IP {
			t.Fatalf("round trip %+v != %+v", it2, it)
		}
	})
}
