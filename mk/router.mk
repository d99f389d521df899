# Router area (issue 4): pkg/router, pkg/netcfg, pkg/nat, pkg/dhcpd, pkg/dhcp4c,
# pkg/config/router.go.
# The privileged tests build network namespaces, tap devices and nftables
# tables of their own; they need root and skip without it (fail under CI=true).

APT_PACKAGES += nftables iproute2 iputils-ping
TEST_TARGETS += test-router

ROUTER_PKGS := ./pkg/router/... ./pkg/netcfg/... ./pkg/nat/... ./pkg/dhcpd/... ./pkg/dhcp4c/...

.PHONY: test-router
test-router: deps
	@if [ "$$(id -u)" != 0 ]; then echo "test-router: needs root (network namespaces, nftables)" >&2; exit 1; fi
	$(GO) test -count=1 -p 1 $(ROUTER_PKGS)
