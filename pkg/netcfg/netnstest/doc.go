// Package netnstest runs privileged network tests in network namespaces the
// test creates and removes itself, so they never touch the host's links,
// routes or nftables.
//
// Tests that need root call [Require] (directly or through [Run]): it skips
// the test when not root, but fails it when CI=true, so a CI run cannot pass
// by silently skipping.
package netnstest
