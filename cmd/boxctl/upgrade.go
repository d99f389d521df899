package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/pptpbox/pptpbox/pkg/control"
)

// runUpgrade streams an update file to the init's upgrade socket (control.UpgradeSocket)
// and prints what the init says. It is not a boxd call: the init owns the disk, and an
// upgrade must be possible when boxd is down.
func runUpgrade(ctx context.Context, sock string, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return usageError("usage: boxctl upgrade FILE (a signed update file, made by make update)")
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return fmt.Errorf("upgrade: %w (upgrades are installed by the box's init, which listens there)", err)
	}
	defer c.Close()
	go func() {
		<-ctx.Done()
		c.Close()
	}()
	if _, err := fmt.Fprintf(c, "%s boxctl\n", control.UpgradeMagic); err != nil {
		return err
	}
	if _, err := io.Copy(c, f); err != nil {
		return fmt.Errorf("upgrade: sending %s: %w", args[0], err)
	}
	c.(*net.UnixConn).CloseWrite()
	sc := bufio.NewScanner(c)
	last := ""
	for sc.Scan() {
		last = sc.Text()
		if last != "ok" && !strings.HasPrefix(last, "error: ") {
			fmt.Fprintln(stdout, last)
		}
	}
	switch {
	case last == "ok":
		return nil
	case strings.HasPrefix(last, "error: "):
		return errors.New(strings.TrimPrefix(last, "error: "))
	}
	return fmt.Errorf("upgrade: the init closed the connection without a result")
}
