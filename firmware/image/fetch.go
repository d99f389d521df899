package image

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// debRef is a concrete Debian binary package.
type debRef struct {
	Name    string // e.g. linux-image-6.1.0-56-amd64
	Arch    string // Debian architecture
	Version string
}

func (d debRef) spec() string { return d.Name + ":" + d.Arch }

// fileName is the name apt-get download gives the .deb (an epoch's ':' becomes %3a).
func (d debRef) fileName() string {
	return fmt.Sprintf("%s_%s_%s.deb", d.Name, strings.ReplaceAll(d.Version, ":", "%3a"), d.Arch)
}

// resolveDeb turns a package name (possibly a meta package such as linux-image-amd64) into
// the concrete package and candidate version apt would install. A meta kernel package has
// no kernel, only a dependency on the versioned linux-image-<abi>-<flavour> package.
func (b *builder) resolveDeb(ctx context.Context, name, arch string) (debRef, error) {
	spec := name + ":" + arch
	show, err := b.output(ctx, "", "apt-cache", "show", "--no-all-versions", spec)
	if err != nil {
		return debRef{}, fmt.Errorf("apt-cache show %s: %w (for arm64 run `dpkg --add-architecture arm64 && apt-get update` once)", spec, err)
	}
	fields := debFields(show)
	ref := debRef{Name: name, Arch: arch, Version: fields["Version"]}
	if ref.Version == "" {
		return debRef{}, fmt.Errorf("apt-cache show %s: no Version field", spec)
	}
	if isMetaKernel(name) {
		for _, dep := range strings.Split(fields["Depends"], ",") {
			dep = strings.TrimSpace(dep)
			dep, _, _ = strings.Cut(dep, " ")
			if strings.HasPrefix(dep, "linux-image-") && dep != name {
				return b.resolveDeb(ctx, dep, arch)
			}
		}
		return debRef{}, fmt.Errorf("%s looks like a meta package but depends on no linux-image", spec)
	}
	return ref, nil
}

// isMetaKernel reports names like linux-image-amd64 (no ABI number in them).
func isMetaKernel(name string) bool {
	rest, ok := strings.CutPrefix(name, "linux-image-")
	return ok && !strings.ContainsAny(rest[:min(1, len(rest))], "0123456789")
}

// debFields parses the first stanza of a Debian control-file-shaped text.
func debFields(text []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	last := ""
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last != "" {
				out[last] += "\n" + strings.TrimSpace(line)
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if ok {
			last = k
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

// fetchDeb downloads a package into the cache (once) and unpacks it (once). It returns the
// directory the package is unpacked in.
func (b *builder) fetchDeb(ctx context.Context, ref debRef) (string, error) {
	debs := filepath.Join(b.opt.Cache, "debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return "", err
	}
	deb := filepath.Join(debs, ref.fileName())
	if _, err := os.Stat(deb); err != nil {
		b.progress("download %s=%s", ref.spec(), ref.Version)
		if _, err := b.output(ctx, debs, "apt-get", "download", "-q", ref.spec()+"="+ref.Version); err != nil {
			return "", fmt.Errorf("apt-get download %s: %w", ref.spec(), err)
		}
	} else {
		b.progress("cached %s", filepath.Base(deb))
	}
	dir := filepath.Join(b.opt.Cache, "unpacked", strings.TrimSuffix(ref.fileName(), ".deb"))
	stamp := filepath.Join(dir, ".unpacked")
	if _, err := os.Stat(stamp); err == nil {
		return dir, nil
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if _, err := b.output(ctx, "", "dpkg-deb", "-x", deb, dir); err != nil {
		return "", fmt.Errorf("unpack %s: %w", deb, err)
	}
	return dir, os.WriteFile(stamp, nil, 0o644)
}
