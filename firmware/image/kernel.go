package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pptpbox/pptpbox/firmware/kmod"
)

// kernelTree is an unpacked kernel package with modules.dep made for it.
type kernelTree struct {
	Root    string // unpacked package
	Version string // uname -r, e.g. 6.1.0-56-amd64
	Vmlinuz string
	Deb     debRef
}

func (k *kernelTree) modDir() string { return filepath.Join(k.Root, "lib", "modules", k.Version) }

// prepareKernel fetches the board's kernel package and runs depmod on it once: Debian ships
// no modules.dep, it is made at install time.
func (b *builder) prepareKernel(ctx context.Context) (*kernelTree, error) {
	ref, err := b.resolveDeb(ctx, b.board.Kernel.Package, b.board.Kernel.DebArch)
	if err != nil {
		return nil, err
	}
	root, err := b.fetchDeb(ctx, ref)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(filepath.Join(root, "lib", "modules"))
	if err != nil || len(ents) != 1 {
		return nil, fmt.Errorf("kernel %s: want exactly one lib/modules/<version> directory (%v)", ref.Name, err)
	}
	k := &kernelTree{Root: root, Version: ents[0].Name(), Deb: ref}
	k.Vmlinuz = filepath.Join(root, "boot", "vmlinuz-"+k.Version)
	if _, err := os.Stat(k.Vmlinuz); err != nil {
		return nil, fmt.Errorf("kernel %s: %w", ref.Name, err)
	}
	if _, err := os.Stat(filepath.Join(k.modDir(), "modules.dep")); err != nil {
		b.progress("depmod %s", k.Version)
		if _, err := b.output(ctx, "", "depmod", "-b", root, k.Version); err != nil {
			return nil, fmt.Errorf("depmod %s: %w", k.Version, err)
		}
	}
	return k, nil
}

// stageModules copies the dependency closure of the board's modules into
// stage/lib/modules/<kver> and makes their modules.dep there. It returns the module count.
func (b *builder) stageModules(ctx context.Context, k *kernelTree, stage string) (int, error) {
	ix, builtin, err := readKernelIndex(k.modDir())
	if err != nil {
		return 0, err
	}
	order, err := ix.LoadOrder(b.board.Modules, builtin)
	if err != nil {
		return 0, fmt.Errorf("board %s: %w", b.board.Name, err)
	}
	dst := filepath.Join(stage, "lib", "modules", k.Version)
	for _, m := range order {
		if err := copyFile(filepath.Join(k.modDir(), m.Path), filepath.Join(dst, m.Path), 0o644); err != nil {
			return 0, err
		}
	}
	for _, f := range []string{"modules.builtin", "modules.order"} {
		if err := copyFile(filepath.Join(k.modDir(), f), filepath.Join(dst, f), 0o644); err != nil {
			return 0, err
		}
	}
	stageRoot := stage
	if _, err := b.output(ctx, "", "depmod", "-b", stageRoot, k.Version); err != nil {
		return 0, fmt.Errorf("depmod (initramfs) %s: %w", k.Version, err)
	}
	// The init reads modules.dep, modules.builtin, modules.alias (to skip drivers for
	// absent devices) and modules.softdep (libcrc32c wants crc32c first); the binary
	// indexes depmod also writes would only grow the initramfs.
	keep := map[string]bool{"modules.dep": true, "modules.builtin": true, "modules.alias": true, "modules.softdep": true}
	ents, _ := os.ReadDir(dst)
	for _, e := range ents {
		if !e.IsDir() && !keep[e.Name()] {
			os.Remove(filepath.Join(dst, e.Name()))
		}
	}
	return len(order), nil
}

func readKernelIndex(dir string) (*kmod.Index, map[string]bool, error) {
	f, err := os.Open(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	ix, err := kmod.ParseDep(f)
	if err != nil {
		return nil, nil, err
	}
	bf, err := os.Open(filepath.Join(dir, "modules.builtin"))
	if err != nil {
		return nil, nil, err
	}
	defer bf.Close()
	builtin, err := kmod.ParseBuiltin(bf)
	return ix, builtin, err
}

// copyFile copies src to dst, creating parents, with a fixed mode so that the umask of the
// build machine does not leak into the image.
func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

// copyTree copies a directory tree (regular files and directories only), normalising modes:
// 0755 for directories and for files that were executable, 0644 for the rest.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			return os.Chmod(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("rootfs: %s: only regular files and directories are copied", p)
		}
		if strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		return copyFile(p, target, mode)
	})
}
