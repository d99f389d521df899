package dict

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/dictionary"
	"layeh.com/radius/rfc2865"
)

// root is the module root, from this package's directory.
const root = "../../.."

// parse reads one dictionary file (and what it $INCLUDEs).
func parse(t *testing.T, path string) *dictionary.Dictionary {
	t.Helper()
	// $INCLUDE names a file beside the one including it.
	p := dictionary.Parser{Opener: &dictionary.FileSystemOpener{Root: filepath.Dir(path)}}
	d, err := p.ParseFile(filepath.Base(path))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return d
}

// attr is one attribute of a dictionary with its vendor (0: none).
type attr struct {
	vendor int
	a      *dictionary.Attribute
	values map[string]uint64
}

// attrs flattens a dictionary by attribute name.
func attrs(d *dictionary.Dictionary) map[string]attr {
	out := map[string]attr{}
	add := func(vendor int, as []*dictionary.Attribute, vs []*dictionary.Value) {
		for _, a := range as {
			out[a.Name] = attr{vendor: vendor, a: a, values: map[string]uint64{}}
		}
		for _, v := range vs {
			if a, ok := out[v.Attribute]; ok {
				a.values[v.Name] = v.Number
			}
		}
	}
	add(0, d.Attributes, d.Values)
	for _, v := range d.Vendors {
		add(v.Number, v.Attributes, v.Values)
	}
	return out
}

// TestGeneratedCurrent regenerates every package of this directory with the
// generator pinned in go.mod (its go:generate line) into a temporary
// directory and fails when the committed generated.go differs: run
// `go generate ./pkg/radius/dict/...` after changing dictionaries/.
func TestGeneratedCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the generator")
	}
	gens, err := filepath.Glob("*/generate.go")
	if err != nil || len(gens) == 0 {
		t.Fatalf("no generate.go below pkg/radius/dict (%v)", err)
	}
	for _, g := range gens {
		dir := filepath.Dir(g)
		src, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		var args []string
		for _, line := range strings.Split(string(src), "\n") {
			if rest, ok := strings.CutPrefix(line, "//go:generate go tool radius-dict-gen "); ok {
				args = strings.Fields(rest)
			}
		}
		if args == nil {
			t.Fatalf("%s: no //go:generate go tool radius-dict-gen line", g)
		}
		out := filepath.Join(t.TempDir(), "generated.go")
		for i := range args {
			if i > 0 && args[i-1] == "-output" {
				args[i] = out
			}
		}
		cmd := exec.Command("go", append([]string{"tool", "radius-dict-gen"}, args...)...)
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: go tool radius-dict-gen %v: %v\n%s", dir, args, err, b)
		}
		want, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, "generated.go"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s/generated.go is stale: run go generate ./pkg/radius/dict/...", dir)
		}
	}
}

// layehDicts parses every dictionary file layeh.com/radius ships (its RFC
// and vendor packages are generated from them), from the module cache.
func layehDicts(t *testing.T) map[string]map[string]attr {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "layeh.com/radius").Output()
	if err != nil {
		t.Fatalf("go list -m layeh.com/radius: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	files, err := filepath.Glob(filepath.Join(dir, "rfc*", "dictionary.*"))
	if err != nil {
		t.Fatal(err)
	}
	vendors, _ := filepath.Glob(filepath.Join(dir, "vendors", "*", "dictionary.*"))
	files = append(files, vendors...)
	if len(files) < 10 {
		t.Fatalf("only %d dictionary files in %s", len(files), dir)
	}
	m := map[string]map[string]attr{}
	for _, f := range files {
		pkg := filepath.Base(filepath.Dir(f))
		m[pkg] = attrs(parse(t, f))
	}
	return m
}

// TestDictionariesAgree checks every attribute of dictionaries/ against the
// one of the same name in layeh.com/radius's dictionaries, which its Go
// packages (rfc2865, vendors/microsoft, ...) are generated from: the same
// vendor, number, type, encryption and values, so a FreeRADIUS admin who
// loads our files decodes what the box sends.
func TestDictionariesAgree(t *testing.T) {
	ours := attrs(parse(t, filepath.Join(root, "dictionaries", "dictionary")))
	if len(ours) < 40 {
		t.Fatalf("dictionaries/dictionary: %d attributes, $INCLUDEs lost?", len(ours))
	}
	layeh := layehDicts(t)
	for name, o := range ours {
		var found []attr
		for _, d := range layeh {
			if a, ok := d[name]; ok {
				found = append(found, a)
			}
		}
		if len(found) == 0 {
			t.Errorf("%s: not in any layeh.com/radius dictionary", name)
			continue
		}
		var errs []string
		for _, l := range found {
			if err := same(o, l); err != nil {
				errs = append(errs, err.Error())
			}
		}
		if len(errs) == len(found) {
			t.Errorf("%s: %s", name, strings.Join(errs, "; "))
		}
	}
}

// same says how o (ours) differs from l (layeh's); Size (octets[24]) is not
// compared: FreeRADIUS does not need it.
func same(o, l attr) error {
	switch {
	case o.vendor != l.vendor:
		return fmt.Errorf("vendor %d, layeh %d", o.vendor, l.vendor)
	case !o.a.OID.Equals(l.a.OID):
		return fmt.Errorf("number %v, layeh %v", o.a.OID, l.a.OID)
	case o.a.Type != l.a.Type:
		return fmt.Errorf("type %v, layeh %v", o.a.Type, l.a.Type)
	case o.a.FlagEncrypt != l.a.FlagEncrypt:
		return fmt.Errorf("encrypt %v, layeh %v", o.a.FlagEncrypt, l.a.FlagEncrypt)
	}
	for v, n := range o.values {
		if ln, ok := l.values[v]; !ok || ln != n {
			return fmt.Errorf("value %s = %d, layeh %d (present %v)", v, n, ln, ok)
		}
	}
	return nil
}

// attributePackages are the Go packages of RADIUS attributes pkg/radius
// may use, by their import path's last element.
var attributePackages = map[string]bool{
	"rfc2865": true, "rfc2866": true, "rfc2869": true, "rfc3162": true, "rfc3576": true, "rfc5176": true,
	"microsoft": true, "mikrotik": true, "wispr": true,
}

// TestCodeUsesOnlyListed finds every attribute pkg/radius's production code
// names through an attribute package (rfc2865.UserName_SetString,
// mikrotik.MikrotikRateLimit_Lookup, ...) and fails when dictionaries/ does
// not list it: an attribute the box starts to send or honour goes into the
// files for the server side.
func TestCodeUsesOnlyListed(t *testing.T) {
	ours := attrs(parse(t, filepath.Join(root, "dictionaries", "dictionary")))
	byIdent := map[string]string{}
	for name := range ours {
		byIdent[ident(name)] = name
	}
	files, err := filepath.Glob(filepath.Join("..", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	used := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok || !attributePackages[pkg.Name] {
				return true
			}
			name, _, _ := strings.Cut(sel.Sel.Name, "_")
			used++
			if _, ok := byIdent[strings.ToLower(name)]; !ok {
				t.Errorf("%s: %s.%s: attribute %s is not in dictionaries/", fset.Position(sel.Pos()), pkg.Name, sel.Sel.Name, name)
			}
			return true
		})
	}
	if used < 20 {
		t.Fatalf("found only %d uses of attribute packages in pkg/radius", used)
	}
}

