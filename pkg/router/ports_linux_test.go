package router_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// TestPortAbsentThenPlugged runs the box (as boxd runs the router) in a
// namespace that has its WAN but no LAN card: it serves the WAN and waits;
// a LAN interface that appears (a USB NIC plugged in, the init renaming a
// late card) gets its address and DHCP server; one that goes away takes
// them down, and coming back brings them up again. The router never
// exits over it.
func TestPortAbsentThenPlugged(t *testing.T) {
	netnstest.Require(t, "ip", "nft")
	box := netnstest.NewNS(t, "ports")
	if _, err := box.Run("ip", "tuntap", "add", "wan0", "mode", "tap"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "pptpbox.toml")
	cfg := strings.Replace(boxConfig(1356, ""), "mode = \"dhcp\"", "mode = \"static\"\naddress = \"198.51.100.2/24\"\ngateway = \"198.51.100.1\"", 1)
	cfg = strings.ReplaceAll(cfg, `"leases.json"`, `"`+filepath.Join(dir, "leases.json")+`"`)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := box.Cmd(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), boxEnv+"="+cfgPath)
	var boxLog lockedBuffer
	cmd.Stdout, cmd.Stderr = &boxLog, &boxLog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() || testing.Verbose() {
			t.Logf("box log:\n%s", boxLog.String())
		}
	})
	addr := func(dev string) func() (bool, string) {
		return func() (bool, string) {
			out, _ := box.Run("ip", "-4", "addr", "show", "dev", dev)
			return strings.Contains(out, "inet "), out + boxLog.String()
		}
	}
	logSays := func(s string, n int) func() (bool, string) {
		return func() (bool, string) { return strings.Count(boxLog.String(), s) >= n, boxLog.String() }
	}
	alive := func() {
		t.Helper()
		select {
		case err := <-exited:
			t.Fatalf("the box exited: %v\n%s", err, boxLog.String())
		default:
		}
	}

	// The WAN comes up; the LAN is reported absent.
	eventually(t, 10*time.Second, "the WAN address", addr("wan0"))
	eventually(t, 10*time.Second, "the LAN reported absent", logSays(`msg="port absent: serving without it until its interface appears" port=lan iface=lan0`, 1))
	alive()

	// The card appears: address and DHCP server.
	if _, err := box.Run("ip", "tuntap", "add", "lan0", "mode", "tap"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the LAN address on the new card", addr("lan0"))
	eventually(t, 10*time.Second, "the LAN DHCP server", func() (bool, string) {
		out, _ := box.Run("ss", "-lunp")
		return strings.Contains(out, ":67 "), out
	})

	// Unplugged, and plugged again.
	if _, err := box.Run("ip", "link", "del", "lan0"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the LAN reported gone", logSays(`msg="port gone: its services stopped until it is back" port=lan`, 1))
	if _, err := box.Run("ip", "tuntap", "add", "lan0", "mode", "tap"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the LAN address again", addr("lan0"))
	alive()
}
