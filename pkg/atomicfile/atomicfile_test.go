package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "pptpbox.toml")
	for _, data := range []string{"one\n", "two\n"} {
		if err := Write(f, []byte(data)); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(f); string(got) != data {
			t.Fatalf("read %q, want %q", got, data)
		}
	}
	if st, _ := os.Stat(f); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
	if err := Write(filepath.Join(dir, "missing", "x"), nil); err == nil {
		t.Error("a write into a missing directory succeeded")
	}
}
