package aaa

import "testing"

func TestCauseString(t *testing.T) {
	for c, want := range map[Cause]string{CauseUserRequest: "User-Request", CauseAdminReboot: "Admin-Reboot", CausePortPreempted: "Port-Preempted", 99: "Cause(99)"} {
		if c.String() != want {
			t.Errorf("%d: %q, want %q", uint32(c), c.String(), want)
		}
	}
}
