package radius

import (
	"net/netip"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc3576"
	"layeh.com/radius/vendors/microsoft"

	"github.com/pptpbox/pptpbox/pkg/radius/dict/mikrotik"
	"github.com/pptpbox/pptpbox/pkg/radius/dict/wispr"
)

// TestCoA: CoA-Requests through the same source, secret and duplicate
// checks as Disconnect-Requests (Handle); what this box changes (rate
// limit, Session-Timeout) is ACKed and applied, anything else NAKed with
// its Error-Cause (RFC 5176 §3.5) and nothing applied.
func TestCoA(t *testing.T) {
	r := newDAERig(t)
	var got []Change
	var by []string
	r.d = r.c.NewDAE(DAEConfig{
		Clients:    map[netip.Addr][]byte{daeSrc: r.secret},
		HangupCall: func(uint16) bool { t.Error("a CoA hung up"); return false },
		HangupUser: func(string) int { t.Error("a CoA hung up"); return 0 },
		ChangeCall: func(id uint16, c Change) bool {
			if id != 7 {
				return false
			}
			got, by = append(got, c), append(by, "call")
			return true
		},
		ChangeUser: func(u string, c Change) int {
			if u != "alice" {
				return 0
			}
			got, by = append(got, c), append(by, "user")
			return 1
		},
		Logger: testLogger(t),
	})
	user := func(p *radius.Packet) { rfc2865.UserName_SetString(p, "alice") }
	for _, tc := range []struct {
		name    string
		attrs   func(p *radius.Packet)
		want    radius.Code
		cause   rfc3576.ErrorCause
		limit   string // the change's rate limit ("-": none)
		timeout time.Duration
		by      string
	}{
		{"rate by user", func(p *radius.Packet) { user(p); mikrotik.MikrotikRateLimit_SetString(p, "1M/4M") },
			radius.CodeCoAACK, 0, "1M/4M", -1, "user"},
		{"rate and timeout by session id", func(p *radius.Packet) {
			rfc2866.AcctSessionID_SetString(p, r.id)
			mikrotik.MikrotikRateLimit_SetString(p, "512k")
			rfc2865.SessionTimeout_Set(p, 600)
		}, radius.CodeCoAACK, 0, "512k", 10 * time.Minute, "call"},
		{"wispr", func(p *radius.Packet) {
			user(p)
			wispr.WISPrBandwidthMaxUp_Set(p, 256000)
			wispr.WISPrBandwidthMaxDown_Set(p, 2000000)
		}, radius.CodeCoAACK, 0, "256k/2M", -1, "user"},
		{"wispr zero lifts", func(p *radius.Packet) {
			user(p)
			wispr.WISPrBandwidthMaxUp_Set(p, 0)
			wispr.WISPrBandwidthMaxDown_Set(p, 0)
		}, radius.CodeCoAACK, 0, "0", -1, "user"},
		{"timeout only", func(p *radius.Packet) { user(p); rfc2865.SessionTimeout_Set(p, 30) },
			radius.CodeCoAACK, 0, "-", 30 * time.Second, "user"},
		{"bad rate", func(p *radius.Packet) { user(p); mikrotik.MikrotikRateLimit_SetString(p, "lots") },
			radius.CodeCoANAK, rfc3576.ErrorCause_Value_InvalidRequest, "", 0, ""},
		{"unsupported attribute", func(p *radius.Packet) {
			user(p)
			mikrotik.MikrotikRateLimit_SetString(p, "1M")
			rfc2865.IdleTimeout_Set(p, 60)
		}, radius.CodeCoANAK, rfc3576.ErrorCause_Value_UnsupportedAttribute, "", 0, ""},
		{"unsupported vendor attribute", func(p *radius.Packet) {
			user(p)
			rfc2865.SessionTimeout_Set(p, 30)
			microsoft.MSMPPEEncryptionPolicy_Set(p, microsoft.MSMPPEEncryptionPolicy_Value_EncryptionRequired)
		}, radius.CodeCoANAK, rfc3576.ErrorCause_Value_UnsupportedAttribute, "", 0, ""},
		{"nothing to change", user, radius.CodeCoANAK, rfc3576.ErrorCause_Value_MissingAttribute, "", 0, ""},
		{"nothing named", func(p *radius.Packet) { rfc2865.SessionTimeout_Set(p, 30) },
			radius.CodeCoANAK, rfc3576.ErrorCause_Value_MissingAttribute, "", 0, ""},
		{"unknown user", func(p *radius.Packet) { rfc2865.UserName_SetString(p, "bob"); rfc2865.SessionTimeout_Set(p, 30) },
			radius.CodeCoANAK, rfc3576.ErrorCause_Value_SessionContextNotFound, "", 0, ""},
		{"other NAS", func(p *radius.Packet) {
			user(p)
			rfc2865.SessionTimeout_Set(p, 30)
			rfc2865.NASIdentifier_SetString(p, "another-nas")
		}, radius.CodeCoANAK, rfc3576.ErrorCause_Value_NASIdentificationMismatch, "", 0, ""},
	} {
		n := len(got)
		if !r.answer(t, tc.name, radius.CodeCoARequest, tc.attrs, tc.want, tc.cause) {
			continue
		}
		if tc.want == radius.CodeCoANAK {
			if len(got) != n {
				t.Errorf("%s: NAKed, yet changed %+v", tc.name, got[n:])
			}
			continue
		}
		if len(got) != n+1 || by[n] != tc.by {
			t.Errorf("%s: changes %d, by %v", tc.name, len(got)-n, by)
			continue
		}
		c := got[n]
		switch {
		case tc.limit == "-" && c.RateLimit != nil, tc.limit != "-" && (c.RateLimit == nil || c.RateLimit.String() != tc.limit):
			t.Errorf("%s: rate limit %v, want %s", tc.name, c.RateLimit, tc.limit)
		case tc.timeout < 0 && c.SessionTimeout != nil, tc.timeout >= 0 && (c.SessionTimeout == nil || *c.SessionTimeout != tc.timeout):
			t.Errorf("%s: session timeout %v, want %v", tc.name, c.SessionTimeout, tc.timeout)
		}
	}
	// A wrong secret or an unknown source is dropped, as for Disconnect.
	req := r.request(t, radius.CodeCoARequest, []byte("wrong"), func(p *radius.Packet) { user(p); rfc2865.SessionTimeout_Set(p, 30) })
	if r.d.Handle(req, daeSrc) != nil {
		t.Error("a CoA with the wrong secret was answered")
	}
	req = r.request(t, radius.CodeCoARequest, r.secret, func(p *radius.Packet) { user(p); rfc2865.SessionTimeout_Set(p, 30) })
	if r.d.Handle(req, netip.MustParseAddr("192.0.2.99")) != nil {
		t.Error("a CoA from an unknown source was answered")
	}
	// A retransmission gets the same answer and changes nothing again.
	n := len(got)
	first := r.d.Handle(req, daeSrc)
	again := r.d.Handle(req, daeSrc)
	if first == nil || string(first) != string(again) || len(got) != n+1 {
		t.Errorf("retransmission: changes %d (want 1), same answer %v", len(got)-n, string(first) == string(again))
	}
}
