// Package netcfg programs the box's network ports over rtnetlink: links up
// and MTU, addresses, routes, proxy-ARP entries and sysctls, plus (in later
// files) the WAN DHCP client, the LAN DHCP server and the link watcher.
//
// # Calls used by the PPTP server
//
// The session layer brings its TUN device up with [LinkUp], [SetMTU] and
// [AddAddr], routes the address pool to it with [AddRoute] and turns on
// forwarding with [SetSysctl]. Every call is idempotent where the kernel
// allows it, so a restart or reload may repeat them.
//
// # Namespaces
//
// Each call opens its own netlink socket, so it acts on the network
// namespace of the calling OS thread. Tests run the calls on a thread locked
// into a fresh namespace (see the tests in this package).
//
// # Other systems
//
// Only Linux is implemented; elsewhere every call returns an error naming
// the operating system.
package netcfg
