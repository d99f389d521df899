// Package archtest holds the import rules of docs/internals.md ("Rules")
// and checks a package graph against them. imports_test.go runs the check on
// the tree with `go list`, so `make test` (go test ./...) fails when a change
// breaks a rule; the rules and the table in docs/internals.md change in the
// same commit.
//
// Paths are module-relative ("pkg/session"). A rule applies to the packages
// of From: an exact path, or "dir/..." for dir and everything below it. A
// package may always import its own subpackages and internal/lograte.
package archtest

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Module is the module path of the tree.
const Module = "github.com/pptpbox/pptpbox"

// Rule is one import rule.
type Rule struct {
	Name string   // as docs/internals.md words it; failure messages quote it
	From []string // packages the rule applies to
	// Except are packages of From the rule does not apply to.
	Except []string
	// Only, when not nil, lists the only module packages a package of
	// From may import directly.
	Only []string
	// Never lists module packages a package of From may not depend on,
	// directly or through another package.
	Never []string
	// Tests extends Never to what the package's test files import (and
	// what those packages depend on): for test rigs, whose code is tests.
	Tests bool
}

// Package is what the check needs of one package of `go list -json`
// (paths are full import paths, as go list prints them).
type Package struct {
	ImportPath   string
	Imports      []string // direct, production code
	Deps         []string // transitive, production code
	TestImports  []string
	XTestImports []string
}

// Violation is a package importing what a rule forbids.
type Violation struct {
	Package string // module-relative
	Import  string // the forbidden package
	Via     string // the direct import through which it is reached ("" if direct)
	Rule    string
}

func (v Violation) String() string {
	via := ""
	if v.Via != "" {
		via = " (through " + v.Via + ")"
	}
	return fmt.Sprintf("%s imports %s%s: breaks the rule %q (docs/internals.md)", v.Package, v.Import, via, v.Rule)
}

// Leaves import no other pptpbox package (but internal/lograte).
var Leaves = []string{
	"pkg/ippool", "pkg/ipv4frag", "pkg/tun", "pkg/authguard", "pkg/mschap", "pkg/mppe",
	"pkg/gre", "pkg/pptp", "pkg/dhcpd", "pkg/netcfg", "pkg/nat", "pkg/control", "pkg/dhcp4c", "pkg/login", "pkg/atomicfile",
	"pkg/logring", "pkg/trace", "pkg/probe", "pkg/cli", "pkg/clock", "pkg/remotelog", "pkg/ratelimit",
}

// Protocol are the protocol packages: they import none of each other,
// except ppp -> mschap, mppe.
var Protocol = []string{"pkg/pptp", "pkg/gre", "pkg/ppp", "pkg/mschap", "pkg/mppe"}

// TestHelpers are the fakes and harnesses for tests (wireguard-go's
// tuntest/bindtest): production binaries do not link them.
var TestHelpers = []string{
	"pkg/gre/gretest", "pkg/tun/tuntest", "pkg/netcfg/netnstest", "pkg/radius/radiustest", "internal/flood",
	"pkg/control/controltest", "pkg/clock/ntptest",
}

// Rules are the import rules of docs/internals.md.
var Rules = rules()

func rules() []Rule {
	var rs []Rule
	const proto = "protocol packages pptp, gre, ppp, mschap, mppe import none of each other, except ppp -> mschap, mppe"
	for _, p := range Protocol {
		var never []string
		for _, q := range Protocol {
			if q != p && !(p == "pkg/ppp" && (q == "pkg/mschap" || q == "pkg/mppe")) {
				never = append(never, q)
			}
		}
		rs = append(rs, Rule{Name: proto, From: []string{p}, Never: never})
	}
	for _, p := range Leaves {
		rs = append(rs, Rule{Name: "leaves import no other pptpbox package (but internal/lograte)", From: []string{p}, Only: []string{}})
	}
	return append(rs,
		Rule{
			Name: "pkg/router owns the ports: it imports netcfg, nat, dhcpd, dhcp4c",
			From: []string{"pkg/router"},
			Only: []string{"pkg/netcfg", "pkg/nat", "pkg/dhcpd", "pkg/dhcp4c"},
		},
		Rule{
			Name:   "nothing in pkg/ but router imports dhcp4c",
			From:   []string{"pkg/..."},
			Except: []string{"pkg/router", "pkg/dhcp4c/..."},
			Never:  []string{"pkg/dhcp4c"},
		},
		Rule{
			Name: "pkg/metrics (the /metrics writer) imports only pkg/control, for its types",
			From: []string{"pkg/metrics"},
			Only: []string{"pkg/control"},
		},
		Rule{
			Name: "pkg/aaa imports only ppp, mschap, mppe",
			From: []string{"pkg/aaa"},
			Only: []string{"pkg/ppp", "pkg/mschap", "pkg/mppe"},
		},
		Rule{
			Name: "pkg/radius imports only aaa, ppp, mschap, mppe, ratelimit (never pkg/session)",
			From: []string{"pkg/radius"},
			Only: []string{"pkg/aaa", "pkg/ppp", "pkg/mschap", "pkg/mppe", "pkg/ratelimit"},
		},
		Rule{
			Name:   "only pkg/session (and cmd/boxd) imports pkg/trace; the layers declare the tracer interface they write to",
			From:   []string{"pkg/..."},
			Except: []string{"pkg/session/...", "pkg/trace/..."},
			Never:  []string{"pkg/trace"},
		},
		Rule{
			Name:   "nothing in pkg/ imports pkg/session; only cmd/boxd does",
			From:   []string{"pkg/..."},
			Except: []string{"pkg/session/..."},
			Never:  []string{"pkg/session"},
		},
		Rule{
			Name: "pkg/config imports only leaf packages for their types (ppp, ippool, nat, netcfg, dhcpd, aaa, authguard, login, ratelimit)",
			From: []string{"pkg/config"},
			Only: []string{"pkg/ppp", "pkg/ippool", "pkg/nat", "pkg/netcfg", "pkg/dhcpd", "pkg/aaa", "pkg/authguard", "pkg/login", "pkg/ratelimit"},
			Never: []string{"pkg/session", "pkg/radius", "pkg/router", "pkg/control", "pkg/client",
				"pkg/tun", "pkg/gre", "pkg/pptp"},
		},
		Rule{
			Name: "pkg/confstore (staged config, commit, rollback) imports only config (to validate), control (the API's types) and atomicfile",
			From: []string{"pkg/confstore"},
			Only: []string{"pkg/config", "pkg/control", "pkg/atomicfile"},
		},
		Rule{
			Name: "CLI and test rigs (cmd/boxctl, cmd/init, qemu/...) import pkg/control, never pkg/session",
			From: []string{"cmd/boxctl", "cmd/init", "qemu/..."},
			// TestImports count: qemu/e2e and qemu/firmware are all tests.
			Never: []string{"pkg/session"},
			Tests: true,
		},
		Rule{
			Name: "the init (cmd/init, firmware/pid1) links the firmware packages, the console (cli, console, control, login) and atomicfile; boxd runs as a process, never linked",
			From: []string{"cmd/init", "firmware/pid1"},
			Only: []string{"firmware/pid1", "firmware/board", "firmware/fat", "firmware/kmod",
				"firmware/grubenv", "firmware/slots", "firmware/update", "pkg/atomicfile", "pkg/cli", "pkg/console", "pkg/control", "pkg/login"},
		},
		Rule{
			Name:  "pkg/client (the PPTP client) imports pptp, gre, ppp; not session",
			From:  []string{"pkg/client"},
			Only:  []string{"pkg/pptp", "pkg/gre", "pkg/ppp"},
			Never: []string{"pkg/session"},
		},
		Rule{
			Name:   "test helpers (gretest, tuntest, netnstest, radiustest, controltest, ntptest, internal/flood) are for tests and qemu/ rigs: pkg/, cmd/ and firmware/ code never imports them",
			From:   []string{"pkg/...", "cmd/...", "firmware/...", "internal/..."},
			Except: TestHelpers,
			Never:  TestHelpers,
		},
	)
}

