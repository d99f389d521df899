package rig

import (
	"context"
	"fmt"

	"github.com/pptpbox/pptpbox/qemu/vmtest"
)

// The reference server's configuration: poptop pptpd as Debian ships it
// (pptpd.conf without logwtmp, whose plugin the guest lacks), the seed
// tutorial's addresses (LocalIP, Pool), and pppd logging to a file.
const (
	PPTPDConf = `option /etc/ppp/pptpd-options
localip 10.79.97.1
remoteip 10.79.97.10-200
`
	PPTPDOptions = `name pptpd
refuse-pap
refuse-chap
refuse-mschap
require-mschap-v2
require-mppe-128
ms-dns 8.8.8.8
ms-dns 8.8.4.4
proxyarp
nodefaultroute
lock
nobsdcomp
novj
novjccomp
nologfd
debug
logfile /var/log/pppd.log
`
	PPTPDSecrets = "test\t*\t\"test.test\"\t*\n"
)

// PPTPDLogs is what to look at when pptpd misbehaves: the guest's pppd log
// and the tail of its messages.
const PPTPDLogs = "cat /var/log/pppd.log; tail -30 /var/log/messages"

// StartPPTPD configures poptop pptpd (+ pppd) in a server guest
// (vmtest.FlavourServer) with the files above and starts it; setup, when
// not empty, runs in the guest first.
func StartPPTPD(ctx context.Context, server *vmtest.Guest, setup string) error {
	for path, data := range map[string]string{
		"/etc/pptpd.conf": PPTPDConf, "/etc/ppp/pptpd-options": PPTPDOptions, "/etc/ppp/chap-secrets": PPTPDSecrets,
	} {
		if err := server.WriteFile(ctx, path, []byte(data), 0o600); err != nil {
			return err
		}
	}
	if setup != "" {
		setup += " && "
	}
	if out, err := server.MustRun(ctx, setup+"syslogd -O /var/log/messages && pptpd && sleep 1 && pidof pptpd"); err != nil {
		return fmt.Errorf("rig: start pptpd: %w\n%s", err, out)
	}
	return nil
}
