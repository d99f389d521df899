package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/login"
)

func TestConsoleSection(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    bool   // Console.DebugShell after a successful load
		wantErr string // substring of the error ("" = valid)
		line    int    // the error's line when wantErr is set
	}{
		{name: "absent", in: "[log]\nlevel = \"info\"\n", want: false},
		{name: "on", in: "[console]\ndebug_shell = true\n", want: true},
		{name: "off", in: "[console]\ndebug_shell = false\n", want: false},
		{name: "empty section", in: "[console]\n", want: false},
		{name: "string", in: "[log]\nlevel = \"info\"\n[console]\ndebug_shell = \"yes\"\n", wantErr: "debug_shell", line: 4},
		{name: "unknown key", in: "[console]\ndebug_shell = true\nbaud = 9600\n", wantErr: "console.baud: unknown key", line: 3},
		{name: "not a table", in: "console = 1\n", wantErr: "console", line: 1},
		{name: "hash", in: "[console]\npassword_hash = \"" + testHash + "\"\n"},
		{name: "plain password", in: "[log]\n[console]\npassword_hash = \"secret\"\n", wantErr: "console.password_hash: not a bcrypt hash (make one with boxd hash-password)", line: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("box.toml", []byte(tt.in))
			if err == nil {
				err = c.Validate()
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if c.Console.DebugShell != tt.want {
					t.Fatalf("debug_shell = %v, want %v", c.Console.DebugShell, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want an error about %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not mention %q", err, tt.wantErr)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *config.Error", err)
			}
			if ce.File != "box.toml" || ce.Line != tt.line {
				t.Fatalf("error at %s:%d, want box.toml:%d (%v)", ce.File, ce.Line, tt.line, err)
			}
		})
	}
}

// testHash is login.Hash("s3cret").
const testHash = "$2a$10$r05.uhy3CdGpF4tHCHvHuutgbtbmDEgzueD8HoVq5Xq.9aNbST.Cm"

func TestConsoleHashVerifies(t *testing.T) {
	if !login.Verify(testHash, "s3cret") {
		t.Fatal("testHash is not a hash of s3cret")
	}
}

// TestConsoleDefault: a config without [console] gives no debug shell.
func TestConsoleDefault(t *testing.T) {
	if Default().Console.DebugShell {
		t.Fatal("the default config must not offer a debug shell")
	}
}
