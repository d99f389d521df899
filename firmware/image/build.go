// Package image builds a pptpbox firmware image for one board: the Debian kernel, a u-root
// initramfs holding our init, boxd, the board's kernel modules and a few core commands, GRUB
// for the board's firmware (legacy BIOS, UEFI x86-64, UEFI arm64) and a GPT disk image with a
// boot partition (slots A and B) and a FAT CONFIG partition. Builds are reproducible: the
// same commit and cache give a byte-identical image.
//
// Steps, in order: board -> kernel package (apt-get download, cached) -> module closure +
// depmod -> go build init/boxd -> u-root + zstd -> grub-mkimage -> GPT + FAT + MBR.
package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pptpbox/pptpbox/firmware/board"
)

// Options configures one build.
type Options struct {
	BoardDir string    // board/<name>
	Repo     string    // module root: where ./cmd/init and ./cmd/boxd are built from
	Rootfs   string    // static files overlaid into the initramfs (rootfs/)
	Out      string    // output directory (out/)
	Cache    string    // download cache, kept by make clean (~/.cache/pptpbox)
	Version  string    // git describe
	Epoch    int64     // SOURCE_DATE_EPOCH: every timestamp in the image
	Log      io.Writer // progress; os.Stderr if nil
	// Work is the scratch directory; default Out/work-<board>.
	Work string
	// UpdateKey is the PEM public key the image accepts updates from (installed as
	// /etc/pptpbox/update.pub); "" means the development key in Cache (DevKey).
	UpdateKey string
}

// Result names the outputs and their sizes.
type Result struct {
	Image         string
	Kernel        string
	Initramfs     string // zstd-compressed cpio
	KernelVersion string
	Modules       int
	Sizes         []Size
}

// Size is one row of the size table.
type Size struct {
	What  string
	Bytes int64
}

type builder struct {
	opt   Options
	board *board.Board
	step  int
	steps int
	start time.Time
}

type artifacts struct {
	kernel        *kernelTree
	vmlinuz       string
	initrd        string
	dtb           string
	grub          map[string]string
	bootImg       string
	defaultConfig string
}

// ImageName is the file name of a board's image.
func ImageName(boardName, version string) string {
	return fmt.Sprintf("pptpbox-%s-%s.img", boardName, version)
}

// Build runs every step and returns what it made.
func Build(ctx context.Context, opt Options) (*Result, error) {
	b, err := newBuilder(opt)
	if err != nil {
		return nil, err
	}
	bd := b.board
	b.stepf("board %s (%s): %s", bd.Name, bd.Arch, bd.Description)

	art, err := b.kernelStep(ctx)
	if err != nil {
		return nil, err
	}
	stage, nmod, err := b.stageStep(ctx, art)
	if err != nil {
		return nil, err
	}

	b.stepf("u-root initramfs (%d core commands, busybox mode) + zstd", len(CoreCommands))
	cpioPath := filepath.Join(b.opt.Work, "initramfs.cpio")
	art.initrd = filepath.Join(b.opt.Work, "initrd.zst")
	if err := b.buildInitramfs(ctx, stage, cpioPath, art.initrd); err != nil {
		return nil, err
	}

	b.stepf("GRUB %s", strings.Join(bd.Image.Loaders, " "))
	art.grub, art.bootImg, err = b.grubImages(ctx, b.opt.Work)
	if err != nil {
		return nil, err
	}

	imgPath := filepath.Join(b.opt.Out, ImageName(bd.Name, b.opt.Version))
	b.stepf("disk image %s (%d MiB GPT)", filepath.Base(imgPath), bd.Image.DiskMiB)
	if err := b.assembleDisk(ctx, imgPath, art); err != nil {
		return nil, err
	}
	res, err := b.publish(imgPath, cpioPath, art, nmod)
	if err != nil {
		return nil, err
	}
	b.progress("done in %s", time.Since(b.start).Round(time.Second))
	return res, nil
}

// newBuilder loads the board, fills the default work directory, creates the
// output, work and cache directories and makes every path absolute.
func newBuilder(opt Options) (*builder, error) {
	if opt.Log == nil {
		opt.Log = os.Stderr
	}
	bd, err := board.Load(opt.BoardDir)
	if err != nil {
		return nil, err
	}
	if opt.Work == "" {
		opt.Work = filepath.Join(opt.Out, "work-"+bd.Name)
	}
	for _, d := range []string{opt.Out, opt.Work, opt.Cache} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	for _, p := range []*string{&opt.Out, &opt.Work, &opt.Cache, &opt.Repo, &opt.BoardDir, &opt.Rootfs, &opt.UpdateKey} {
		if *p != "" {
			if *p, err = filepath.Abs(*p); err != nil {
				return nil, err
			}
		}
	}
	return &builder{opt: opt, board: bd, steps: 6, start: time.Now()}, nil
}

// kernelStep fetches and unpacks the kernel package and copies the kernel
// (and the board's device tree) into the work directory.
func (b *builder) kernelStep(ctx context.Context) (*artifacts, error) {
	bd := b.board
	b.stepf("kernel %s:%s", bd.Kernel.Package, bd.Kernel.DebArch)
	k, err := b.prepareKernel(ctx)
	if err != nil {
		return nil, err
	}
	art := &artifacts{kernel: k, vmlinuz: filepath.Join(b.opt.Work, "vmlinuz")}
	if err := copyFile(k.Vmlinuz, art.vmlinuz, 0o644); err != nil {
		return nil, err
	}
	if bd.Kernel.DTB != "" {
		art.dtb = filepath.Join(b.opt.Work, "board.dtb")
		src := filepath.Join(k.Root, "usr", "lib", "linux-image-"+k.Version, bd.Kernel.DTB)
		if err := copyFile(src, art.dtb, 0o644); err != nil {
			return nil, fmt.Errorf("board %s: kernel.dtb: %w", bd.Name, err)
		}
	}
	b.progress("kernel %s from %s=%s", k.Version, k.Deb.Name, k.Deb.Version)
	return art, nil
}

