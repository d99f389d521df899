#!/bin/bash
# deps.sh PKG...: installs the Debian packages the tests need, or says exactly what is missing.
set -euo pipefail
missing=()
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && { echo "deps: all ${#@} Debian packages present"; exit 0; }
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
	echo "deps: not root; run as root or install: apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# apt-get update once per day at most.
stamp=/var/lib/apt/periodic/pptpbox-update-stamp
if [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440)" ]; then
	apt-get update -qq
	mkdir -p "$(dirname "$stamp")"; touch "$stamp"
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
	echo "deps: apt-get install failed for: ${missing[*]}" >&2
	exit 1
}
echo "deps: installed ${missing[*]}"
