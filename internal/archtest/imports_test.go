package archtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// goList runs `go list -json` over the module for GOOS=linux (the product's
// system: the _linux.go files' imports count). It needs no network: the
// module cache is filled by the build that compiled this test, and GOPROXY=off
// makes a missing module an error rather than a download.
func goList(t *testing.T) []Package {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH: the import rules of docs/internals.md are not checked")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "list", "-e",
		"-json=ImportPath,Imports,Deps,TestImports,XTestImports,Error", Module+"/...")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOPROXY=off", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			Package
			Error *struct{ Err string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p.Package)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages in %s/...: not the tree", len(pkgs), Module)
	}
	return pkgs
}

// TestImportRules checks the tree against the rules of docs/internals.md.
func TestImportRules(t *testing.T) {
	vs, missing := Check(Rules, goList(t))
	for _, m := range missing {
		t.Error(m)
	}
	for _, v := range vs {
		t.Error(v)
	}
}

func pkg(path string, imports, deps []string) Package {
	full := func(ps []string) []string {
		var out []string
		for _, p := range ps {
			if strings.Contains(p, ".") { // a library
				out = append(out, p)
			} else {
				out = append(out, Module+"/"+p)
			}
		}
		return out
	}
	return Package{ImportPath: Module + "/" + path, Imports: full(imports), Deps: full(slices.Concat(imports, deps))}
}

// fakeTree is a small graph that keeps the rules: every package that a rule
// names is there.
func fakeTree() []Package {
	var pkgs []Package
	for _, p := range Leaves {
		pkgs = append(pkgs, pkg(p, []string{"internal/lograte", "golang.org/x/sys/unix"}, nil))
	}
	return append(pkgs,
		pkg("internal/lograte", nil, nil),
		pkg("pkg/ppp", []string{"pkg/mschap", "pkg/mppe"}, []string{"internal/lograte"}),
		pkg("pkg/aaa", []string{"pkg/ppp", "pkg/mschap"}, []string{"pkg/mppe", "internal/lograte"}),
		pkg("pkg/radius", []string{"pkg/aaa", "pkg/ppp", "layeh.com/radius"}, []string{"pkg/mschap", "pkg/mppe"}),
		pkg("pkg/router", []string{"pkg/netcfg", "pkg/nat", "pkg/dhcpd", "pkg/dhcp4c"}, nil),
		pkg("pkg/config", []string{"pkg/ppp", "pkg/aaa", "pkg/nat"}, []string{"pkg/mschap", "pkg/mppe"}),
		pkg("pkg/confstore", []string{"pkg/config", "pkg/control", "pkg/atomicfile"}, []string{"pkg/ppp", "pkg/aaa", "pkg/nat", "pkg/mschap", "pkg/mppe"}),
		pkg("pkg/client", []string{"pkg/pptp", "pkg/gre", "pkg/ppp"}, []string{"pkg/mschap", "pkg/mppe"}),
		pkg("pkg/dialout", []string{"pkg/client", "pkg/ppp", "pkg/tun", "pkg/netcfg"}, []string{"pkg/pptp", "pkg/gre", "pkg/mschap", "pkg/mppe"}),
		pkg("pkg/session", []string{"pkg/pptp", "pkg/gre", "pkg/ppp", "pkg/aaa"}, []string{"pkg/mschap", "pkg/mppe"}),
		pkg("pkg/gre/gretest", []string{"pkg/gre"}, nil),
		pkg("pkg/metrics", []string{"pkg/control", "github.com/VictoriaMetrics/metrics"}, nil),
		pkg("cmd/boxd", []string{"pkg/session", "pkg/router", "pkg/control"}, nil),
		pkg("cmd/boxctl", []string{"pkg/control"}, nil),
		pkg("cmd/init", []string{"firmware/pid1"}, []string{"pkg/cli", "pkg/console", "pkg/control", "pkg/login"}),
		pkg("firmware/pid1", []string{"firmware/board", "pkg/atomicfile", "pkg/cli", "pkg/console", "pkg/control", "pkg/login"}, nil),
		pkg("qemu/rig", []string{"pkg/control"}, nil),
	)
}