// stageStep lays out the initramfs tree and returns its directory and the
// number of kernel modules in it.
func (b *builder) stageStep(ctx context.Context, art *artifacts) (string, int, error) {
	b.stepf("initramfs tree: init, boxd, modules, rootfs/")
	stage := filepath.Join(b.opt.Work, "stage")
	nmod, err := b.stageRootfs(ctx, art.kernel, stage)
	if err != nil {
		return "", 0, err
	}
	if err := b.stageUpdateKey(stage); err != nil {
		return "", 0, err
	}
	art.defaultConfig = filepath.Join(stage, "etc", "pptpbox", "default.toml")
	if _, err := os.Stat(art.defaultConfig); err != nil {
		return "", 0, fmt.Errorf("rootfs: the embedded default config is missing: %w", err)
	}
	b.progress("%d modules (closure of %d listed)", nmod, len(b.board.Modules))
	return stage, nmod, nil
}

// publish copies the kernel and initramfs to stable names next to the
// versioned image, points pptpbox-<board>.img at it and measures the outputs.
func (b *builder) publish(imgPath, cpioPath string, art *artifacts, nmod int) (*Result, error) {
	opt, bd, k := b.opt, b.board, art.kernel
	// Stable names for scripts and tests (make run, qemu/firmware), next to the versioned one.
	res := &Result{Image: imgPath, KernelVersion: k.Version, Modules: nmod,
		Kernel: filepath.Join(opt.Out, bd.Name+".vmlinuz"), Initramfs: filepath.Join(opt.Out, bd.Name+".initrd.zst")}
	if err := copyFile(art.vmlinuz, res.Kernel, 0o644); err != nil {
		return nil, err
	}
	if err := copyFile(art.initrd, res.Initramfs, 0o644); err != nil {
		return nil, err
	}
	// What mkupdate packs into an update file for this board: the device tree and the
	// version next to the kernel and initramfs.
	if art.dtb != "" {
		if err := copyFile(art.dtb, filepath.Join(opt.Out, bd.Name+".dtb"), 0o644); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(opt.Out, bd.Name+".version"), []byte(opt.Version+"\n"), 0o644); err != nil {
		return nil, err
	}
	latest := filepath.Join(opt.Out, "pptpbox-"+bd.Name+".img")
	os.Remove(latest)
	if err := os.Symlink(filepath.Base(imgPath), latest); err != nil {
		return nil, err
	}
	for _, s := range []struct{ what, path string }{
		{"kernel " + k.Version, art.vmlinuz},
		{"initramfs (cpio)", cpioPath},
		{"initramfs (zstd)", art.initrd},
		{"image (sparse file size)", imgPath},
	} {
		st, err := os.Stat(s.path)
		if err != nil {
			return nil, err
		}
		res.Sizes = append(res.Sizes, Size{s.what, st.Size()})
	}
	return res, nil
}

// WriteSizeTable prints the sizes as an aligned table.
func (r *Result) WriteSizeTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "what\tbytes\tMiB\t\n")
	for _, s := range r.Sizes {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t\n", s.What, s.Bytes, float64(s.Bytes)/mib)
	}
	tw.Flush()
}

func (b *builder) stepf(format string, args ...any) {
	b.step++
	fmt.Fprintf(b.opt.Log, "[%d/%d %5.1fs] %s\n", b.step, b.steps, time.Since(b.start).Seconds(), fmt.Sprintf(format, args...))
}

func (b *builder) progress(format string, args ...any) {
	fmt.Fprintf(b.opt.Log, "        %s\n", fmt.Sprintf(format, args...))
}

// toolPackages names the Debian package of each host tool the build runs.
var toolPackages = map[string]string{
	"depmod": "kmod", "sgdisk": "gdisk", "mkfs.vfat": "dosfstools", "mmd": "mtools", "mcopy": "mtools",
	"grub-mkimage": "grub-common", "zstd": "zstd", "cpio": "cpio", "dpkg-deb": "dpkg", "apt-get": "apt",
}

// missingTool is the error for a host tool that is not installed: which package has it,
// and that `make deps` installs them all (a fresh machine runs `make image` first).
func missingTool(name string, err error) error {
	if pkg, ok := toolPackages[name]; ok {
		return fmt.Errorf("%s not found: install the Debian package %s (make deps installs every package the build needs): %w", name, pkg, err)
	}
	return fmt.Errorf("%s not found (make deps installs what the build needs): %w", name, err)
}

// output runs a command and returns its standard output.
func (b *builder) output(ctx context.Context, dir string, name string, args ...string) ([]byte, error) {
	return b.run(ctx, dir, nil, name, args...)
}

// run runs a command; on failure the error carries its standard error.
func (b *builder) run(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = env
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, missingTool(name, err)
		}
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = "..." + msg[len(msg)-2000:]
		}
		return nil, fmt.Errorf("%s: %w: %s", name, err, msg)
	}
	return stdout.Bytes(), nil
}
