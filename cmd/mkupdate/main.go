// Command mkupdate makes and inspects pptpbox update files (package firmware/update).
//
//	mkupdate keygen -out DIR                    new key pair: DIR/update.key, DIR/update.pub
//	mkupdate build [-key KEY] [-board B] [-in out] [-o FILE]
//	                                            sign the kernel and initramfs mkfirmware left in -in
//	mkupdate inspect [-pub PUB] [-board B] FILE print the header; with -pub, verify it as a box would
//
// build signs with the development key in the cache unless -key names another; the image
// must trust the same key (mkfirmware -update-key takes the public half).
package main

import (
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pptpbox/pptpbox/firmware/image"
	"github.com/pptpbox/pptpbox/firmware/update"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mkupdate:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: mkupdate keygen|build|inspect ... (see go doc ./cmd/mkupdate)")
	}
	switch args[0] {
	case "keygen":
		return keygen(args[1:], stdout, stderr)
	case "build":
		return build(args[1:], stdout, stderr)
	case "inspect":
		return inspect(args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown command %q: keygen, build or inspect", args[0])
}

func keygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", ".", "directory for update.key and update.pub")
	if err := fs.Parse(args); err != nil {
		return err
	}
	priv, pub := filepath.Join(*out, "update.key"), filepath.Join(*out, "update.pub")
	for _, p := range []string{priv, pub} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%s exists: not overwriting a key", p)
		}
	}
	privPEM, pubPEM, err := update.GenerateKey()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(priv, privPEM, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(pub, pubPEM, 0o644); err != nil {
		return err
	}
	k, _ := update.ParsePublicKey(pubPEM)
	fmt.Fprintf(stdout, "key %s: %s (keep it secret), %s (give it to mkfirmware -update-key)\n", update.KeyID(k), priv, pub)
	return nil
}

func build(args []string, stdout, stderr io.Writer) error {
	home, _ := os.UserHomeDir()
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyPath := fs.String("key", "", "PEM ed25519 private key (default: the dev key in -cache)")
	cache := fs.String("cache", filepath.Join(home, ".cache", "pptpbox"), "cache holding the dev key")
	boardDir := fs.String("board", "board/qemu-amd64", "board folder")
	in := fs.String("in", "out", "mkfirmware's output directory")
	out := fs.String("o", "", "update file (default: IN/pptpbox-BOARD-VERSION.upd)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	board := filepath.Base(*boardDir)
	if *keyPath == "" {
		var err error
		if *keyPath, _, err = image.DevKey(*cache); err != nil {
			return err
		}
	}
	priv, err := update.ReadPrivateKey(*keyPath)
	if err != nil {
		return err
	}
	v, err := os.ReadFile(filepath.Join(*in, board+".version"))
	if err != nil {
		return fmt.Errorf("%w (build the image first: make image BOARD=%s)", err, board)
	}
	version := strings.TrimSpace(string(v))
	files := map[string][]byte{}
	for name, src := range map[string]string{update.Kernel: board + ".vmlinuz", update.Initramfs: board + ".initrd.zst", update.DTB: board + ".dtb"} {
		data, err := os.ReadFile(filepath.Join(*in, src))
		if errors.Is(err, os.ErrNotExist) && name == update.DTB {
			continue
		}
		if err != nil {
			return err
		}
		files[name] = data
	}
	data, err := update.Build(priv, board, version, files)
	if err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join(*in, "pptpbox-"+board+"-"+version+update.Extension)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: board %s version %s, %d bytes, signed with key %s\n", *out, board, version, len(data), update.KeyID(priv.Public().(ed25519.PublicKey)))
	return nil
}

func inspect(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pubPath := fs.String("pub", "", "verify with this PEM public key")
	board := fs.String("board", "", "with -pub: the board to verify for (default: the file's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("inspect: one update file")
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	h, _, _, _, err := update.ParseHeader(data)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "board %s\nversion %s\nkey %s\n", h.Board, h.Version, h.KeyID)
	for _, f := range h.Files {
		fmt.Fprintf(stdout, "file %s %d %x\n", f.Name, f.Size, f.SHA256)
	}
	if *pubPath == "" {
		return nil
	}
	pub, err := update.ReadPublicKey(*pubPath)
	if err != nil {
		return err
	}
	if *board == "" {
		*board = h.Board
	}
	if _, err := update.Verify(data, pub, *board); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "verified")
	return nil
}
