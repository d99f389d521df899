//go:build linux

package flood

import "testing"

func TestParseResult(t *testing.T) {
	out := "=== RUN   TestAbuseFloodHelper\nFLOOD {\"Conns\":12,\"Refused\":9}\n--- PASS: TestAbuseFloodHelper (1.00s)\nPASS\n"
	r, err := ParseResult(out)
	if err != nil || r.Conns != 12 || r.Refused != 9 {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := ParseResult("PASS\n"); err == nil {
		t.Fatal("no error without a result line")
	}
}
