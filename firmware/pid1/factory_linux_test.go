package pid1

import (
	"os"
	"path/filepath"
	"testing"
)

func TestResetConfigDir(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{ConfigName, LastGoodName, FailedName, "lan-leases.json"} {
		os.WriteFile(filepath.Join(dir, n), []byte("old"), 0o644)
	}
	os.MkdirAll(filepath.Join(dir, "store", "x"), 0o755)
	if err := resetConfigDir(dir, []byte("default\n")); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != ConfigName {
		t.Fatalf("left %v", ents)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, ConfigName)); string(got) != "default\n" {
		t.Fatalf("pptpbox.toml = %q", got)
	}
}
