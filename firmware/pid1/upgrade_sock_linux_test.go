package pid1

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/control"
)

// TestUpgradeSocket: the init's socket takes a request line and a file, hands them to
// install, and ends with "ok" or "error: ...".
func TestUpgradeSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "upgrade.sock")
	type call struct {
		data   string
		source string
	}
	calls := make(chan call, 4)
	install := func(data []byte, source string, out io.Writer) error {
		calls <- call{string(data), source}
		if string(data) == "bad" {
			return errors.New("update: not a pptpbox update file")
		}
		fmt.Fprintln(out, "upgrade: writing B/vmlinuz")
		return nil
	}
	go serveUnix(path, func(c *os.File) {
		defer c.Close()
		serveUpgrade(c, install, func(string, ...any) {})
	})
	var st os.FileInfo
	for st == nil {
		st, _ = os.Stat(path)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", st.Mode().Perm())
	}
	ask := func(request, body string) string {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, request+body)
		c.(*net.UnixConn).CloseWrite()
		out, _ := io.ReadAll(bufio.NewReader(c))
		return string(out)
	}
	if got := ask(control.UpgradeMagic+" boxctl\n", "good"); got != "upgrade: writing B/vmlinuz\nok\n" {
		t.Errorf("good: %q", got)
	}
	if c := <-calls; c != (call{"good", "boxctl"}) {
		t.Errorf("install got %+v", c)
	}
	if got := ask(control.UpgradeMagic+"\n", "bad"); !strings.HasPrefix(got, "error: update: not a pptpbox update file") {
		t.Errorf("bad: %q", got)
	}
	if c := <-calls; c.source != "socket" {
		t.Errorf("default source %q", c.source)
	}
	if got := ask("GET / HTTP/1.0\n", ""); got != "error: not an upgrade request\n" {
		t.Errorf("not a request: %q", got)
	}
}
