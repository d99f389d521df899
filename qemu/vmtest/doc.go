// Package vmtest boots the Debian PPTP guests that qemu/client/build.sh makes
// and drives them from Go tests.
//
// # The guest
//
// A Debian kernel and a small initramfs (busybox, pppd, pptp-linux, optionally
// pptpd) boot under QEMU's software emulation in about ten seconds. The guest
// prints its console (kernel messages and "pptpbox-guest: ready") on ttyS0,
// which QEMU writes to a file, and serves a command channel on ttyS1, which
// QEMU exposes as a unix socket. eth0 is a virtio NIC on a tap device in a
// network namespace of the test (package qemu/netns).
//
// # The command channel
//
// Guest.Run sends one sh script per call and gets back its combined output
// and exit status; both directions are framed and base64-encoded (see
// shell.go), so output of any shape survives the serial line.
//
// # Gating
//
// These tests boot VMs and need root: Gate skips them unless
// PPTPBOX_QEMU_TESTS=1 (set by `make test-qemu`), so a plain `go test ./...`
// stays fast; Require then skips when root or a tool is missing, and fails
// instead under CI=true.
package vmtest
