package main

import (
	"log/slog"
	"syscall"
)

// descriptorReserve is what boxd keeps of RLIMIT_NOFILE for everything but
// PPTP control connections: the TUN device, the raw GRE socket, the
// listener, the control socket and its clients, RADIUS sockets, netlink and
// nftables, the DHCP server, the lease and config files.
const descriptorReserve = 64

// raiseNoFile sets boxd's descriptor limit on purpose (issue 14 item 1):
// the soft RLIMIT_NOFILE goes up to the hard one, which the init (or the
// shell) chose for the box. Every control connection costs a descriptor,
// and running out stopped the daemon before. It returns the soft limit now
// in force (0 if unknown), for connCap.
func raiseNoFile(log *slog.Logger) (soft uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Warn("descriptor limit: cannot read RLIMIT_NOFILE", "err", err)
		return 0
	}
	was := lim.Cur
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			log.Warn("descriptor limit: cannot raise the soft limit to the hard one", "soft", was, "hard", lim.Max, "err", err)
			lim.Cur = was
		}
	}
	log.Info("descriptor limit", "soft", lim.Cur, "hard", lim.Max, "soft_was", was)
	return lim.Cur
}

// connCap is pptp.max_connections sized to the descriptor limit soft: a
// cap the limit cannot hold would turn a flood into accept errors (EMFILE)
// for everyone, and starve RADIUS and the control socket of descriptors.
// It lowers the cap with a warning rather than refusing to start: a box
// that restarts forever serves no one.
func connCap(maxConns int, soft uint64, log *slog.Logger) int {
	if soft == 0 {
		return maxConns // unknown limit: the accept loop's backoff still holds
	}
	room := int(min(soft, 1<<20)) - descriptorReserve
	if room < 1 {
		room = 1
	}
	if maxConns > room {
		log.Warn("pptp.max_connections lowered to fit the descriptor limit", "max_connections", maxConns,
			"lowered_to", room, "nofile_soft", soft, "reserve", descriptorReserve)
		return room
	}
	return maxConns
}
