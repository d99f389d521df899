package pid1

import "fmt"

// wanChange is the console line for the WAN address moving from last to cur
// ("eth0:203.0.113.2/24", "eth0:none"), and whether there is one to print.
func wanChange(last, cur string, uptime float64) (string, bool) {
	if cur == last {
		return "", false
	}
	return fmt.Sprintf("pptpbox wan=%s was=%s uptime=%.1fs\n", cur, last, uptime), true
}
