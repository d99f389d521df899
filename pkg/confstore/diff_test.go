package confstore

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const noNewline = "\n\\ No newline at end of file\n"

// applyUnified applies a unified diff made by Diff to a (a test's patch).
func applyUnified(t *testing.T, a, d string) string {
	t.Helper()
	raw := strings.SplitAfter(d, "\n")
	var body []string // diff lines, a "\ No newline" line merged into the one before
	for _, l := range raw[2:] {
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, `\`) {
			body[len(body)-1] = strings.TrimSuffix(body[len(body)-1], "\n") + noNewline
			continue
		}
		body = append(body, l)
	}
	src := splitLines(a)
	var out []string
	next := 0 // the next line of src to copy
	for _, l := range body {
		if strings.HasPrefix(l, "@@") {
			var xs, xn, ys, yn int
			if _, err := fmt.Sscanf(hunkNorm(l), "@@ -%d,%d +%d,%d @@", &xs, &xn, &ys, &yn); err != nil {
				t.Fatalf("hunk header %q: %v", l, err)
			}
			start := xs - 1
			if xn == 0 {
				start = xs
			}
			if start < next || start > len(src) {
				t.Fatalf("hunk %q out of order", l)
			}
			out = append(out, src[next:start]...)
			next = start
			continue
		}
		kind, line := l[0], l[1:]
		switch kind {
		case ' ', '-':
			if next >= len(src) || src[next] != line {
				t.Fatalf("diff line %q does not match %q", l, src[min(next, len(src)-1)])
			}
			next++
			if kind == ' ' {
				out = append(out, line)
			}
		case '+':
			out = append(out, line)
		default:
			t.Fatalf("bad diff line %q", l)
		}
	}
	out = append(out, src[next:]...)
	s := strings.Join(out, "")
	return strings.ReplaceAll(s, noNewline, "")
}

// hunkNorm writes "-3" as "-3,1" so one Sscanf reads every header.
func hunkNorm(h string) string {
	f := strings.Fields(h)
	for i := 1; i <= 2 && i < len(f); i++ {
		if !strings.Contains(f[i], ",") {
			f[i] += ",1"
		}
	}
	return strings.Join(f, " ")
}

func TestDiff(t *testing.T) {
	a := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n"
	b := "a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n"
	want := `--- running
+++ candidate
@@ -1,5 +1,5 @@
 a
-b
+B
 c
 d
 e
@@ -9,3 +9,4 @@
 i
 j
 k
+l
`
	if got := Diff("running", "candidate", a, b); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := Diff("x", "y", a, a); got != "" {
		t.Errorf("equal texts: %q", got)
	}
	// A large change beyond the edit bound is still a correct diff.
	var x, y strings.Builder
	for i := 0; i < 2*maxEdits; i++ {
		fmt.Fprintf(&x, "x%d\n", i)
		fmt.Fprintf(&y, "y%d\n", i)
	}
	if d := Diff("a", "b", x.String(), y.String()); applyUnified(t, x.String(), d) != y.String() {
		t.Error("a diff past the bound does not rebuild b")
	}
}

// TestDiffPatch: GNU patch reads the diff (when patch is installed).
func TestDiffPatch(t *testing.T) {
	if _, err := exec.LookPath("patch"); err != nil {
		t.Skip("no patch command")
	}
	a := sample
	b, err := Set(sample, "pptp.mtu", "1300")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = DeleteUser(b, "alice")
	dir := t.TempDir()
	f := filepath.Join(dir, "pptpbox.toml")
	os.WriteFile(f, []byte(a), 0o600)
	cmd := exec.Command("patch", f)
	cmd.Stdin = strings.NewReader(Diff("running", "candidate", a, b))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("patch: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(f); string(got) != b {
		t.Errorf("patched file\n%s\nwant\n%s", got, b)
	}
}
