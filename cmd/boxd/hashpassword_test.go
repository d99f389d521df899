package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/login"
)

// TestHashPassword: the printed hash verifies the password read from
// stdin and passes as [console] password_hash.
func TestHashPassword(t *testing.T) {
	var out, errw bytes.Buffer
	if err := hashPassword(nil, strings.NewReader("s3cret pw\r\nignored\n"), &out, &errw); err != nil {
		t.Fatal(err)
	}
	h := strings.TrimSpace(out.String())
	if !login.Verify(h, "s3cret pw") || login.Verify(h, "s3cret pw\r") {
		t.Fatalf("hash %q does not verify the first line", h)
	}
	c, err := config.Parse("box.toml", []byte("[console]\npassword_hash = \""+h+"\"\n"))
	if err == nil {
		err = c.Validate()
	}
	if err != nil {
		t.Fatalf("the hash does not validate as password_hash: %v", err)
	}
	for _, in := range []string{"", "\n", strings.Repeat("x", maxPassword+1)} {
		if err := hashPassword(nil, strings.NewReader(in), &out, &errw); err == nil {
			t.Errorf("password %.10q… hashed", in)
		}
	}
}
