package pid1

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestSetNofileInherited: the limit the init sets is the one its children get. The Go
// runtime raises its own soft limit at start-up and gives children the soft limit the
// program started with, unless the program set it through syscall.Setrlimit. The test runs
// itself under a soft limit of 1024 (a router kernel's default) so the difference shows:
// without setNofile the child sees 1024.
func TestSetNofileInherited(t *testing.T) {
	if os.Getenv("PID1_NOFILE_CHILD") == "1" {
		got, err := setNofile(ServiceNofile)
		if got.Cur != got.Max || got.Cur <= 1024 {
			t.Fatalf("setNofile: %+v, %v", got, err)
		}
		if err != nil {
			t.Logf("setNofile(%d): %v; soft raised to the hard limit %d", ServiceNofile, err, got.Max)
		}
		for _, flag := range []string{"-Sn", "-Hn"} {
			out, err := exec.Command("sh", "-c", "ulimit "+flag).Output()
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := strconv.ParseUint(strings.TrimSpace(string(out)), 10, 64); n != got.Cur {
				t.Errorf("child's ulimit %s = %s, want %d", flag, strings.TrimSpace(string(out)), got.Cur)
			}
		}
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", `ulimit -Sn 1024 && exec "$0" -test.run '^TestSetNofileInherited$' -test.v`, exe)
	cmd.Env = append(os.Environ(), "PID1_NOFILE_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("%s", out)
}
