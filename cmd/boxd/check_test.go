package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckInterfaces: `boxd check -on-box` fails on a config naming an
// interface the machine lacks, with its file:line: key; without -on-box the
// file passes and the output says the interfaces were not checked. Before,
// `check` accepted `[wan] interface = "eth0"` on a box whose ports are
// wan/lan, and boxd then failed at every start.
func TestCheckInterfaces(t *testing.T) {
	f := filepath.Join(t.TempDir(), "x.toml")
	os.WriteFile(f, []byte("[wan]\ninterface = \"eth0\"\nmode = \"dhcp\"\n[lan]\ninterface = \"lan\"\naddress = \"192.168.1.1/24\"\n"), 0o644)
	have := map[string]bool{"wan": true, "lan": true}
	exists := func(n string) bool { return have[n] }
	var out bytes.Buffer
	err := check([]string{"-on-box", f}, &out, exists)
	if err == nil || !strings.Contains(err.Error(), f+":2: wan.interface: no interface \"eth0\"") {
		t.Fatalf("-on-box with eth0 missing: %v", err)
	}
	out.Reset()
	if err := check([]string{f}, &out, exists); err != nil {
		t.Fatalf("offline check: %v", err)
	}
	if !strings.Contains(out.String(), "interfaces eth0, lan not checked") {
		t.Errorf("offline output %q does not say what it did not check", out.String())
	}
	have["eth0"] = true
	out.Reset()
	if err := check([]string{"-on-box", f}, &out, exists); err != nil || !strings.Contains(out.String(), "present") {
		t.Fatalf("-on-box with eth0 present: %v %q", err, out.String())
	}
	if err := check([]string{"-on-box"}, &out, exists); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("no file: %v", err)
	}
}

// TestCheckBoardPortsMayBeAbsent: with -ports, a board port the file names
// whose card is missing passes (the box serves without it) and the output
// says it is absent; a name that is no board port still fails.
func TestCheckBoardPortsMayBeAbsent(t *testing.T) {
	f := filepath.Join(t.TempDir(), "x.toml")
	os.WriteFile(f, []byte("[wan]\ninterface = \"wan\"\nmode = \"dhcp\"\n[lan]\ninterface = \"lan\"\naddress = \"192.168.1.1/24\"\n"), 0o644)
	exists := func(n string) bool { return n == "wan" }
	var out bytes.Buffer
	if err := check([]string{"-on-box", "-ports", "wan,lan", f}, &out, exists); err != nil {
		t.Fatalf("lan card missing: %v", err)
	}
	if !strings.Contains(out.String(), "absent now, served without until they appear: lan") {
		t.Errorf("output %q does not name the absent port", out.String())
	}
	if err := check([]string{"-on-box", "-ports", "wan", f}, &out, exists); err == nil || !strings.Contains(err.Error(), "lan.interface: no interface \"lan\"") {
		t.Fatalf("lan is no board port: %v", err)
	}
}

// TestExitCode: errors a restart cannot fix exit 78, the init's signal to
// stop restarting boxd; others exit 1.
func TestExitCode(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("[pptp]\nbogus = 1\n"), 0o644)
	err := run(t.Context(), []string{"-config", bad, "-control", ""}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || exitCode(err) != exitUnfixable {
		t.Fatalf("bad config: %v, exit %d", err, exitCode(err))
	}
	if err := run(t.Context(), []string{"-nosuchflag"}, &bytes.Buffer{}, &bytes.Buffer{}); exitCode(err) != exitUnfixable {
		t.Fatalf("bad flag: %v", err)
	}
	if exitCode(errors.New("listen: address in use")) != 1 {
		t.Fatal("a plain error must exit 1")
	}
}
