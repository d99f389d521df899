package login

import "testing"

func TestHashVerify(t *testing.T) {
	h, err := Hash("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckHash(h); err != nil {
		t.Fatal(err)
	}
	if !Verify(h, "s3cret") {
		t.Error("the right password is refused")
	}
	if Verify(h, "s3cret ") || Verify(h, "") {
		t.Error("a wrong password is accepted")
	}
	h2, _ := Hash("s3cret")
	if h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	if CheckHash("plain") == nil {
		t.Error("a plain text password passes as a hash")
	}
	if _, err := Hash(""); err == nil {
		t.Error("an empty password is hashed")
	}
}
