// Package e2e holds the end-to-end tests of the PPTP server against the real
// Linux client: Debian's pppd and pptp-linux in a QEMU guest dial boxd
// running in a network namespace (see qemu/rig). They are gated like every
// QEMU test (PPTPBOX_QEMU_TESTS=1, root, QEMU); `make test-qemu` runs them
// with the boxd it builds (PPTPBOX_BOXD).
package e2e