func find(pkgs []Package, path string) *Package {
	for i := range pkgs {
		if pkgs[i].ImportPath == Module+"/"+path {
			return &pkgs[i]
		}
	}
	panic(path)
}

// TestCheck: the checker passes a tree that keeps the rules and names the
// package, the forbidden import and the rule for one that does not.
func TestCheck(t *testing.T) {
	vs, missing := Check(Rules, fakeTree())
	if len(vs) > 0 || len(missing) > 0 {
		t.Fatalf("a tree that keeps the rules: %v %v", vs, missing)
	}

	tests := []struct {
		name   string
		mutate func([]Package) []Package
		want   []string // one Violation.String() each, in order
	}{
		{"leaf imports a leaf", func(ps []Package) []Package {
			*find(ps, "pkg/nat") = pkg("pkg/nat", []string{"pkg/netcfg"}, nil)
			return ps
		}, []string{`pkg/nat imports pkg/netcfg: breaks the rule "leaves import no other pptpbox package (but internal/lograte)" (docs/internals.md)`}},
		{"radius reaches session through aaa", func(ps []Package) []Package {
			*find(ps, "pkg/aaa") = pkg("pkg/aaa", []string{"pkg/session"}, []string{"pkg/pptp", "pkg/gre", "pkg/ppp"})
			return ps
		}, []string{
			`pkg/aaa imports pkg/session: breaks the rule "pkg/aaa imports only ppp, mschap, mppe" (docs/internals.md)`,
			`pkg/aaa imports pkg/session: breaks the rule "nothing in pkg/ imports pkg/session; only cmd/boxd does" (docs/internals.md)`,
			`pkg/config imports pkg/session (through pkg/aaa): breaks the rule "nothing in pkg/ imports pkg/session; only cmd/boxd does" (docs/internals.md)`,
			`pkg/config imports pkg/session (through pkg/aaa): breaks the rule "pkg/config imports only leaf packages for their types (ppp, ippool, nat, netcfg, dhcpd, aaa, authguard, login, ratelimit)" (docs/internals.md)`,
			`pkg/config imports pkg/gre (through pkg/aaa): breaks the rule "pkg/config imports only leaf packages for their types (ppp, ippool, nat, netcfg, dhcpd, aaa, authguard, login, ratelimit)" (docs/internals.md)`,
			`pkg/config imports pkg/pptp (through pkg/aaa): breaks the rule "pkg/config imports only leaf packages for their types (ppp, ippool, nat, netcfg, dhcpd, aaa, authguard, login, ratelimit)" (docs/internals.md)`,
			`pkg/radius imports pkg/session (through pkg/aaa): breaks the rule "nothing in pkg/ imports pkg/session; only cmd/boxd does" (docs/internals.md)`,
		}},
		{"protocol packages", func(ps []Package) []Package {
			*find(ps, "pkg/ppp") = pkg("pkg/ppp", []string{"pkg/mppe", "pkg/gre"}, nil)
			return ps
		}, []string{
			`pkg/config imports pkg/gre (through pkg/ppp): breaks the rule "pkg/config imports only leaf packages for their types (ppp, ippool, nat, netcfg, dhcpd, aaa, authguard, login, ratelimit)" (docs/internals.md)`,
			`pkg/ppp imports pkg/gre: breaks the rule "protocol packages pptp, gre, ppp, mschap, mppe import none of each other, except ppp -> mschap, mppe" (docs/internals.md)`,
		}},
		{"a rig's test imports session", func(ps []Package) []Package {
			find(ps, "qemu/rig").XTestImports = []string{Module + "/pkg/session"}
			return ps
		}, []string{
			`qemu/rig imports pkg/session: breaks the rule "CLI and test rigs (cmd/boxctl, cmd/init, qemu/...) import pkg/control, never pkg/session" (docs/internals.md)`,
		}},
		{"boxd links a test helper", func(ps []Package) []Package {
			*find(ps, "pkg/session") = pkg("pkg/session", []string{"pkg/tun/tuntest"}, []string{"pkg/tun"})
			return append(ps, pkg("pkg/tun/tuntest", []string{"pkg/tun"}, nil))
		}, []string{
			`cmd/boxd imports pkg/tun/tuntest (through pkg/session): breaks the rule "test helpers (gretest, tuntest, netnstest, radiustest, controltest, ntptest, internal/flood) are for tests and qemu/ rigs: pkg/, cmd/ and firmware/ code never imports them" (docs/internals.md)`,
			`pkg/session imports pkg/tun/tuntest: breaks the rule "test helpers (gretest, tuntest, netnstest, radiustest, controltest, ntptest, internal/flood) are for tests and qemu/ rigs: pkg/, cmd/ and firmware/ code never imports them" (docs/internals.md)`,
		}},
		{"the init links boxd's config loader", func(ps []Package) []Package {
			*find(ps, "firmware/pid1") = pkg("firmware/pid1", []string{"pkg/console", "pkg/config"}, []string{"pkg/control", "pkg/cli"})
			return ps
		}, []string{
			`firmware/pid1 imports pkg/config: breaks the rule "the init (cmd/init, firmware/pid1) links the firmware packages, the console (cli, console, control, login) and atomicfile; boxd runs as a process, never linked" (docs/internals.md)`,
		}},
		{"metrics reads the session server itself", func(ps []Package) []Package {
			*find(ps, "pkg/metrics") = pkg("pkg/metrics", []string{"pkg/control", "pkg/radius"}, []string{"pkg/aaa", "pkg/ppp"})
			return ps
		}, []string{
			`pkg/metrics imports pkg/radius: breaks the rule "pkg/metrics (the /metrics writer) imports only pkg/control, for its types" (docs/internals.md)`,
		}},
		{"confstore applies a config itself", func(ps []Package) []Package {
			*find(ps, "pkg/confstore") = pkg("pkg/confstore", []string{"pkg/config", "pkg/control", "pkg/router"}, nil)
			return ps
		}, []string{
			`pkg/confstore imports pkg/dhcp4c (through pkg/router): breaks the rule "nothing in pkg/ but router imports dhcp4c" (docs/internals.md)`,
			`pkg/confstore imports pkg/router: breaks the rule "pkg/confstore (staged config, commit, rollback) imports only config (to validate), control (the API's types) and atomicfile" (docs/internals.md)`,
		}},
		{"dhcp4c outside router", func(ps []Package) []Package {
			return append(ps, pkg("pkg/dhcp4c/dhcp4ctest", []string{"pkg/dhcp4c"}, nil), pkg("pkg/wan", []string{"pkg/dhcp4c"}, nil))
		}, []string{
			`pkg/wan imports pkg/dhcp4c: breaks the rule "nothing in pkg/ but router imports dhcp4c" (docs/internals.md)`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs, missing := Check(Rules, tt.mutate(fakeTree()))
			var got []string
			for _, v := range vs {
				got = append(got, v.String())
			}
			if !slices.Equal(got, tt.want) || len(missing) > 0 {
				t.Errorf("got\n%s\nwant\n%s\nmissing %v", strings.Join(got, "\n"), strings.Join(tt.want, "\n"), missing)
			}
		})
	}

	// A rule naming a package the tree no longer has is reported.
	_, missing = Check(Rules, slices.DeleteFunc(fakeTree(), func(p Package) bool { return p.ImportPath == Module+"/pkg/router" }))
	if len(missing) != 1 || !strings.Contains(missing[0], "names pkg/router, which go list does not find") {
		t.Errorf("missing pkg/router: %q", missing)
	}
}
