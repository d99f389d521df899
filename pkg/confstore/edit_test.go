package confstore

import (
	"errors"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

const sample = `# pptpbox at the office
[log]
level = "info" # debug when a login fails

[pptp]
listen = ":1723"
# the pool
remote_ip = "10.79.97.10-200"
dns = [
  "8.8.8.8", # google
  "8.8.4.4",
]

# sales
[[user]]
name = "alice"
password = "alice-pw"

[[user]]
name = "bob"
password = "bob-pw"
ip = "10.79.97.5"

[nat]
tcp_mss = 1356
`

func TestSetExistingKey(t *testing.T) {
	got, err := Set(sample, "log.level", "debug")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(sample, `level = "info" #`, `level = "debug" #`, 1)
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// A multi-line value is replaced whole; the comments around stay.
	got, err = Set(sample, "pptp.dns", `["1.1.1.1"]`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "# the pool\nremote_ip = \"10.79.97.10-200\"\ndns = [\"1.1.1.1\"]\n\n# sales\n") {
		t.Errorf("multi-line value:\n%s", got)
	}
	// An element of an array of tables, by its number.
	got, err = Set(sample, "user.1.ip", `"10.79.97.6"`)
	if err != nil || !strings.Contains(got, `ip = "10.79.97.6"`) || strings.Contains(got, "10.79.97.5") {
		t.Errorf("user.1.ip: %v\n%s", err, got)
	}
}

func TestSetNewKeyInTable(t *testing.T) {
	got, err := Set(sample, "pptp.mtu", "1300")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(sample, "  \"8.8.4.4\",\n]\n", "  \"8.8.4.4\",\n]\nmtu = 1300\n", 1)
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// Indented tables keep their indentation.
	got, err = Set("[pptp]\n  mtu = 1400\n", "pptp.mppe", "allow")
	if err != nil || got != "[pptp]\n  mtu = 1400\n  mppe = \"allow\"\n" {
		t.Errorf("indent: %v %q", err, got)
	}
	// A table made by dotted keys in its parent gets the key beside them.
	got, err = Set("[lan]\ndhcp.enabled = true\n[nat]\n", "lan.dhcp.range", "192.168.1.100-199")
	if err != nil || got != "[lan]\ndhcp.enabled = true\ndhcp.range = \"192.168.1.100-199\"\n[nat]\n" {
		t.Errorf("dotted: %v %q", err, got)
	}
}

func TestSetNewTable(t *testing.T) {
	got, err := Set(sample, "radius.timeout", `"5s"`)
	if err != nil {
		t.Fatal(err)
	}
	if got != sample+"\n[radius]\ntimeout = \"5s\"\n" {
		t.Errorf("got\n%s", got)
	}
	// CRLF files get CRLF lines; a file without a last newline gets one.
	got, err = Set("[log]\r\nlevel = \"info\"", "pptp.mtu", "1300")
	if err != nil || got != "[log]\r\nlevel = \"info\"\r\n\r\n[pptp]\r\nmtu = 1300\r\n" {
		t.Errorf("crlf: %v %q", err, got)
	}
	got, err = Set("", "pptp.mtu", "1300")
	if err != nil || got != "[pptp]\nmtu = 1300\n" {
		t.Errorf("empty file: %v %q", err, got)
	}
}

// TestSetNewTableInElement: a new table inside the first of two [[user]]
// blocks goes at the end of that block, its header without the number.
func TestSetNewTableInElement(t *testing.T) {
	got, err := Set(sample, "user.0.limits.rate", "5")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(sample, "password = \"alice-pw\"\n", "password = \"alice-pw\"\n\n[user.limits]\nrate = 5\n", 1)
	if got != want {
		t.Errorf("got\n%s", got)
	}
	var m struct {
		User []struct {
			Name   string
			Limits map[string]int
		}
	}
	if _, err := toml.Decode(got, &m); err != nil || m.User[0].Limits["rate"] != 5 || m.User[1].Limits != nil {
		t.Errorf("decoded %+v, %v: want rate 5 in alice's block only", m, err)
	}
}

func TestSetRefused(t *testing.T) {
	for _, c := range []struct{ key, value string }{
		{"", "1"},
		{"pptp..mtu", "1"},
		{"pptp.m tu", "1"},
		{"pptp", "1"},                 // a table
		{"user", "1"},                 // an array of tables
		{"user.name", "x"},            // which user?
		{"user.7.name", "x"},          // no such user
		{"user.x.name", "x"},          // a user is named by its number
		{"user.01.name", "x"},         // and one way only
		{"user.x.0", "1"},             // not a table inside the last user
		{"pptp.dns.x", "1"},           // inside a value
		{"pptp.mtu", `"unterminated`}, // a broken string is not a word
		{"pptp.mtu", "[1,"},
		{"pptp.mtu", " "},
	} {
		if got, err := Set(sample, c.key, c.value); err == nil {
			t.Errorf("Set(%q, %q) = %q, want an error", c.key, c.value, got)
		}
	}
	if _, err := Set(sample, "user.7.name", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("user.7: %v, want ErrNotFound", err)
	}
	if _, err := Set("[pptp\n", "pptp.mtu", "1"); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("broken text: %v", err)
	}
}

