package image

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestMainAsPackage(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		// The doc comment's "package main" and the method named main stay as they are.
		"main.go":   "// Command x.\n// package main is here.\npackage main\n\nimport \"os\"\n\nvar version = \"dev\"\n\nfunc main() {\n\tos.Exit(run())\n}\n",
		"run.go":    "package main\n\ntype t struct{}\n\nfunc (t) main() {}\n\nfunc run() int { return 0 }\n",
		"x_test.go": "package main\n",
		"notes.txt": "package main\n",
	}
	for n, s := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := mainAsPackage(dir, "xmain")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got files %v, want main.go and run.go", keys(got))
	}
	want := "// Command x.\n// package main is here.\npackage xmain\n\nimport \"os\"\n\nvar version = \"dev\"\n\nfunc Main() {\n\tos.Exit(run())\n}\n"
	if string(got["main.go"]) != want {
		t.Errorf("main.go:\n%s\nwant:\n%s", got["main.go"], want)
	}
	if want := "package xmain\n\ntype t struct{}\n\nfunc (t) main() {}\n\nfunc run() int { return 0 }\n"; string(got["run.go"]) != want {
		t.Errorf("run.go:\n%s\nwant:\n%s", got["run.go"], want)
	}

	os.Remove(filepath.Join(dir, "main.go"))
	if _, err := mainAsPackage(dir, "xmain"); err == nil || !strings.Contains(err.Error(), "0 files declare func main") {
		t.Errorf("no func main: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "lib.go"), []byte("package lib\n"), 0o644)
	if _, err := mainAsPackage(dir, "xmain"); err == nil || !strings.Contains(err.Error(), "package lib, want main") {
		t.Errorf("package lib: %v", err)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestMulticallBinary builds the real init+boxd binary for this machine and runs it by the
// name boxd: the dispatch and the version stamped into boxd's copy.
func TestMulticallBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the init and boxd")
	}
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skip("runs a linux/amd64 or linux/arm64 binary")
	}
	b := testBuilder(t, "i386-pc")
	b.board.Arch = runtime.GOARCH
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	b.opt.Repo, b.opt.Work = repo, t.TempDir()
	dir := t.TempDir()
	bin := filepath.Join(dir, "init")
	if err := b.buildMulticall(t.Context(), bin); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	boxd := filepath.Join(dir, "bin", "boxd")
	if err := os.Symlink("../init", boxd); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(boxd, "version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "boxd v1.2.3" {
		t.Fatalf("boxd version: %v: %q, want \"boxd v1.2.3\"", err, out)
	}
}
