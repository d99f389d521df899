package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/pptpbox/pptpbox/pkg/config"
	"github.com/pptpbox/pptpbox/pkg/netcfg"
)

// check is `boxd check [-on-box] FILE`: validate FILE. Whether the interfaces
// it names exist depends on the machine: the firmware's init passes -on-box
// (it runs the check after renaming the ports to their roles), and then a
// missing interface is an error with its file:line: key. Without -on-box (a
// PC, an operator checking a file before copying it to a stick) the check
// says it could not check them instead of failing on the PC's interfaces.
// With -ports (the board's port names, which the init passes) a port the
// file names that is absent (its card missing) is not an error: boxd
// serves without it until it appears. Any other absent name still is: a
// typo must not replace a config that works.
func check(args []string, stdout io.Writer, exists func(string) bool) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	onBox := fs.Bool("on-box", false, "also check that the interfaces the file names exist here")
	portList := fs.String("ports", "", "with -on-box: the board's ports (comma-separated) that may be absent")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		return errors.New("usage: boxd check [-on-box [-ports wan,lan]] FILE")
	}
	var boardPorts []string
	if *portList != "" {
		boardPorts = strings.Split(*portList, ",")
	}
	path := fs.Arg(0)
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	names := configInterfaces(cfg)
	switch {
	case len(names) == 0:
		fmt.Fprintf(stdout, "%s: ok\n", path)
	case *onBox:
		var absent []string
		err := cfg.CheckInterfaces(func(n string) bool {
			if exists(n) {
				return true
			}
			if slices.Contains(boardPorts, n) {
				absent = append(absent, n)
				return true
			}
			return false
		})
		if err != nil {
			return err
		}
		if len(absent) > 0 {
			fmt.Fprintf(stdout, "%s: ok (interfaces %s; absent now, served without until they appear: %s)\n", path, strings.Join(names, ", "), strings.Join(absent, ", "))
			return nil
		}
		fmt.Fprintf(stdout, "%s: ok (interfaces %s present)\n", path, strings.Join(names, ", "))
	default:
		fmt.Fprintf(stdout, "%s: ok; interfaces %s not checked (not on the box: boxd check -on-box checks them)\n", path, strings.Join(names, ", "))
	}
	return nil
}

// configInterfaces lists the interfaces a config names (what CheckInterfaces
// looks for).
func configInterfaces(cfg *config.Config) []string {
	if !cfg.RouterEnabled() {
		return nil
	}
	var names []string
	cfg.CheckInterfaces(func(n string) bool { names = append(names, n); return true })
	return names
}

func linkExists(name string) bool { _, err := netcfg.LinkIndex(name); return err == nil }
