package mppe

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/mschap"
	"layeh.com/radius/rfc3079"
)

// Differential check of the server's keys against layeh.com/radius/rfc3079
// MakeKey, which computes the MS-MPPE-Send-Key / Recv-Key a RADIUS server
// sends (RFC 2548 §2.4.2, §2.4.3).
func TestMatchesLayehRFC3079(t *testing.T) {
	r := rand.New(rand.NewPCG(3079, 1))
	runes := []rune("aZ9 !~éßЖ中😀")
	for i := range 200 {
		var nt [24]byte
		for j := range nt {
			nt[j] = byte(r.UintN(256))
		}
		p := make([]rune, r.IntN(30))
		for j := range p {
			p[j] = runes[r.IntN(len(runes))]
		}
		password := string(p)
		hh := mschap.HashNTPasswordHash(mschap.NTPasswordHash(password))
		send, recv := MasterKeys(hh, nt, true)
		wantSend, err := rfc3079.MakeKey(nt[:], []byte(password), true)
		if err != nil {
			t.Fatal(err)
		}
		wantRecv, err := rfc3079.MakeKey(nt[:], []byte(password), false)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(send[:], wantSend) || !bytes.Equal(recv[:], wantRecv) {
			t.Fatalf("case %d (%q): send %X recv %X, layeh %X %X", i, password, send, recv, wantSend, wantRecv)
		}
	}
}
