# PPTP control (pkg/pptp) and enhanced GRE (pkg/gre). `make unit` already runs their tests;
# test-pptp reruns them under the race detector (Conn is a multi-goroutine state machine) and
# includes the privileged tests: GRE between two network namespaces joined by a veth pair, and
# interop with the real Linux client (pptp-linux, run with --nolaunchpppd) in a namespace.

APT_PACKAGES += iproute2 pptp-linux
TEST_TARGETS += test-pptp

.PHONY: test-pptp
test-pptp: deps
	$(GO) test -count=1 -race ./pkg/pptp/... ./pkg/gre/...
