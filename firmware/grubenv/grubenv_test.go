package grubenv

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	e := Env{"pptpbox_slot": "B", "pptpbox_try": "", "pptpbox_args": `a\b` + "\nc"}
	b, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != Size || !bytes.HasPrefix(b, []byte(header+"pptpbox_args=a\\\\b\\\nc\npptpbox_slot=B\npptpbox_try=\n#")) {
		t.Fatalf("encoded:\n%q", b[:100])
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got["pptpbox_args"] != e["pptpbox_args"] || got["pptpbox_slot"] != "B" {
		t.Fatalf("parsed %q", got)
	}
}

// TestGrubEditenv reads a block made by grub-editenv (Debian grub-common, with its
// WARNING comment line): what GRUB's own tools write.
func TestGrubEditenv(t *testing.T) {
	b, err := os.ReadFile("testdata/grub-editenv.env")
	if err != nil {
		t.Fatal(err)
	}
	e, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if e["pptpbox_slot"] != "A" || e["pptpbox_try"] != "B" {
		t.Fatalf("parsed %q", e)
	}
}

func TestRefuse(t *testing.T) {
	ok, _ := Env{"a": "1"}.Encode()
	for name, b := range map[string][]byte{
		"short":      ok[:100],
		"no header":  append([]byte("X"), ok[1:]...),
		"bad name":   []byte(strings.Replace(string(ok), "a=1", "-=1", 1)),
		"no equals":  []byte(strings.Replace(string(ok), "a=1", "a 1", 1)),
		"open line":  append([]byte(header+"a=1"), bytes.Repeat([]byte("x"), Size-len(header)-3)...),
		"end escape": append([]byte(header+"a="), append(bytes.Repeat([]byte("x"), Size-len(header)-3), '\\')...),
	} {
		if _, err := Parse(b); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	if _, err := (Env{"x": strings.Repeat("y", Size)}).Encode(); err == nil {
		t.Error("an oversized block encoded")
	}
	if _, err := (Env{"9x": ""}).Encode(); err == nil {
		t.Error("a bad name encoded")
	}
}

func FuzzParse(f *testing.F) {
	ok, _ := Env{"pptpbox_slot": "A", "pptpbox_try": "B"}.Encode()
	f.Add(ok)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Parse(b)
		if err != nil {
			return
		}
		again, err := e.Encode()
		if err != nil {
			// Re-encoding drops comments and duplicates: it is never longer than the
			// block it came from.
			t.Fatalf("parsed block does not re-encode: %v", err)
		}
		e2, err := Parse(again)
		if err != nil {
			t.Fatalf("re-encoded block does not parse: %v", err)
		}
		if len(e2) != len(e) {
			t.Fatalf("round trip %q -> %q", e, e2)
		}
		for k, v := range e {
			if e2[k] != v {
				t.Fatalf("round trip %s=%q -> %q", k, v, e2[k])
			}
		}
	})
}
