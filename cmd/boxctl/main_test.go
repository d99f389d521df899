package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/control"
)

// TestUsage: -h and a missing command name every command boxd serves.
func TestUsage(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-h"}, &out); err != nil {
		t.Fatalf("-h: %v", err)
	}
	err := run(nil, &bytes.Buffer{})
	if err == nil {
		t.Fatal("no command: no error")
	}
	for _, c := range control.Commands {
		if !strings.Contains(out.String(), "  "+c.Name+" ") {
			t.Errorf("-h does not list %q:\n%s", c.Name, out.String())
		}
		if !strings.Contains(err.Error(), c.Name) {
			t.Errorf("usage error does not list %q: %v", c.Name, err)
		}
	}
	if !strings.Contains(out.String(), "-socket") {
		t.Errorf("-h does not list the flags:\n%s", out.String())
	}
}
