package radius

import (
	"testing"

	"layeh.com/radius"
)

// BenchmarkLogin is the client's CPU per MS-CHAPv2 login without the
// network: build and sign the Access-Request, check the Access-Accept
// (authenticators, Message-Authenticator) and turn it into the result
// (MPPE key decryption). A box that reboots with thousands of clients
// redialling does this once per client.
func BenchmarkLogin(b *testing.B) {
	c, err := New(Config{Servers: []Server{{Auth: "127.0.0.1:1", Secret: []byte("k")}}})
	if err != nil {
		b.Fatal(err)
	}
	req := mschapv2Request("alice", "alice-pw")
	server := mschapv2Server(nil)
	p, _ := c.accessRequest(req, []byte("k"), "00000001")
	wire, _ := encodeRequest(p)
	sent, _ := radius.Parse(wire, []byte("k"))
	reply, _ := encodeResponse(server(sent))
	b.ReportAllocs()
	for b.Loop() {
		p, err := c.accessRequest(req, []byte("k"), "00000001")
		if err != nil {
			b.Fatal(err)
		}
		p.Identifier, p.Authenticator = sent.Identifier, sent.Authenticator
		w, err := encodeRequest(p)
		if err != nil {
			b.Fatal(err)
		}
		got, err := checkReply(reply, w, []byte("k"), false)
		if err != nil {
			b.Fatal(err)
		}
		if res, _, why := parseReply(got, p, req); !res.OK {
			b.Fatal(why)
		}
	}
}
