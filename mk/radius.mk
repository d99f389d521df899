# RADIUS: the client (pkg/radius) under the race detector against fake servers and a real
# FreeRADIUS 3 (started per test from a private config directory, loopback only), and boxd
# authenticating and accounting pptpc sessions through FreeRADIUS in a network namespace, and
# a fleet of two boxd on one FreeRADIUS with an sqlite backend (radacct, Simultaneous-Use).
# CI=true turns "freeradius not installed" / "not root" from a skip into a failure.
APT_PACKAGES += freeradius freeradius-utils iproute2 iputils-ping sqlite3
TEST_TARGETS += test-radius

.PHONY: test-radius
test-radius: deps
	CI=true $(GO) test -count=1 -race ./pkg/radius/... ./pkg/aaa/...
	CI=true $(GO) test -count=1 -run 'TestBoxdFreeRADIUS|TestFleet|TestRadius' ./cmd/boxd ./pkg/config