// match reports whether path is pattern or, for "dir/...", dir or below.
func match(pattern, path string) bool {
	if dir, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == dir || strings.HasPrefix(path, dir+"/")
	}
	return path == pattern
}

func matchAny(patterns []string, path string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return match(p, path) })
}

// local makes an import path module-relative; ok is false outside the module.
func local(path string) (string, bool) {
	return strings.CutPrefix(path, Module+"/")
}

// Check returns the violations of rules in pkgs, and the problems of rules
// that name a package (not a pattern) pkgs does not have: a renamed package
// would otherwise escape its rules.
func Check(rules []Rule, pkgs []Package) (vs []Violation, missing []string) {
	deps := map[string][]string{} // module-relative -> its module-relative deps
	for _, p := range pkgs {
		if l, ok := local(p.ImportPath); ok {
			deps[l] = localPaths(p.Deps)
		}
	}
	for _, r := range rules {
		for _, f := range r.From {
			if _, ok := deps[f]; !ok && !strings.HasSuffix(f, "/...") {
				missing = append(missing, fmt.Sprintf("rule %q names %s, which go list does not find: update the rule and docs/internals.md", r.Name, f))
			}
		}
	}
	for _, p := range pkgs {
		l, ok := local(p.ImportPath)
		if !ok {
			continue
		}
		for _, r := range rules {
			if !matchAny(r.From, l) || matchAny(r.Except, l) {
				continue
			}
			vs = append(vs, checkOne(r, l, p, deps)...)
		}
	}
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].Package < vs[j].Package })
	return vs, missing
}

func checkOne(r Rule, l string, p Package, deps map[string][]string) []Violation {
	var vs []Violation
	imports := localPaths(p.Imports)
	own := func(imp string) bool { return match(l+"/...", imp) || imp == "internal/lograte" }
	if r.Only != nil {
		for _, imp := range imports {
			if !own(imp) && !slices.Contains(r.Only, imp) {
				vs = append(vs, Violation{Package: l, Import: imp, Rule: r.Name})
			}
		}
	}
	direct := imports
	if r.Tests {
		direct = slices.Concat(imports, localPaths(p.TestImports), localPaths(p.XTestImports))
	}
	for _, bad := range r.Never {
		for _, imp := range direct {
			switch {
			case imp == bad:
				if r.Only == nil || slices.Contains(r.Only, imp) { // not reported twice
					vs = append(vs, Violation{Package: l, Import: bad, Rule: r.Name})
				}
			case slices.Contains(deps[imp], bad):
				vs = append(vs, Violation{Package: l, Import: bad, Via: imp, Rule: r.Name})
			}
		}
	}
	return dedupe(vs)
}

// dedupe keeps the first violation of each forbidden import: one line per
// package and forbidden import is enough to find the edge.
func dedupe(vs []Violation) []Violation {
	seen := map[string]bool{}
	out := vs[:0]
	for _, v := range vs {
		if !seen[v.Import] {
			seen[v.Import] = true
			out = append(out, v)
		}
	}
	return out
}

func localPaths(paths []string) []string {
	var out []string
	for _, p := range paths {
		if l, ok := local(p); ok {
			out = append(out, l)
		}
	}
	return out
}
