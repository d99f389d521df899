#!/bin/bash
# demo.sh [BOXD]: runs boxd in a network namespace with the bench's example config and lets
# Debian's PPTP client (pppd + pptp-linux in a QEMU guest) dial it, printing what the client
# sees: authentication, MPPE, its address and DNS servers, a ping through the tunnel.
# Needs root. Extra arguments after BOXD go to the demo program (-hold 60s, -v, -config FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	echo "demo: needs root (network namespace, tap device, TUN); try: sudo make demo" >&2
	exit 1
fi
export CACHE=${CACHE:-$HOME/.cache/pptpbox}
GO=${GO:-go}
boxd=${1:-}
[ $# -gt 0 ] && shift
if [ -z "$boxd" ]; then
	mkdir -p out/qemu
	boxd=out/qemu/boxd
	echo "demo: building boxd" >&2
	$GO build -o "$boxd" ./cmd/boxd
fi
echo "demo: preparing the client guest (cached after the first build)" >&2
qemu/client/build.sh client >/dev/null
mkdir -p out/qemu
$GO build -o out/qemu/demo ./qemu/demo
exec out/qemu/demo -boxd "$(realpath "$boxd")" "$@"
