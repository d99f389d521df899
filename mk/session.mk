# PPP, sessions and the in-process end-to-end tests under the race detector: the link, the
# session table and the dataplane run on several goroutines.
TEST_TARGETS += test-session

.PHONY: test-session
test-session:
	$(GO) test -count=1 -race ./pkg/ppp/... ./pkg/session/... ./pkg/client/... ./pkg/control/... ./pkg/authguard/...
