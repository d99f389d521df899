// Package netns manages the named network namespaces the QEMU tests build:
// a namespace with a tap device for a guest, the daemon under test started
// inside it with `ip netns exec`, and Go sockets opened inside it with Do.
//
// # Lifetime
//
// New creates a namespace named after a prefix, the process ID and a counter,
// so parallel test binaries never collide; Close deletes the taps and bridges
// it created and then the namespace. Tests register Close with t.Cleanup so it
// runs even when they fail.
//
// # Addresses
//
// Only addresses the caller passes are configured; the tests use the
// documentation range 192.0.2.0/24 (RFC 5737), which never leaves the
// namespace.
package netns
