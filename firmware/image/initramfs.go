package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"
)

// CoreCommands are the u-root core commands in the initramfs: what an operator needs on the
// debug shell to look at a box (gosh is the shell). Each is pinned in go.mod as a tool, so
// the module graph is complete and the versions are those of u-root v0.16.0.
var CoreCommands = []string{
	"gosh", "ls", "cat", "ip", "dmesg", "ping", "ps", "kill", "mount", "umount",
	"cp", "mv", "rm", "mkdir", "lsmod", "free", "uptime", "df", "netstat", "grep",
}

const urootModule = "github.com/u-root/u-root"

// goEnv is the environment for building guest binaries: static, and for amd64 the baseline
// micro-architecture so QEMU's default CPU model runs them.
func (b *builder) goEnv() []string {
	env := append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+b.board.Arch, "GOFLAGS=-buildvcs=false")
	if b.board.Arch == "amd64" {
		env = append(env, "GOAMD64=v1")
	}
	return env
}

// buildInitramfs builds the u-root busybox of the core commands and adds the staged tree
// (our init as /init, boxd, modules, /etc) to one newc cpio archive, then compresses it with
// zstd, which Debian's kernels unpack (CONFIG_RD_ZSTD).
func (b *builder) buildInitramfs(ctx context.Context, stage, cpioPath, zstPath string) error {
	tool := filepath.Join(b.opt.Work, "u-root")
	// The tool is built for the host: run with GOARCH=arm64 it would be built for arm64 and
	// fail to execute; it then cross-builds the commands from the GOARCH in its environment.
	if _, err := b.run(ctx, b.opt.Repo, append(os.Environ(), "CGO_ENABLED=0"), "go", "build", "-o", tool, urootModule); err != nil {
		return fmt.Errorf("build u-root: %w", err)
	}
	tmp := filepath.Join(b.opt.Work, "uroot-tmp")
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	base := filepath.Join(b.opt.Work, "base.cpio")
	if err := writeBaseArchive(base); err != nil {
		return err
	}
	args := []string{
		"-o", cpioPath, "-base=" + base, "-initcmd=", "-uinitcmd=", "-defaultsh=gosh",
		"-skip-ldd", "-tmp-dir", tmp,
		// gosh's rich line editor queries the terminal (cursor position reports) and
		// stalls on serial lines that do not answer; goshsmall selects its plain reader.
		"-go-build-tags", "goshsmall",
	}
	ents, err := os.ReadDir(stage)
	if err != nil {
		return err
	}
	for _, e := range ents {
		args = append(args, "-files", filepath.Join(stage, e.Name())+":"+e.Name())
	}
	for _, c := range CoreCommands {
		args = append(args, urootModule+"/cmds/core/"+c)
	}
	if _, err := b.run(ctx, b.opt.Repo, b.goEnv(), tool, args...); err != nil {
		return fmt.Errorf("u-root: %w", err)
	}
	os.RemoveAll(tmp)
	// -T1 and a fixed level keep the output identical across machines and runs. --long=27
	// lets matches reach back over the whole archive (zstd sizes the window to the input,
	// ~22 MiB): u-root's busybox and the init+boxd binary share much of the Go runtime and
	// standard library, further apart than -19's 8 MiB window. 0.5 MB smaller for GRUB to
	// read; the kernel's unzstd takes windows up to 128 MiB (lib/decompress_unzstd.c) and
	// allocates the window while it unpacks.
	if _, err := b.run(ctx, "", nil, "zstd", "-q", "-f", "-19", "--long=27", "-T1", "--no-progress", cpioPath, "-o", zstPath); err != nil {
		return fmt.Errorf("zstd: %w", err)
	}
	return nil
}

// stageRootfs lays out everything we add to the initramfs besides u-root's commands.
func (b *builder) stageRootfs(ctx context.Context, k *kernelTree, stage string) (mods int, err error) {
	os.RemoveAll(stage)
	if err := os.MkdirAll(filepath.Join(stage, "bin"), 0o755); err != nil {
		return 0, err
	}
	if b.opt.Rootfs != "" {
		if err := copyTree(b.opt.Rootfs, stage); err != nil {
			return 0, err
		}
	}
	etc := filepath.Join(stage, "etc", "pptpbox")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		return 0, err
	}
	if err := copyFile(filepath.Join(b.opt.BoardDir, "board.toml"), filepath.Join(etc, "board.toml"), 0o644); err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(etc, "version"), []byte(b.opt.Version+"\n"), 0o644); err != nil {
		return 0, err
	}
	b.progress("go build ./cmd/init + ./cmd/boxd as one multi-call binary (%s)", b.board.Arch)
	if err := b.buildMulticall(ctx, filepath.Join(stage, "init")); err != nil {
		return 0, err
	}
	if err := os.Symlink("../init", filepath.Join(stage, "bin", "boxd")); err != nil {
		return 0, err
	}
	// No boxctl: the console CLI (pkg/console) runs inside the init, which talks to boxd
	// over the control socket itself (the readiness check too).
	b.progress("kernel modules for %s", strings.Join(b.board.Modules, " "))
	return b.stageModules(ctx, k, stage)
}

// writeBaseArchive writes the skeleton the rest of the initramfs is added to: mount points,
// and /dev/console, which the kernel opens as PID 1's stdin/stdout/stderr before running
// /init (init/main.c, console_on_rootfs) — devtmpfs is not mounted yet at that point.
// u-root's own default base would also bring a fixed resolv.conf and localtime.
func writeBaseArchive(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	recs := []cpio.Record{
		cpio.Directory("dev", 0o755),
		cpio.CharDev("dev/console", 0o600, 5, 1),
		cpio.CharDev("dev/null", 0o666, 1, 3),
		cpio.Directory("proc", 0o555),
		cpio.Directory("sys", 0o555),
		cpio.Directory("run", 0o755),
		cpio.Directory("tmp", 0o1777),
		cpio.Directory("config", 0o755),
		cpio.Directory("mnt", 0o755),
		cpio.Directory("mnt/usb", 0o755),
		cpio.Directory("root", 0o700),
	}
	cpio.MakeAllReproducible(recs)
	w := cpio.Newc.Writer(f)
	if err := cpio.WriteRecords(w, recs); err != nil {
		return fmt.Errorf("base archive: %w", err)
	}
	if err := cpio.WriteTrailer(w); err != nil {
		return fmt.Errorf("base archive: %w", err)
	}
	return f.Close()
}
