package aaa

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/ppp"
)

// FuzzAuthenticate feeds the local table what a peer controls in an
// authentication exchange (name, response value, PAP password) with any
// challenge and protocol: it never errors or panics, a refusal carries no
// success data, and an acceptance names a table user and carries its
// address, a PAP acceptance its exact password, and MPPE keys of 16 octets.
func FuzzAuthenticate(f *testing.F) {
	for _, s := range []struct {
		proto     ppp.AuthProto
		user      string
		ident     uint8
		challenge string
		response  string
	}{
		{ppp.AuthPAP, "test", 0, "", hex.EncodeToString([]byte("test.test"))},
		{ppp.AuthCHAPMD5, "test", 0x2a, "00112233445566778899aabbccddeeff", "0ff0a3594a394b53d963ef84f80eb012"},
		// RFC 2433 Appendix B.
		{ppp.AuthMSCHAPv1, "v1", 0, "102DB5DF085D3041",
			strings.Repeat("00", 24) + "4E9D3C8F9CFD385D5BF4D3246791956CA4C351AB409A3D61" + "01"},
		// RFC 2759 §9.2.
		{ppp.AuthMSCHAPv2, `WORKGROUP\User`, 0, "5B5D7C7D7B3F2F3E3C2C602132262628",
			"21402324255E262A28295F2B3A337C7E" + "0000000000000000" +
				"82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF" + "00"},
	} {
		ch, _ := hex.DecodeString(s.challenge)
		resp, _ := hex.DecodeString(s.response)
		f.Add(uint8(s.proto), s.user, s.ident, ch, resp) // each one accepted
	}
	l := testTable()
	f.Fuzz(func(t *testing.T, proto uint8, user string, ident uint8, challenge, response []byte) {
		req := &ppp.AuthRequest{Proto: ppp.AuthProto(proto), User: user, Ident: ident, Challenge: challenge, Response: response}
		if req.Proto == ppp.AuthPAP {
			req.Password, req.Response = response, nil
		}
		res, err := l.Authenticate(context.Background(), req)
		if err != nil || res == nil || res.Message == "" {
			t.Fatalf("Authenticate = %+v, %v", res, err)
		}
		if !res.OK {
			if res.AuthenticatorResponse != "" || res.MPPESendKey != nil || res.MPPERecvKey != nil || res.FramedIP.IsValid() {
				t.Fatalf("refusal carries success data: %+v", res)
			}
			return
		}
		u, known := l.lookup(user)
		if !known || res.FramedIP != u.IP {
			t.Fatalf("accepted %q (known %v) with address %v, table has %+v", user, known, res.FramedIP, u)
		}
		if req.Proto == ppp.AuthPAP && !bytes.Equal(response, []byte(u.Password)) {
			t.Fatalf("PAP accepted %q for %q", response, user)
		}
		for _, k := range [][]byte{res.MPPESendKey, res.MPPERecvKey} {
			if k != nil && len(k) != 16 {
				t.Fatalf("MPPE key of %d octets", len(k))
			}
		}
		if req.Proto == ppp.AuthMSCHAPv2 && (len(res.AuthenticatorResponse) != 42 || !strings.HasPrefix(res.AuthenticatorResponse, "S=")) {
			t.Fatalf("authenticator response %q", res.AuthenticatorResponse)
		}
	})
}