func TestValue(t *testing.T) {
	for in, want := range map[string]string{
		"3":                      "3",
		"true":                   "true",
		`"require-128"`:          `"require-128"`,
		"require-128":            `"require-128"`,
		"  allow ":               `"allow"`,
		"hello world":            `"hello world"`,
		`a"b\c`:                  `"a\"b\\c"`,
		"1 # a comment":          "1",
		`["8.8.8.8", "1.1.1.1"]`: `["8.8.8.8", "1.1.1.1"]`,
		"1\nw = 2":               `"1\nw = 2"`, // not two keys
		"x\n[pptp]":              `"x\n[pptp]"`,
		"'lit'":                  "'lit'",
	} {
		got, err := Value(in)
		if err != nil || got != want {
			t.Errorf("Value(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestUsers(t *testing.T) {
	got, err := AddUser(sample, User{Name: "carol", Password: `c"pw`, IP: "10.79.97.7"})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(sample, "ip = \"10.79.97.5\"\n", "ip = \"10.79.97.5\"\n\n[[user]]\nname = \"carol\"\npassword = \"c\\\"pw\"\nip = \"10.79.97.7\"\n", 1)
	if got != want {
		t.Errorf("add:\n%s\nwant\n%s", got, want)
	}
	if _, err := AddUser(sample, User{Name: "bob", Password: "x"}); err == nil {
		t.Error("a second bob was added")
	}
	got, err = AddUser("[pptp]\nmtu = 1400\n", User{Name: "dave", Password: "d"})
	if err != nil || got != "[pptp]\nmtu = 1400\n\n[[user]]\nname = \"dave\"\npassword = \"d\"\n" {
		t.Errorf("first user: %v %q", err, got)
	}

	// Deleting alice takes her comment with her and leaves one blank line.
	got, err = DeleteUser(sample, "alice")
	if err != nil {
		t.Fatal(err)
	}
	want = strings.Replace(sample, "# sales\n[[user]]\nname = \"alice\"\npassword = \"alice-pw\"\n\n", "", 1)
	if got != want {
		t.Errorf("delete:\n%s\nwant\n%s", got, want)
	}
	if _, err := DeleteUser(sample, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete nobody: %v", err)
	}

	got, err = SetUserPassword(sample, "bob", "new pw")
	if err != nil || !strings.Contains(got, "name = \"bob\"\npassword = \"new pw\"\nip =") || !strings.Contains(got, "alice-pw") {
		t.Errorf("passwd: %v\n%s", err, got)
	}
	if _, err := SetUserPassword(sample, "nobody", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("passwd nobody: %v", err)
	}
	got, err = SetUserPassword("[[user]]\nname = \"e\"\n", "e", "pw")
	if err != nil || got != "[[user]]\nname = \"e\"\npassword = \"pw\"\n" {
		t.Errorf("passwd without a password line: %v %q", err, got)
	}
}

// Every edit of a TOML text that succeeds gives a TOML text in which the
// key holds the value and nothing else changed.
func TestSetKeepsTheRest(t *testing.T) {
	got, err := Set(sample, "nat.tcp_mss", "1300")
	if err != nil {
		t.Fatal(err)
	}
	var a, b map[string]any
	if _, err := toml.Decode(sample, &a); err != nil {
		t.Fatal(err)
	}
	if _, err := toml.Decode(got, &b); err != nil {
		t.Fatal(err)
	}
	a["nat"].(map[string]any)["tcp_mss"] = int64(1300)
	if !equalTOML(a, b) {
		t.Errorf("before %v\nafter %v", a, b)
	}
}
