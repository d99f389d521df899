// Command mkfirmware builds a pptpbox firmware image for one board.
//
//	mkfirmware -board board/qemu-amd64 -out out -cache ~/.cache/pptpbox -version v0.1.0
//
// It prints its progress, then a table of sizes. See package firmware/image.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"

	"github.com/pptpbox/pptpbox/firmware/image"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mkfirmware:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	home, _ := os.UserHomeDir()
	fs := flag.NewFlagSet("mkfirmware", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opt := image.Options{Log: stderr}
	fs.StringVar(&opt.BoardDir, "board", "board/qemu-amd64", "board folder")
	fs.StringVar(&opt.Repo, "repo", ".", "module root to build ./cmd/init and ./cmd/boxd from")
	fs.StringVar(&opt.Rootfs, "rootfs", "rootfs", "static files overlaid into the initramfs")
	fs.StringVar(&opt.Out, "out", "out", "output directory")
	fs.StringVar(&opt.Cache, "cache", filepath.Join(home, ".cache", "pptpbox"), "download cache")
	fs.StringVar(&opt.Version, "version", "dev", "version string (git describe)")
	fs.StringVar(&opt.UpdateKey, "update-key", "", "PEM ed25519 public key the image accepts updates from (default: the dev key in the cache, made on first use)")
	epoch := fs.Int64("epoch", envEpoch(), "timestamp for every file in the image (SOURCE_DATE_EPOCH)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	opt.Epoch = *epoch
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := image.Build(ctx, opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pptpbox %s for %s (kernel %s, %d modules)\n", opt.Version, filepath.Base(opt.BoardDir), res.KernelVersion, res.Modules)
	res.WriteSizeTable(stdout)
	fmt.Fprintf(stdout, "image: %s\n", res.Image)
	return nil
}

// envEpoch reads SOURCE_DATE_EPOCH (reproducible-builds.org); the default is a fixed date
// after 1980, the earliest a FAT timestamp can hold.
func envEpoch() int64 {
	if v, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64); err == nil && v >= 315532800 {
		return v
	}
	return 1704067200 // 2024-01-01T00:00:00Z
}
