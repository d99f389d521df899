//go:build tools

// Package deps pins the libraries pptpbox is built on until code imports them.
package deps

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/google/nftables"
	_ "github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	_ "github.com/mdlayher/netlink"
	_ "github.com/songgao/water"
	_ "golang.org/x/sys/unix"
	_ "layeh.com/radius"
	_ "layeh.com/radius/rfc2759"
)
