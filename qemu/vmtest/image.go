package vmtest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Flavours of guest image that qemu/client/build.sh builds.
const (
	FlavourClient = "client" // busybox, pppd, pptp-linux
	FlavourServer = "server" // the same plus poptop pptpd
)

// RepoRoot finds the pptpbox checkout containing the working directory (go
// test runs in the package directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("vmtest: %w", err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module github.com/pptpbox/pptpbox\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("vmtest: not inside the pptpbox module")
		}
		dir = parent
	}
}

// BuildImage runs qemu/client/build.sh for flavour (cached under
// $CACHE/<flavour>-guest, so only the first call is slow) and returns the
// image directory. The script's progress goes to progress (may be nil).
func BuildImage(ctx context.Context, flavour string, progress io.Writer) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	if progress == nil {
		progress = io.Discard
	}
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "qemu/client/build.sh"), flavour)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = progress
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("vmtest: build %s guest: %w", flavour, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	dir := lines[len(lines)-1]
	if _, err := os.Stat(filepath.Join(dir, "initrd.img")); err != nil {
		return "", fmt.Errorf("vmtest: build %s guest: %w", flavour, err)
	}
	return dir, nil
}

// b64 encodes data for a heredoc in 76-column lines.
func b64(data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteByte('\n')
		enc = enc[76:]
	}
	b.WriteString(enc)
	return b.String()
}
