package vmtest

import (
	"os"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/netcfg/netnstest"
)

// GateEnv is the variable that enables the QEMU tests (`make test-qemu` sets it).
const GateEnv = "PPTPBOX_QEMU_TESTS"

// Gate skips t unless GateEnv=1: the QEMU tests take minutes and root, and
// the plain unit run (`go test ./...`) must stay quick.
func Gate(t testing.TB) {
	t.Helper()
	if os.Getenv(GateEnv) != "1" {
		t.Skipf("vmtest: QEMU test; run with %s=1 (make test-qemu)", GateEnv)
	}
}

// Require calls Gate, then checks for root and the tools a guest needs
// (QEMU, iproute2, and what build.sh uses) plus any extra commands. A
// missing prerequisite skips the test, or fails it under CI=true.
func Require(t testing.TB, extra ...string) {
	t.Helper()
	Gate(t)
	tools := append([]string{"qemu-system-x86_64", "ip", "apt-get", "apt-cache", "dpkg-deb", "depmod", "cpio", "zstd", "bash"}, extra...)
	netnstest.Require(t, tools...)
}
