package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
)

func TestHighlights(t *testing.T) {
	log := `using channel 1
Using interface ppp0
Connect: ppp0 <--> /dev/pts/0
sent [LCP ConfReq id=0x1 <asyncmap 0x0>]
rcvd [CHAP Failure id=0x1 "E=691 R=0 C=00 V=3 M=Authentication failed"]
CHAP authentication succeeded
MPPE 128-bit stateless compression enabled
local  IP address 10.79.97.10
remote IP address 10.79.97.1
primary   DNS address 8.8.8.8
secondary DNS address 8.8.4.4
Script /etc/ppp/ip-up started (pid 200)`
	want := []string{
		"Using interface ppp0",
		"Connect: ppp0 <--> /dev/pts/0",
		`rcvd [CHAP Failure id=0x1 "E=691 R=0 C=00 V=3 M=Authentication failed"]`,
		"CHAP authentication succeeded",
		"MPPE 128-bit stateless compression enabled",
		"local  IP address 10.79.97.10",
		"remote IP address 10.79.97.1",
		"primary   DNS address 8.8.8.8",
		"secondary DNS address 8.8.4.4",
	}
	if got := highlights(log); !slices.Equal(got, want) {
		t.Errorf("highlights:\n got %q\nwant %q", got, want)
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "usage: demo -boxd PATH"},
		{[]string{"-boxd", "x", "extra"}, "usage: demo -boxd PATH"},
		{[]string{"-nosuchflag"}, "flag provided but not defined"},
	}
	for _, tc := range tests {
		var out, errOut bytes.Buffer
		err := run(context.Background(), tc.args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error()+errOut.String(), tc.want) {
			t.Errorf("run(%q) = %v (stderr %q), want %q", tc.args, err, errOut.String(), tc.want)
		}
	}
}

func TestLastMatchAndIndent(t *testing.T) {
	log := "a msg=\"session up\" ip=1\nb\nc msg=\"session up\" ip=2\n"
	if l, ok := lastMatch(log, `session up`); !ok || !strings.HasSuffix(l, "ip=2") {
		t.Errorf("lastMatch = %q, %v", l, ok)
	}
	if _, ok := lastMatch(log, `session down`); ok {
		t.Error("lastMatch found an absent line")
	}
	if got := indent("x\ny\n"); got != "  x\n  y\n" {
		t.Errorf("indent = %q", got)
	}
	if got := indent(""); got != "" {
		t.Errorf("indent(\"\") = %q", got)
	}
}
