package confstore

import (
	"fmt"
	"strings"
)

// Diff is a unified diff (3 lines of context, as diff -u) of a -> b, named
// aName and bName in its header; "" when they are equal. It is Myers'
// algorithm on lines after the common head and tail are set aside; when
// the rest differs by more than maxEdits lines it is shown as removed and
// added whole (a correct diff, not a minimal one), which bounds the work
// on a large file that changed entirely.
func Diff(aName, bName, a, b string) string {
	if a == b {
		return ""
	}
	x, y := splitLines(a), splitLines(b)
	ops := diffLines(x, y)
	return unified(aName, bName, x, y, ops)
}

// maxEdits bounds the Myers search (memory grows with its square).
const maxEdits = 500

// splitLines splits text into lines, each with its line break; a last
// line without one is marked the way diff marks it.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] += "\n\\ No newline at end of file\n"
	}
	return lines
}

// op is one line of the edit script: ' ' kept, '-' from x, '+' from y.
type op struct {
	kind byte
	x, y int // line indexes in x and y (the one that applies)
}

func diffLines(x, y []string) []op {
	var head, tail []op
	i := 0
	for i < len(x) && i < len(y) && x[i] == y[i] {
		head = append(head, op{' ', i, i})
		i++
	}
	j := 0
	for j < len(x)-i && j < len(y)-i && x[len(x)-1-j] == y[len(y)-1-j] {
		j++
	}
	for k := j; k > 0; k-- {
		tail = append(tail, op{' ', len(x) - k, len(y) - k})
	}
	mid := myers(x[i:len(x)-j], y[i:len(y)-j])
	if mid == nil {
		for k := i; k < len(x)-j; k++ {
			mid = append(mid, op{'-', k - i, 0}) // y: where y's side stands, i
		}
		for k := i; k < len(y)-j; k++ {
			mid = append(mid, op{'+', len(x) - j - i, k - i})
		}
	}
	for k := range mid {
		mid[k].x += i
		mid[k].y += i
	}
	return append(append(head, mid...), tail...)
}

// myers is the shortest edit script of x -> y, or nil when it is longer
// than maxEdits (and x, y are not both empty).
func myers(x, y []string) []op {
	n, m := len(x), len(y)
	if n == 0 && m == 0 {
		return []op{}
	}
	maxD := min(n+m, maxEdits)
	off := maxD + 1
	v := make([]int, 2*maxD+3)
	// trace[d] is the frontier before step d, for k in -d-1..d+1.
	var trace [][]int
	for d := 0; d <= maxD; d++ {
		trace = append(trace, append([]int(nil), v[off-d-1:off+d+2]...))
		for k := -d; k <= d; k += 2 {
			var px int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				px = v[off+k+1] // down: an insertion
			} else {
				px = v[off+k-1] + 1 // right: a deletion
			}
			py := px - k
			for px < n && py < m && x[px] == y[py] {
				px++
				py++
			}
			v[off+k] = px
			if px >= n && py >= m {
				return backtrack(trace, n, m, d)
			}
		}
	}
	return nil
}

// backtrack walks the saved frontiers from (n, m) back to (0, 0).
func backtrack(trace [][]int, px, py, d int) []op {
	var rev []op
	for ; d > 0; d-- {
		v := trace[d] // v[k+d+1] is the frontier's x on diagonal k
		k := px - py
		var prevK int
		if k == -d || (k != d && v[k-1+d+1] < v[k+1+d+1]) {
			prevK = k + 1
		} else {
			prevK = k - 1
		}
		prevX := v[prevK+d+1]
		prevY := prevX - prevK
		for px > prevX && py > prevY {
			px--
			py--
			rev = append(rev, op{' ', px, py})
		}
		if px == prevX {
			py--
			rev = append(rev, op{'+', px, py})
		} else {
			px--
			rev = append(rev, op{'-', px, py})
		}
	}
	for px > 0 && py > 0 {
		px--
		py--
		rev = append(rev, op{' ', px, py})
	}
	out := make([]op, len(rev))
	for i, o := range rev {
		out[len(rev)-1-i] = o
	}
	return out
}

// unified prints ops as hunks with 3 lines of context.
func unified(aName, bName string, x, y []string, ops []op) string {
	const ctx = 3
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s\n+++ %s\n", aName, bName)
	for i := 0; i < len(ops); {
		for i < len(ops) && ops[i].kind == ' ' {
			i++
		}
		if i == len(ops) {
			break
		}
		start := max(i-ctx, 0)
		// The hunk ends after ctx kept lines that no change follows within 2*ctx.
		end := i
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*ctx {
				end = min(end+ctx, len(ops))
				break
			}
			end = run
		}
		writeHunk(&b, x, y, ops[start:end])
		i = end
	}
	return b.String()
}

func writeHunk(b *strings.Builder, x, y []string, ops []op) {
	x0, y0, nx, ny := -1, -1, 0, 0
	for _, o := range ops {
		if o.kind != '+' {
			if x0 < 0 {
				x0 = o.x
			}
			nx++
		}
		if o.kind != '-' {
			if y0 < 0 {
				y0 = o.y
			}
			ny++
		}
	}
	fmt.Fprintf(b, "@@ -%s +%s @@\n", hunkRange(x0, nx, ops[0].x), hunkRange(y0, ny, ops[0].y))
	for _, o := range ops {
		line := ""
		switch o.kind {
		case '+':
			line = y[o.y]
		default:
			line = x[o.x]
		}
		b.WriteByte(o.kind)
		b.WriteString(line)
	}
}

// hunkRange is diff -u's "start,count" (1-based; an empty side names the
// line before it).
func hunkRange(first, n, at int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", at)
	}
	if n == 1 {
		return fmt.Sprintf("%d", first+1)
	}
	return fmt.Sprintf("%d,%d", first+1, n)
}
