package cli

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

// FuzzLine types arbitrary lines: Split never panics, what it splits
// quotes back to the same words, and Parse, Complete and Describe answer
// every line (Complete's start within the line).
func FuzzLine(f *testing.F) {
	for _, s := range []string{"sh sess", `users add bob "pa ss" 10.0.0.1`, `set a 'b\'`, "ping h co 3 --json",
		"help show l", `"unterminated`, "x\\", "show  log   follow ", "\t?\x00\xff"} {
		f.Add(s)
	}
	tree := testTree(func(*Call) {})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, line string) {
		words, err := Split(line)
		if err == nil {
			quoted := make([]string, len(words))
			for i, w := range words {
				quoted[i] = Quote(w)
			}
			again, err := Split(strings.Join(quoted, " "))
			if err != nil || !reflect.DeepEqual(again, words) && !(len(again) == 0 && len(words) == 0) {
				t.Fatalf("%q: words %q, quoted back %q (%v)", line, words, again, err)
			}
			tree.Parse(words)
		}
		if _, start := tree.Complete(ctx, line); start < 0 || start > len(line) {
			t.Fatalf("%q: completion starts at %d", line, start)
		}
		if tree.Describe(ctx, line) == "" {
			t.Fatalf("%q: ? says nothing", line)
		}
	})
}
