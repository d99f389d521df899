# PPTP control (pkg/pptp) and enhanced GRE (pkg/gre). `make unit` already runs their tests;
# test-pptp reruns them under the race detector (Conn is a multi-goroutine state machine) and
# includes the privileged GRE test, which builds two network namespaces joined by a veth pair.

APT_PACKAGES += iproute2
TEST_TARGETS += test-pptp

.PHONY: test-pptp
test-pptp:
	$(GO) test -count=1 -race ./pkg/pptp/... ./pkg/gre/...
