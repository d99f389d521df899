package clock

import (
	"context"
	"time"

	"github.com/beevik/ntp"
)

// Query asks server over UDP (RFC 4330; beevik/ntp) and checks the answer
// as RFC 4330 §5 asks (Validate). It waits at most 5 s, less if ctx ends
// sooner.
func Query(ctx context.Context, server string) (Sample, error) {
	timeout := 5 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	r, err := ntp.QueryWithOptions(server, ntp.QueryOptions{Timeout: timeout})
	if err != nil {
		return Sample{}, err
	}
	if err := r.Validate(); err != nil {
		return Sample{}, err
	}
	return Sample{Server: server, Offset: r.ClockOffset, RTT: r.RTT, Stratum: r.Stratum}, nil
}
