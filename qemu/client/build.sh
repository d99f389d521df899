#!/bin/bash
# build.sh [client|server]: builds a tiny QEMU x86_64 guest that runs Debian's real PPTP stack.
#
#   client  (default) busybox + pppd + pptp-linux: the Linux PPTP client the e2e tests drive.
#   server  the same plus poptop pptpd: a reference server to prove the rig against.
#
# Everything comes from Debian packages (apt-get download into $CACHE/debs): the kernel
# (linux-image-amd64, whose PPP, MPPE and virtio drivers are modules), busybox-static, ppp,
# pptp-linux (and pptpd), and the shared libraries their binaries need, found by asking the
# extracted ld.so itself (ld.so --list) and fetching the library packages named in Depends
# until nothing is missing. The result goes to $CACHE/<flavour>-guest/<hash-of-inputs>/
# (vmlinuz, initrd.img, manifest) and is reused while the inputs are unchanged.
#
# Progress goes to stderr; the guest directory is the last line on stdout.
set -euo pipefail

flavour=${1:-client}
case $flavour in
client) top_pkgs=(busybox-static ppp pptp-linux) ;;
server) top_pkgs=(busybox-static ppp pptp-linux pptpd) ;;
*) echo "usage: $0 [client|server]" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
CACHE=${CACHE:-$HOME/.cache/pptpbox}
debs=$CACHE/debs
arch=amd64
triplet=x86_64-linux-gnu
# Kernel modules the guest loads at boot: the virtio NIC QEMU gives it, and the PPP stack
# pppd needs for a PPTP call (async HDLC over the pty pptp opens, MPPE, VJ header compression).
want_modules=(virtio_pci virtio_net ppp_generic ppp_async ppp_mppe slhc)

say() { echo "$flavour-guest: [$((SECONDS))s] $*" >&2; }
die() { echo "$flavour-guest: error: $*" >&2; exit 1; }

for tool in apt-get apt-cache dpkg-deb depmod cpio zstd sha256sum flock; do
	command -v "$tool" >/dev/null || die "missing tool $tool (make deps installs it)"
done
mkdir -p "$debs"

# candidate PKG prints the version apt would fetch; refreshes the package lists once if
# apt knows no candidate (a fresh machine).
updated=
candidate() {
	local v
	v=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
	if [ -z "$v" ] || [ "$v" = "(none)" ]; then
		if [ -z "$updated" ]; then
			say "apt knows no candidate for $1; running apt-get update"
			apt-get update -qq >&2 || die "apt-get update failed"
			updated=1
			v=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
		fi
	fi
	[ -n "$v" ] && [ "$v" != "(none)" ] || die "no Debian package $1"
	echo "$v"
}

# fetch PKG prints the path of PKG's .deb (candidate version), downloading it when absent.
fetch() {
	local pkg=$1 ver f
	ver=$(candidate "$pkg")
	# apt-get download escapes the epoch colon as %3a in the file name.
	f=$(compgen -G "$debs/${pkg}_${ver//:/%3a}_*.deb" | head -n1 || true)
	if [ -z "$f" ]; then
		say "downloading $pkg $ver"
		if ! (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2); then
			# Stale package lists name versions the archive no longer has: refresh once, retry.
			[ -z "$updated" ] || die "apt-get download $pkg=$ver failed"
			say "apt-get download $pkg failed; running apt-get update"
			apt-get update -qq >&2 || die "apt-get update failed"
			updated=1
			ver=$(candidate "$pkg")
			(cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2) || die "apt-get download $pkg=$ver failed"
		fi
		f=$(compgen -G "$debs/${pkg}_${ver//:/%3a}_*.deb" | head -n1 || true)
		[ -n "$f" ] || die "apt-get download $pkg left no .deb in $debs"
	fi
	echo "$f"
}

# The kernel: the versioned package the linux-image-amd64 metapackage points at.
kpkg=$(apt-cache depends --important linux-image-$arch 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}' || true)
if [ -z "$kpkg" ]; then
	candidate linux-image-$arch >/dev/null
	kpkg=$(apt-cache depends --important linux-image-$arch | awk '/Depends: linux-image-/ {print $2; exit}')
fi
[ -n "$kpkg" ] || die "cannot resolve linux-image-$arch to a kernel package"

