package firmware

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func sha(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(data))
}

// TestReproducible builds the qemu-amd64 image twice from the same tree and cache and wants
// byte-identical images. On a mismatch it names the first intermediate that differs.
func TestReproducible(t *testing.T) {
	gate(t)
	need(t, "go", "sgdisk", "mkfs.vfat", "grub-mkimage", "zstd")
	repo, _ := filepath.Abs(filepath.Join("..", ".."))
	cache := os.Getenv("PPTPBOX_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "pptpbox")
	}
	var outs []string
	for i := 0; i < 2; i++ {
		out := filepath.Join(t.TempDir(), fmt.Sprintf("build%d", i))
		cmd := exec.Command("go", "run", "./cmd/mkfirmware", "-board", "board/qemu-amd64", "-out", out,
			"-cache", cache, "-version", "repro", "-epoch", "1704067200")
		cmd.Dir = repo
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("build %d: %v\n%s", i, err, stderr.String())
		}
		outs = append(outs, out)
	}
	img := "pptpbox-qemu-amd64-repro.img"
	a, b := sha(t, filepath.Join(outs[0], img)), sha(t, filepath.Join(outs[1], img))
	t.Logf("image sha256 %s / %s", a, b)
	if a == b {
		return
	}
	for _, f := range []string{"work-qemu-amd64/stage/init", "work-qemu-amd64/stage/bin/boxd", "work-qemu-amd64/initramfs.cpio",
		"work-qemu-amd64/initrd.zst", "work-qemu-amd64/i386-pc.img", "work-qemu-amd64/x86_64-efi.img",
		"work-qemu-amd64/boot.fat", "work-qemu-amd64/config.fat"} {
		if sha(t, filepath.Join(outs[0], f)) != sha(t, filepath.Join(outs[1], f)) {
			t.Errorf("%s differs between the two builds", f)
		}
	}
	t.Fatalf("two builds of one tree gave different images")
}
