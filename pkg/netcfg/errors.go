package netcfg

import "errors"

// ErrNoSuchLink is wrapped by errors about an interface name the kernel does
// not know, so callers (config validation, the link watcher) can tell a
// missing NIC from a failed request.
var ErrNoSuchLink = errors.New("no such interface")
