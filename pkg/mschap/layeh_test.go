package mschap

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"layeh.com/radius/rfc2759"
)

// randomCredentials gives reproducible test inputs: ASCII user names (no
// backslash: layeh hashes a domain prefix, RFC 2759 §8.2 does not) and
// passwords that include non-ASCII and non-BMP runes.
func randomCredentials(r *rand.Rand) (auth, peer [16]byte, user, password string) {
	for i := range auth {
		auth[i], peer[i] = byte(r.UintN(256)), byte(r.UintN(256))
	}
	const userChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@"
	u := make([]byte, 1+r.IntN(20))
	for i := range u {
		u[i] = userChars[r.IntN(len(userChars))]
	}
	runes := []rune("aZ9 !~éßЖ中😀")
	p := make([]rune, r.IntN(30))
	for i := range p {
		p[i] = runes[r.IntN(len(runes))]
	}
	return auth, peer, string(u), string(p)
}

// Differential check against layeh.com/radius/rfc2759, an independent
// implementation the RADIUS side of the project also relies on.
func TestMatchesLayehRFC2759(t *testing.T) {
	r := rand.New(rand.NewPCG(2759, 1))
	for i := range 300 {
		auth, peer, user, password := randomCredentials(r)
		want, err := rfc2759.GenerateNTResponse(auth[:], peer[:], []byte(user), []byte(password))
		if err != nil {
			t.Fatal(err)
		}
		got := GenerateNTResponse(auth, peer, user, password)
		if !bytes.Equal(got[:], want) {
			t.Fatalf("case %d (%q, %q): NT-Response %X, layeh %X", i, user, password, got, want)
		}
		wantS, err := rfc2759.GenerateAuthenticatorResponse(auth[:], peer[:], want, []byte(user), []byte(password))
		if err != nil {
			t.Fatal(err)
		}
		if gotS := GenerateAuthenticatorResponse(password, got, peer, auth, user); gotS != wantS {
			t.Fatalf("case %d: authenticator response %s, layeh %s", i, gotS, wantS)
		}
	}
}
