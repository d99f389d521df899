// Package netcfg programs the box's network ports over rtnetlink: links up
// and MTU, addresses, routes, proxy-ARP entries and sysctls, the link
// watcher, resolv.conf, and [Ports], the WAN and LAN port description
// (plain data) with Configure, which programs what is not a running
// service. It imports no other part of the box: the services on the ports
// (the WAN DHCP client, pkg/dhcp4c; the LAN DHCP server, pkg/dhcpd) and the
// nftables table (pkg/nat) meet in pkg/router.
//
// # Callers
//
// pkg/router configures the ports ([Ports.Configure]) and installs the WAN
// DHCP leases ([AddAddr], [AddRouteVia], [WriteResolvConf]), and watches
// the WAN's carrier ([NewLinkWatcher]). cmd/boxd brings the PPTP server's
// TUN up with [LinkUp], [SetMTU] and [AddAddr], routes the address pool to
// it with [AddRoute], turns on forwarding with [SetSysctl] and answers ARP
// for session addresses on the LAN with [AddProxyARP]; cmd/pptpc sets up
// its own TUN the same way. Every call is idempotent where the kernel
// allows it, so a restart or reload may repeat them.
//
// # Namespaces
//
// Each call opens its own netlink socket, so it acts on the network
// namespace of the calling OS thread. Tests run the calls on a thread locked
// into a fresh namespace (see the tests in this package and netnstest).
//
// # Other systems
//
// Only Linux is implemented; elsewhere every call returns an error naming
// the operating system.
package netcfg
