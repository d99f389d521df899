# Firmware image (issue 5): `make image BOARD=qemu-amd64`, `make run`, `make run-arm64`,
# `make test-firmware`. Kernel and boot-loader .debs are cached in $(CACHE)/debs.

BOARD ?= qemu-amd64
# Every timestamp in the image: the commit's date, so that two builds of one commit match.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 1704067200)
export SOURCE_DATE_EPOCH
FIRMWARE_IMAGE = $(OUT)/pptpbox-$(BOARD)-$(VERSION).img

APT_PACKAGES += qemu-system-x86 qemu-system-arm qemu-utils ovmf qemu-efi-aarch64 grub-common \
	gdisk mtools dosfstools cpio zstd kmod
TEST_TARGETS += test-firmware

.PHONY: image images firmware-apt-arm64 run run-arm64 test-firmware

# arm64 kernels and GRUB come from Debian's arm64 archive: apt needs the architecture once.
firmware-apt-arm64:
	@dpkg --print-foreign-architectures | grep -qx arm64 || { \
	  [ "$$(id -u)" = 0 ] || { echo "firmware: run as root once: dpkg --add-architecture arm64 && apt-get update" >&2; exit 1; }; \
	  dpkg --add-architecture arm64 && apt-get update -qq; }

# Every target that runs host tools (depmod, sgdisk, mtools, grub-mkimage, qemu) depends on
# deps: on a fresh machine it installs them, or names the missing packages and stops.
image: deps $(if $(filter %arm64 nanopi%,$(BOARD)),firmware-apt-arm64)
	$(GO) run ./cmd/mkfirmware -board board/$(BOARD) -out $(OUT) -cache $(CACHE) -version $(VERSION) $(if $(UPDATE_PUB),-update-key $(UPDATE_PUB))

images: deps
	$(MAKE) image BOARD=qemu-amd64
	$(MAKE) image BOARD=qemu-arm64

# make run: the qemu-amd64 image under QEMU (SeaBIOS), serial console on this terminal
# (Ctrl-A X quits QEMU). How to reach the box:
#   - console: the terminal you ran `make run` in (the status prompt, `help`);
#   - WAN: QEMU user networking (the box gets 10.0.2.15 by DHCP); host 127.0.0.1:1723 is
#     forwarded to the box's PPTP control port (GRE cannot cross user networking, so a full
#     VPN client runs on the LAN side);
#   - LAN: a QEMU socket network listening on 127.0.0.1:$(RUN_LAN_PORT); another guest, such
#     as the client guest in qemu/, joins it with -netdev socket,id=lan,connect=127.0.0.1:$(RUN_LAN_PORT)
#     and gets a 192.168.1.100-199 address from the box's DHCP server (the default config).
# The disk is a writable copy (out/run-BOARD.img), so config edits survive between runs
# until the image is rebuilt.
RUN_LAN_PORT ?= 15723
RUN_NET = -netdev user,id=wan,hostfwd=tcp:127.0.0.1:1723-:1723 -device virtio-net-pci,netdev=wan \
	-netdev socket,id=lan,listen=127.0.0.1:$(RUN_LAN_PORT) -device virtio-net-pci,netdev=lan \
	-device i6300esb

define run-disk
	@src=$$(readlink -f $(OUT)/pptpbox-$(1).img); dst=$(OUT)/run-$(1).img; \
	if [ ! -e $$dst ] || [ $$src -nt $$dst ]; then cp --sparse=always $$src $$dst; fi
endef

run: deps
	$(MAKE) image BOARD=qemu-amd64
	$(call run-disk,qemu-amd64)
	@echo "run: booting $(OUT)/run-qemu-amd64.img (SeaBIOS); Ctrl-A X quits"
	qemu-system-x86_64 -M pc -m 512 -nographic \
		-drive file=$(OUT)/run-qemu-amd64.img,format=raw,if=virtio $(RUN_NET)

run-arm64: deps
	$(MAKE) image BOARD=qemu-arm64
	$(call run-disk,qemu-arm64)
	@echo "run-arm64: booting $(OUT)/run-qemu-arm64.img (EDK2); Ctrl-A X quits"
	qemu-system-aarch64 -M virt -cpu max,pauth-impdef=on -m 512 -nographic \
		-bios /usr/share/qemu-efi-aarch64/QEMU_EFI.fd \
		-drive file=$(OUT)/run-qemu-arm64.img,format=raw,if=virtio $(RUN_NET)

# Boot tests (SeaBIOS, OVMF, AAVMF), config-at-boot, reproducibility, initramfs budget, and
# the end-to-end test (the booted image serves Debian's pptp-linux client guest on its LAN and
# NATs it to a WAN host: root, for the network namespace and taps it makes).
# The upgrade tests (TestUpgrade, TestFirmwareRealClient, TestUpgradeAAVMF) also need a second
# build of each image with another version (the update they install), in $(OUT)/next.
test-firmware: deps images client-guest
	@if [ "$$(id -u)" != 0 ]; then echo "test-firmware: needs root (network namespace, tap devices)" >&2; exit 1; fi
	$(MAKE) image BOARD=qemu-amd64 OUT=$(abspath $(OUT))/next VERSION=$(VERSION)-next
	$(MAKE) image BOARD=qemu-arm64 OUT=$(abspath $(OUT))/next VERSION=$(VERSION)-next
	PPTPBOX_FIRMWARE=1 PPTPBOX_OUT=$(abspath $(OUT)) PPTPBOX_OUT_NEXT=$(abspath $(OUT))/next PPTPBOX_CACHE=$(CACHE) CACHE=$(CACHE) \
		$(GO) test -count=1 -v -timeout 30m ./qemu/firmware

# Update files (issue 10): `make update BOARD=...` signs the kernel and initramfs of the last
# `make image` into $(OUT)/pptpbox-BOARD-VERSION.upd. UPDATE_KEY is the private key (default:
# the dev key in $(CACHE)/update-key, which `make image` trusts unless UPDATE_PUB is set);
# `make update-keygen` makes a key pair of your own in $(KEYDIR).
UPDATE_KEY ?=
UPDATE_PUB ?=
KEYDIR ?= keys
.PHONY: update update-keygen
update: image
	$(GO) run ./cmd/mkupdate build -board board/$(BOARD) -in $(OUT) -cache $(CACHE) $(if $(UPDATE_KEY),-key $(UPDATE_KEY))

update-keygen:
	$(GO) run ./cmd/mkupdate keygen -out $(KEYDIR)
