# pptpbox — see README.md. The two set-up commands are `make run` and `make test`.
#
# Each area adds its own targets in mk/*.mk and appends to the variables below:
#   APT_PACKAGES  Debian packages its targets need (installed by `make deps`)
#   TEST_TARGETS  targets `make test` runs after the unit tests and fuzzing
#   CLEAN_DIRS    what `make clean` removes (never $(CACHE))

SHELL := /bin/bash
GO ?= go
export GOFLAGS ?= -buildvcs=false
# Downloads (kernel .debs, Go modules, built guest images) live here; `make clean` keeps it.
CACHE ?= $(HOME)/.cache/pptpbox
OUT ?= out
# Each fuzz target runs this long in `make test` (seeds always run in `make unit`).
FUZZTIME ?= 5s
VERSION := $(shell git describe --always --dirty --tags 2>/dev/null || echo dev)

APT_PACKAGES :=
TEST_TARGETS :=
CLEAN_DIRS := $(OUT)

.PHONY: all build test unit fuzz vet deps clean bench run
all: build

build:
	$(GO) build ./...

include $(sort $(wildcard mk/*.mk))

# deps installs what the test and run targets need, or says what is missing.
deps:
	@scripts/deps.sh $(sort $(APT_PACKAGES))

vet:
	@out=$$(gofmt -l cmd pkg qemu firmware internal 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

unit:
	$(GO) test -count=1 ./...

# fuzz runs every native fuzz target briefly (FUZZTIME each); seeds live in testdata/fuzz.
fuzz:
	@scripts/fuzz-all.sh $(FUZZTIME)

# bench is the speed and scale table of issue 13 (docs/bench.md): boxd and pptpc built here,
# run by qemu/bench in network namespaces (root), out/bench.json and the table. Not part of
# `make test`. BENCH_QUICK=1: every row small; BENCH_QEMU=0: without row 7 (QEMU guests).
bench:
	$(GO) build -o $(OUT)/bench/boxd ./cmd/boxd
	$(GO) build -o $(OUT)/bench/pptpc ./cmd/pptpc
	$(GO) build -o $(OUT)/bench/bench ./qemu/bench
	CACHE=$(CACHE) $(OUT)/bench/bench -boxd $(OUT)/bench/boxd -pptpc $(OUT)/bench/pptpc -out $(OUT)/bench.json \
		-svg $(OUT)/bench.svg -md $(OUT)/bench.md $(BENCH_FLAGS)

test: deps vet unit fuzz $(TEST_TARGETS)
	@echo "make test: all passed"

# The run command installs what it needs first (its recipe is in mk/firmware.mk).
run: deps

clean:
	rm -rf $(CLEAN_DIRS)
