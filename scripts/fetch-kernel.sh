#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Download one of the pinned Debian kernels (image + headers + kbuild) into
# the project cache and unpack it there with dpkg-deb, or (the debug kernel)
# have scripts/build-debug-kernel build it.  Nothing is installed on the
# host.  Prints the unpacked tree's directory on success.
#
# usage: scripts/fetch-kernel.sh [--kdir|--root] NAME
#   NAME    a name from scripts/kernels.conf (for example 6.1)
#   --kdir  print the kernel headers directory (KDIR for module builds)
#   --root  print the unpacked root (default)

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
cache=${VFIO_MIG_CACHE:-$top/.cache}
what=root

die() { echo "fetch-kernel: $*" >&2; exit 1; }

case "${1:-}" in
--kdir) what=kdir; shift ;;
--root) shift ;;
-h|--help) sed -n '3,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
name=${1:-}
[ -n "$name" ] || die "usage: fetch-kernel.sh [--kdir|--root] NAME"

line=$(awk -v n="$name" '$1 == n { print; exit }' "$here/kernels.conf")
[ -n "$line" ] || die "unknown kernel '$name' (see scripts/kernels.conf)"
read -r _ rel suite ver pkglist <<<"$line"

# A kernel built from source (the debug kernel) comes from its own script,
# which links the built tree here.
case $pkglist in
linux-source-*)
	"$here/build-debug-kernel" "$name" >/dev/null || exit 1
	;;
esac

dest=$cache/kernels/$rel
root=$dest/root
kdir=$root/usr/src/linux-headers-$rel

if [ ! -e "$dest/.done" ]; then
	command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
	command -v apt-get >/dev/null || die "apt-get not found"
	common=${rel%-amd64}-common
	pkgs=
	for p in $pkglist; do
		pkgs="$pkgs $p=$ver"
	done
	apt=(apt-get)
	[ "$suite" = bookworm ] || apt=("$here/apt-suite" "$suite" apt-get)
	rm -rf "$dest"
	mkdir -p "$dest/debs"
	echo "fetch-kernel: downloading Debian kernel $rel ($ver, $suite)" >&2
	# apt-get download writes into the current directory.
	# shellcheck disable=SC2086
	if ! (cd "$dest/debs" && "${apt[@]}" download -q -o APT::Sandbox::User=root $pkgs >&2); then
		die "apt-get download failed; run 'apt-get update' and retry"
	fi
	for deb in "$dest"/debs/*.deb; do
		dpkg-deb -x "$deb" "$root"
	done
	# The headers' Makefile names the -common tree (and, in newer
	# packages, its own directory) by absolute paths: point them at
	# the unpacked copy.
	sed -i "s#/usr/src/#$root/usr/src/#g" "$kdir/Makefile"
	# Newer packages put modules in /usr/lib (merged /usr).
	[ -e "$root/lib" ] || ln -s usr/lib "$root/lib"
	depmod -b "$root" "$rel" 2>/dev/null || \
		/sbin/depmod -b "$root" "$rel" || die "depmod failed"
	rm -rf "$dest/debs"
	touch "$dest/.done"
fi

case $what in
kdir) echo "$kdir" ;;
root) echo "$root" ;;
esac
