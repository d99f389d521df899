package ppp

import (
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/mschap"
)

// recTracer records what a link traces.
type recTracer struct {
	on    atomic.Bool
	mu    sync.Mutex
	lines []string
	users []string
	calls atomic.Int32 // Trace calls, even when not on
}

func (r *recTracer) Tracing() bool { return r.on.Load() }

func (r *recTracer) Trace(layer, dir, text string) {
	r.calls.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if dir != "" {
		dir += " "
	}
	r.lines = append(r.lines, layer+" "+dir+text)
}

func (r *recTracer) Identify(user string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.users = append(r.users, user)
}

func (r *recTracer) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// TestTraceLogin: a traced server link reports LCP, the MS-CHAPv2 exchange
// with the Response and the S= masked, CCP with the MPPE bits, IPCP with
// the addresses and DNS, and names the user once; the NT-Response, the
// authenticator response and the password never show.
func TestTraceLogin(t *testing.T) {
	tr := &recTracer{}
	tr.on.Store(true)
	scfg := serverConfig()
	scfg.Tracer = tr
	fa := scfg.Authenticator.(*fakeAuth)
	srv, cli := pair(t, scfg, clientConfig())
	waitUp(t, srv, "server")
	waitUp(t, cli, "client")
	out := tr.text()
	for _, want := range []string{
		"lcp rcvd [LCP ConfReq id=",
		"lcp sent [LCP ConfAck id=",
		"<auth chap MS-v2>",
		"auth sent [CHAP Challenge id=",
		`auth rcvd [CHAP Response id=0x`,
		`<hidden 49 bytes>, name = "` + testUser + `"]`,
		`auth sent [CHAP Success id=0x`,
		`"S=<hidden> M=`,
		`auth MS-CHAPv2 peer authentication succeeded for "` + testUser + `"`,
		"ccp rcvd [CCP ConfReq id=",
		"<mppe +H -M +S -L -D -C>",
		"compression enabled",
		"ipcp sent [IPCP ConfReq id=0x1 <addr 10.79.97.1>]",
		"ipcp remote IP address 10.79.97.10",
		"ipcp primary   DNS address 192.0.2.53",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q\ntrace:\n%s", want, out)
		}
	}
	tr.mu.Lock()
	users := fmt.Sprint(tr.users)
	tr.mu.Unlock()
	if users != "["+testUser+"]" {
		t.Errorf("Identify calls %s, want [%s]", users, testUser)
	}
	fa.mu.Lock()
	req := fa.reqs[0]
	fa.mu.Unlock()
	if req.Trace != tr {
		t.Error("the AuthRequest of a traced link does not carry its Tracer")
	}
	r, err := mschap.ParseResponse(req.Response)
	if err != nil {
		t.Fatal(err)
	}
	for name, secret := range map[string]string{
		"NT-Response":         hex.EncodeToString(r.NTResponse[:]),
		"NT-Response (upper)": strings.ToUpper(hex.EncodeToString(r.NTResponse[:])),
		"password":            testPass,
		"response":            hex.EncodeToString(req.Response),
	} {
		if strings.Contains(out, secret) {
			t.Errorf("the trace shows the %s", name)
		}
	}
	if strings.Contains(out, "S=") && !strings.Contains(out, "S=<hidden>") {
		t.Error("the trace shows the authenticator response")
	}
	// The authenticator response the link sent, in full, is not there.
	var ac [16]byte
	copy(ac[:], req.Challenge)
	s := mschap.GenerateAuthenticatorResponse(testPass, r.NTResponse, r.PeerChallenge, ac, testUser)
	if strings.Contains(out, s[2:]) {
		t.Error("the trace shows the S= value")
	}
}

