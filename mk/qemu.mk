# QEMU area (issue 3): the real-client rig. A Debian guest (kernel + busybox + pppd + pptp-linux,
# built from .debs by qemu/client/build.sh into $(CACHE)) connects to boxd running in a network
# namespace; the tests in qemu/... boot it under TCG (no KVM) and drive it over a serial channel.

APT_PACKAGES += qemu-system-x86 kmod cpio zstd util-linux iproute2 iputils-ping nftables
TEST_TARGETS += test-qemu

QEMU_OUT := $(OUT)/qemu
QEMU_BOXD := $(QEMU_OUT)/boxd

.PHONY: client-guest server-guest test-qemu fuzz-qemu demo

# client-guest builds (or finds in the cache) the PPTP client guest image.
client-guest: deps
	@CACHE=$(CACHE) qemu/client/build.sh client

# server-guest is the same plus poptop pptpd, a reference server for the rig.
server-guest: deps
	@CACHE=$(CACHE) qemu/client/build.sh server

$(QEMU_BOXD): FORCE_QEMU_BOXD
	@mkdir -p $(QEMU_OUT)
	$(GO) build -o $@ ./cmd/boxd

.PHONY: FORCE_QEMU_BOXD
FORCE_QEMU_BOXD:

# test-qemu runs the QEMU tests (privileged: root, network namespaces, taps). Without the
# PPTPBOX_QEMU_TESTS gate the plain unit run skips them.
test-qemu: deps client-guest $(QEMU_BOXD)
	@if [ "$$(id -u)" != 0 ]; then echo "test-qemu: needs root (network namespaces, tap devices)" >&2; exit 1; fi
	@mkdir -p $(QEMU_OUT)
	CACHE=$(CACHE) PPTPBOX_QEMU_TESTS=1 PPTPBOX_BOXD=$(abspath $(QEMU_BOXD)) \
		$(GO) test -count=1 -p 1 -timeout 20m -v ./qemu/... 2>&1 | tee $(QEMU_OUT)/test-qemu.log; \
		exit $${PIPESTATUS[0]}

# fuzz-qemu fuzzes the command channel's reply parser alone; `make fuzz` (scripts/fuzz-all.sh)
# already covers it with every other target, so `make test` does not run it twice.
fuzz-qemu:
	scripts/fuzz-all.sh $(FUZZTIME) ./qemu/vmtest

# demo runs boxd in a namespace with an example config and lets the client guest dial in.
demo: deps client-guest $(QEMU_BOXD)
	CACHE=$(CACHE) qemu/demo.sh $(abspath $(QEMU_BOXD))
