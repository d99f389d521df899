package clock

import (
	"context"
	"net"
	"time"

	"github.com/beevik/ntp"
)

// Query asks server over UDP (RFC 4330; beevik/ntp) and checks the answer
// as RFC 4330 §5 asks (Validate). It waits at most 5 s, name resolution
// included, less if ctx ends sooner.
func Query(ctx context.Context, server string) (Sample, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	d, _ := ctx.Deadline()
	r, err := ntp.QueryWithOptions(server, ntp.QueryOptions{
		Timeout: time.Until(d),
		// The default dialer resolves the name with no deadline: a WAN
		// without a working resolver would hold the round (and boxd's
		// shutdown) for the resolver's own timeouts.
		Dialer: func(_, remote string) (net.Conn, error) {
			var nd net.Dialer
			return nd.DialContext(ctx, "udp", remote)
		},
	})
	if err != nil {
		return Sample{}, err
	}
	if err := r.Validate(); err != nil {
		return Sample{}, err
	}
	return Sample{Server: server, Offset: r.ClockOffset, RTT: r.RTT, Stratum: r.Stratum}, nil
}
