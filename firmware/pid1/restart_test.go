package pid1

import (
	"strings"
	"testing"
	"time"
)

// TestRestartPolicy replays sequences of boxd exits (run time, exit code, reason) through the
// policy and checks each decision: the wait before the next start, or giving up.
func TestRestartPolicy(t *testing.T) {
	type exit struct {
		ran  time.Duration
		code int
		why  string
		wait time.Duration // want; ignored when give is set
		give string        // want giveUp to contain this ("" : restart)
	}
	quick := 200 * time.Millisecond
	tests := []struct {
		name  string
		exits []exit
	}{
		{"unfixable stops at once", []exit{
			{quick, ExitUnfixable, "exit status 78: config: no interface", 0, "cannot fix: exit status 78: config: no interface"},
		}},
		{"a crash loop with the same words gives up on the fifth", []exit{
			{quick, 1, "exit status 1: boom", 500 * time.Millisecond, ""},
			{quick, 1, "exit status 1: boom", time.Second, ""},
			{quick, 1, "exit status 1: boom", 2 * time.Second, ""},
			{quick, 1, "exit status 1: boom", 4 * time.Second, ""},
			{quick, 1, "exit status 1: boom", 0, "5 times in a row with the same error, a restart does not fix it: exit status 1: boom"},
		}},
		{"different reasons keep restarting with backoff", []exit{
			{quick, 1, "a", 500 * time.Millisecond, ""},
			{quick, 1, "b", time.Second, ""},
			{quick, 1, "a", 2 * time.Second, ""},
			{quick, 1, "b", 4 * time.Second, ""},
			{quick, 1, "a", 8 * time.Second, ""},
			{quick, -1, "killed by SIGKILL", 16 * time.Second, ""},
		}},
		{"a long run in between starts the tally again", []exit{
			{quick, 1, "boom", 500 * time.Millisecond, ""},
			{quick, 1, "boom", time.Second, ""},
			{quick, 1, "boom", 2 * time.Second, ""},
			{quick, 1, "boom", 4 * time.Second, ""},
			{2 * time.Minute, 1, "boom", 500 * time.Millisecond, ""},
			{quick, 1, "boom", time.Second, ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewRestartPolicy()
			for i, e := range tt.exits {
				wait, give := p.Next(e.ran, e.code, e.why)
				if e.give != "" {
					if !strings.Contains(give, e.give) {
						t.Fatalf("exit %d: giveUp %q, want %q", i, give, e.give)
					}
					continue
				}
				if give != "" || wait != e.wait {
					t.Fatalf("exit %d: wait %s giveUp %q, want wait %s", i, wait, give, e.wait)
				}
			}
		})
	}
}