// TestTraceOff: a link whose tracer does not trace formats nothing, and an
// untraced link's AuthRequest carries no tracer.
func TestTraceOff(t *testing.T) {
	tr := &recTracer{}
	scfg := serverConfig()
	scfg.Tracer = tr
	srv, cli := pair(t, scfg, clientConfig())
	waitUp(t, srv, "server")
	waitUp(t, cli, "client")
	if n := tr.calls.Load(); n != 0 {
		t.Errorf("%d Trace calls on a link whose tracer is off", n)
	}
	if fa := scfg.Authenticator.(*fakeAuth); fa.reqs[0].Trace != nil {
		t.Error("an AuthRequest carries a tracer that is off")
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.users) != 1 {
		t.Errorf("Identify calls %q: a tracer waiting for the name must hear it even before it traces", tr.users)
	}
}

func TestDescribeMasks(t *testing.T) {
	resp := make([]byte, 49)
	for i := range resp {
		resp[i] = 0xa0 + byte(i%16)
	}
	tests := []struct {
		p    Packet
		want string
	}{
		{Packet{chapResponse, 1, appendCHAPValue(nil, resp, "alice")}, `[CHAP Response id=0x1 <hidden 49 bytes>, name = "alice"]`},
		{Packet{chapResponse, 2, []byte{0xff}}, `[CHAP Response id=0x2 <malformed, 1 bytes>]`},
		{Packet{chapSuccess, 3, []byte("S=0123456789ABCDEF0123456789ABCDEF01234567 M=Access granted")}, `[CHAP Success id=0x3 "S=<hidden> M=Access granted"]`},
		{Packet{chapSuccess, 4, []byte("Access granted")}, `[CHAP Success id=0x4 "Access granted"]`},
		{Packet{chapSuccess, 4, []byte("S=01 S=02 M=x")}, `[CHAP Success id=0x4 "S=<hidden> S=<hidden> M=x"]`},
		{Packet{chapFailure, 5, []byte("E=691 R=1 C=00112233445566778899AABBCCDDEEFF V=3 M=no")}, `[CHAP Failure id=0x5 "E=691 R=1 C=00112233445566778899AABBCCDDEEFF V=3 M=no"]`},
		{Packet{chapChallenge, 6, appendCHAPValue(nil, []byte{1, 2}, "pptpbox")}, `[CHAP Challenge id=0x6 <0102>, name = "pptpbox"]`},
	}
	for _, tc := range tests {
		if got := describe(ProtoCHAP, tc.p); got != tc.want {
			t.Errorf("describe = %s\n        want %s", got, tc.want)
		}
	}
	if got := describe(ProtoPAP, Packet{papAuthReq, 7, appendPAPRequest(nil, "bob", "secret")}); strings.Contains(got, "secret") {
		t.Errorf("PAP password shown: %s", got)
	}
}

// FuzzDescribeMasks: any control packet describes on one line, and a CHAP
// Response's value or a Success's S= never shows.
func FuzzDescribeMasks(f *testing.F) {
	f.Add(uint8(2), uint8(1), appendCHAPValue(nil, make([]byte, 49), "alice"))
	f.Add(uint8(3), uint8(1), []byte("S=0123456789ABCDEF0123456789ABCDEF01234567 M=ok"))
	f.Add(uint8(1), uint8(1), AppendOptions(nil, []Option{optU16(lcpMRU, 1400)}))
	f.Fuzz(func(t *testing.T, code, id uint8, data []byte) {
		p := Packet{Code: Code(code), ID: id, Data: data}
		for _, proto := range []Proto{ProtoLCP, ProtoIPCP, ProtoCCP, ProtoPAP, ProtoCHAP} {
			s := describe(proto, p)
			if strings.ContainsAny(s, "\n\r\x1b") {
				t.Fatalf("%v: line breaks or escapes in %q", proto, s)
			}
		}
		s := describe(ProtoCHAP, p)
		if p.Code == chapResponse {
			if v, err := parseCHAPValue(data); err == nil && len(v.value) >= 4 && strings.Contains(s, hex.EncodeToString(v.value)) {
				t.Fatalf("response value shown: %q", s)
			}
		}
		if p.Code == chapSuccess {
			for rest := s; ; {
				i := strings.Index(rest, "S=")
				if i < 0 {
					break
				}
				if !strings.HasPrefix(rest[i:], "S=<hidden>") {
					t.Fatalf("S= shown: %q", s)
				}
				rest = rest[i+2:]
			}
		}
	})
}