// ident is a dictionary name as radius-dict-gen's Go identifiers spell it,
// lower-cased (Calling-Station-Id: CallingStationID -> callingstationid).
func ident(name string) string {
	return strings.ToLower(strings.ReplaceAll(name, "-", ""))
}

// TestFreeRADIUSLoadsDictionaries: FreeRADIUS's radclient loads
// dictionaries/ as a raddb dictionary (what a server admin does) and sends
// a CoA-Request with every attribute in it by name; the packet that
// arrives has each one with the number, vendor and encoding our files (and
// so the Go code) give it.
func TestFreeRADIUSLoadsDictionaries(t *testing.T) {
	if _, err := exec.LookPath("radclient"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("radclient missing under CI (make deps: freeradius-utils)")
		}
		t.Skip("radclient not installed")
	}
	abs, err := filepath.Abs(filepath.Join(root, "dictionaries", "dictionary"))
	if err != nil {
		t.Fatal(err)
	}
	raddb := t.TempDir()
	if err := os.WriteFile(filepath.Join(raddb, "dictionary"), []byte("$INCLUDE "+abs+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ours := attrs(parse(t, abs))
	samples := map[dictionary.AttributeType]struct {
		text string
		wire []byte
	}{
		dictionary.AttributeString:   {`"x"`, []byte("x")},
		dictionary.AttributeOctets:   {"0x01", []byte{1}},
		dictionary.AttributeInteger:  {"1", []byte{0, 0, 0, 1}},
		dictionary.AttributeDate:     {"1", []byte{0, 0, 0, 1}},
		dictionary.AttributeIPAddr:   {"192.0.2.1", []byte{192, 0, 2, 1}},
		dictionary.AttributeIPv6Addr: {"::1", append(make([]byte, 15), 1)},
	}
	// Built by radclient itself, or not sendable as a plain value.
	skip := map[string]bool{"Vendor-Specific": true, "Message-Authenticator": true, "CHAP-Password": true, "MS-CHAP-MPPE-Keys": true}
	var lines []string
	for name, a := range ours {
		if skip[name] {
			continue
		}
		s, ok := samples[a.a.Type]
		if !ok {
			t.Fatalf("%s: no sample for type %v", name, a.a.Type)
		}
		lines = append(lines, name+" = "+s.text)
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	cmd := exec.Command("radclient", "-d", raddb, "-x", "-r", "1", "-t", "3", pc.LocalAddr().String(), "coa", "s3cret")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	buf := make([]byte, 4096)
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("no packet from radclient: %v\n%s", err, out.String())
	}
	p, err := radius.Parse(buf[:n], []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	for name, a := range ours {
		if skip[name] {
			continue
		}
		v, ok := lookup(p, a)
		switch {
		case !ok:
			t.Errorf("%s: not in the packet radclient sent", name)
		case a.a.FlagEncrypt.Valid:
			// Hidden on the wire (User-Password, the MPPE keys).
		case !bytes.Equal(v, samples[a.a.Type].wire):
			t.Errorf("%s: % x on the wire, want % x", name, v, samples[a.a.Type].wire)
		}
	}
	if t.Failed() {
		t.Logf("radclient:\n%s", out.String())
	}
}

// lookup finds attribute a in p: a plain attribute by type, a vendor one
// inside a Vendor-Specific of its vendor.
func lookup(p *radius.Packet, a attr) ([]byte, bool) {
	typ := a.a.OID[0]
	if a.vendor == 0 {
		v, ok := p.Lookup(radius.Type(typ))
		return v, ok
	}
	for _, avp := range p.Attributes {
		if avp.Type != rfc2865.VendorSpecific_Type {
			continue
		}
		id, v, err := radius.VendorSpecific(avp.Attribute)
		if err != nil || int(id) != a.vendor {
			continue
		}
		for len(v) >= 2 && int(v[1]) >= 2 && int(v[1]) <= len(v) {
			if int(v[0]) == typ {
				return v[2:v[1]], true
			}
			v = v[v[1]:]
		}
	}
	return nil, false
}