# Inputs of the build: the versions of the named packages (one apt-cache call) and the files of
# this directory. Library packages found below are not part of the hash: they follow from these.
inputs=$(
	echo "flavour $flavour modules ${want_modules[*]}"
	apt-cache policy "$kpkg" "${top_pkgs[@]}" | awk '/^[^ ]/ {p = $1; sub(/:$/, "", p)} /Candidate:/ {print p, $2}'
	(cd "$here" && sha256sum build.sh init guest-shell)
)
[ "$(echo "$inputs" | grep -c ' (none)$')" = 0 ] || die "no candidate version in: $inputs"
hash=$(echo "$inputs" | sha256sum | cut -c1-16)
out=$CACHE/$flavour-guest/$hash
mkdir -p "$CACHE/$flavour-guest"
# One build per flavour at a time (parallel test runs, make client-guest next to go test).
exec 9>"$CACHE/$flavour-guest/.lock"
flock 9
if [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.img" ] && [ -s "$out/manifest" ]; then
	say "up to date: $out"
	echo "$out"
	exit 0
fi
say "building $out"

work=$(mktemp -d "${TMPDIR:-/tmp}/pptpbox-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/stage # every .deb extracted, as dpkg would lay it out
root=$work/root   # the initramfs tree
mkdir -p "$stage" "$root"

declare -A fetched
extract() {
	local pkg=$1 f
	[ -n "${fetched[$pkg]:-}" ] && return 0
	f=$(fetch "$pkg")
	dpkg-deb -x "$f" "$stage"
	fetched[$pkg]=$(basename "$f")
}

for p in "$kpkg" "${top_pkgs[@]}" libc6; do extract "$p"; done

# Binaries that go into the guest, and the package whose Depends we search for their libraries.
bins=(usr/sbin/pppd usr/sbin/pptp)
if [ "$flavour" = server ]; then
	bins+=(usr/sbin/pptpd usr/sbin/pptpctrl)
fi
ldso=$stage/lib64/ld-linux-x86-64.so.2
[ -e "$ldso" ] || die "no ld.so in libc6"
libpath=$stage/lib/$triplet:$stage/usr/lib/$triplet

# missing_libs prints the sonames the binaries need that the staged packages do not provide.
# The extracted ld.so resolves them; anything it finds outside the stage (the host's own
# libraries, its fallback) counts as missing.
missing_libs() {
	local b
	for b in "${bins[@]}"; do
		"$ldso" --inhibit-cache --library-path "$libpath" --list "$stage/$b" 2>/dev/null |
			awk -v st="$stage/" '
				/=> not found/ {print $1; next}
				/=>/ && index($3, st) != 1 {print $1}'
	done | sort -u
}

# Resolve libraries: fetch the lib* packages that the staged packages depend on, a round at
# a time, until ld.so finds everything inside the stage.
for round in 1 2 3 4 5 6 7 8; do
	miss=$(missing_libs)
	[ -z "$miss" ] && break
	say "round $round: missing $(echo $miss)"
	new=$(apt-cache depends --important "${!fetched[@]}" 2>/dev/null |
		awk '/^ *(Pre)?Depends: lib/ {print $2}' | grep -v ':' | sort -u)
	added=0
	for p in $new; do
		[ -n "${fetched[$p]:-}" ] && continue
		extract "$p"
		added=1
	done
	[ $added = 1 ] || die "libraries $(echo $miss) not found in any dependency package"
done
miss=$(missing_libs)
[ -z "$miss" ] || die "libraries still missing: $miss"

# The initramfs tree: merged /usr like current Debian, libraries by soname in the
# multiarch directory ld.so searches by default.
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib/$triplet,usr/lib64,proc,sys,dev,tmp,run,var/log,var/lock,root,etc/ppp/peers}
ln -s usr/bin "$root/bin"
ln -s usr/sbin "$root/sbin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
ln -s ../run "$root/var/run"
cp "$(readlink -f "$ldso")" "$root/usr/lib64/ld-linux-x86-64.so.2"
for b in "${bins[@]}"; do
	cp "$stage/$b" "$root/$b"
	"$ldso" --inhibit-cache --library-path "$libpath" --list "$stage/$b" |
		awk '/=>/ && $3 ~ /^\// && $1 !~ /\// {print $1, $3}'
done | sort -u | while read -r soname path; do
	cp "$(readlink -f "$path")" "$root/usr/lib/$triplet/$soname"
done

# busybox and its applets (not over the real binaries).
cp "$stage/bin/busybox" "$root/usr/bin/busybox"
"$stage/bin/busybox" --list-full | while read -r a; do
	name=${a##*/}
	[ "$name" = busybox ] && continue
	[ -e "$root/usr/bin/$name" ] || [ -e "$root/usr/sbin/$name" ] && continue
	# Every applet in /usr/bin (= /bin): pptp runs /bin/ip, which busybox files under sbin.
	ln -s busybox "$root/usr/bin/$name"
	case $a in sbin/* | usr/sbin/*) ln -s ../bin/busybox "$root/usr/sbin/$name" ;; esac
done

# pptp-linux's and ppp's configuration as Debian ships it; the tests rewrite what they vary.
for f in etc/ppp/options.pptp etc/ppp/options; do
	[ -e "$stage/$f" ] && cp "$stage/$f" "$root/$f"
done
if [ "$flavour" = server ]; then
	cp "$stage/etc/pptpd.conf" "$root/etc/pptpd.conf"
	cp "$stage/etc/ppp/pptpd-options" "$root/etc/ppp/pptpd-options"
fi
: >"$root/etc/ppp/chap-secrets"
chmod 600 "$root/etc/ppp/chap-secrets"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
printf 'hosts: files\n' >"$root/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n' >"$root/etc/hosts"

# Kernel modules: depmod the whole staged tree once to learn dependencies, copy the closure of
# want_modules in load order, then depmod the small tree (busybox modprobe can use it too).
kver=$(ls "$stage/lib/modules")
[ "$(echo "$kver" | wc -w)" = 1 ] || die "expected one kernel version in the stage, got: $kver"
depmod -b "$stage" "$kver"
mdir=lib/modules/$kver
declare -A seen
order=()
visit() { # visit RELPATH: depth-first, dependencies first
	local m=$1 d
	[ -n "${seen[$m]:-}" ] && return 0
	seen[$m]=1
	for d in $(awk -v m="$m:" '$1 == m {for (i = 2; i <= NF; i++) print $i}' "$stage/$mdir/modules.dep"); do
		visit "$d"
	done
	order+=("$m")
}
for m in "${want_modules[@]}"; do
	rel=$(awk -F: -v n="/$m.ko" '{ if (substr($1, length($1) - length(n) + 1) == n) {print $1; exit} }' "$stage/$mdir/modules.dep")
	if [ -z "$rel" ]; then
		grep -q "/$m.ko$" "$stage/$mdir/modules.builtin" && { say "$m is built in"; continue; }
		die "kernel module $m not found"
	fi
	visit "$rel"
done
for m in "${order[@]}"; do
	mkdir -p "$root/usr/$mdir/$(dirname "$m")"
	cp "$stage/$mdir/$m" "$root/usr/$mdir/$m"
done
cp "$stage/$mdir"/modules.{order,builtin,builtin.modinfo} "$root/usr/$mdir/"
depmod -b "$root/usr" "$kver"
printf '%s\n' "${order[@]}" >"$root/etc/modules-load-order"
say "modules: $(printf '%s ' "${order[@]##*/}")"

install -m 0755 "$here/init" "$root/init"
install -m 0755 "$here/guest-shell" "$root/usr/bin/guest-shell"
echo "$flavour" >"$root/etc/pptpbox-guest"

# Pack reproducibly: sorted names, owner root, fixed mtimes.
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) |
	zstd -q -10 -T1 >"$work/initrd.img"

rm -rf "$out.tmp"
mkdir -p "$out.tmp"
cp "$stage/boot/vmlinuz-$kver" "$out.tmp/vmlinuz"
mv "$work/initrd.img" "$out.tmp/initrd.img"
{
	echo "$inputs"
	echo "kernel $kver"
	echo "packages ${fetched[*]}"
	echo "modules ${order[*]}"
} >"$out.tmp/manifest"
rm -rf "$out"
mv "$out.tmp" "$out"
say "done: $(du -h "$out/initrd.img" | cut -f1) initramfs, kernel $kver"
# Keep the three newest builds of this flavour; older inputs are not coming back.
ls -1dt "$CACHE/$flavour-guest"/*/ 2>/dev/null | tail -n +4 | while read -r old; do
	say "pruning old build $old"
	rm -rf "$old"
done
echo "$out"
