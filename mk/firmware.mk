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
CLEAN_DIRS += $(OUT)

.PHONY: image images firmware-apt-arm64 run run-arm64 test-firmware

# arm64 kernels and GRUB come from Debian's arm64 archive: apt needs the architecture once.
firmware-apt-arm64:
	@dpkg --print-foreign-architectures | grep -qx arm64 || { \
	  [ "$$(id -u)" = 0 ] || { echo "firmware: run as root once: dpkg --add-architecture arm64 && apt-get update" >&2; exit 1; }; \
	  dpkg --add-architecture arm64 && apt-get update -qq; }

image: $(if $(filter %arm64 nanopi%,$(BOARD)),firmware-apt-arm64)
	$(GO) run ./cmd/mkfirmware -board board/$(BOARD) -out $(OUT) -cache $(CACHE) -version $(VERSION)

images:
	$(MAKE) image BOARD=qemu-amd64
	$(MAKE) image BOARD=qemu-arm64
