// Package rig assembles the real-client test bench for the PPTP server: a
// network namespace standing for the box's WAN side, boxd running in it from
// a TOML file, and the Debian client guest (pppd + pptp-linux, see
// qemu/client) on a tap in that namespace. The end-to-end tests in qemu/e2e
// and the demo (qemu/demo.sh) are built from it.
//
//	namespace (the box)                         QEMU guest (the client)
//	  boxd -config box.toml                       pppd call box
//	    TCP 1723 + GRE on 192.0.2.1  <-- tap0 -->   pptp 192.0.2.1, eth0 192.0.2.2
//	    TUN pptp0: 10.79.97.1, pool 10.79.97.10-200  ppp0: an address from the pool
//
// Addresses are from the documentation range 192.0.2.0/24 (RFC 5737) and the
// pool of the product's seed tutorial; none leaves the namespace.
package rig
