package ppp

import (
	"context"
	"strings"
	"testing"
)

// requireMPPE is a RADIUS-like authenticator whose accept carries an
// MS-MPPE-Encryption-Policy of "required" (AuthResult.MPPERequired).
type requireMPPE struct{ Authenticator }

func (a requireMPPE) Authenticate(ctx context.Context, req *AuthRequest) (*AuthResult, error) {
	res, err := a.Authenticator.Authenticate(ctx, req)
	if res != nil && res.OK {
		res.MPPERequired = true
	}
	return res, err
}

// TestAuthResultTightensMPPE: an authenticator's MPPERequired makes MPPE
// required whatever the config says (DESIGN.md "Config sets floors"): the
// link comes up encrypted both ways or not at all.
func TestAuthResultTightensMPPE(t *testing.T) {
	cases := []struct {
		name     string
		server   MPPEPolicy
		client   MPPEPolicy
		wantMPPE string // "" => the link must go down, never up
	}{
		{"config off, peer allows", MPPEPolicy{}, MPPEPolicy{Allowed: true, Bits128: true}, "MPPE 128-bit stateless"},
		{"config allowed, peer allows", MPPEPolicy{Allowed: true, Bits128: true}, MPPEPolicy{Allowed: true, Bits128: true}, "MPPE 128-bit stateless"},
		{"config allowed, peer off", MPPEPolicy{Allowed: true, Bits128: true}, MPPEPolicy{}, ""},
		{"config off, peer off", MPPEPolicy{}, MPPEPolicy{}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			scfg, ccfg := serverConfig(), clientConfig()
			scfg.Authenticator = requireMPPE{scfg.Authenticator}
			scfg.MPPE, ccfg.MPPE = tc.server, tc.client
			srv, cli := pair(t, scfg, ccfg)
			if tc.wantMPPE == "" {
				if r := waitDown(t, srv, "server"); !strings.Contains(r, "MPPE") {
					t.Fatalf("down reason %q does not name MPPE", r)
				}
				return
			}
			up := waitUp(t, srv, "server")
			waitUp(t, cli, "client")
			if up.MPPE != tc.wantMPPE {
				t.Fatalf("server up with %q, want %q\nlog:\n%s", up.MPPE, tc.wantMPPE, srv.logs)
			}
			pkt := ipPacket(100, 7)
			if err := cli.link.WriteIP(pkt); err != nil {
				t.Fatal(err)
			}
			waitIP(t, srv, pkt)
			if p := frameProtos(cli.frames()); p[ProtoIPv4] != 0 {
				t.Fatalf("client sent %d plaintext IP frames", p[ProtoIPv4])
			}
		})
	}
}
