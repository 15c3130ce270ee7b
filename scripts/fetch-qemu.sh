#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Download a second, newer stock QEMU (Debian bookworm-backports) into the
# project cache and unpack it there beside the installed one, which stays
# the bookworm QEMU 7.2.  Nothing is installed on the host.  Prints the
# path of the unpacked qemu-system-x86_64.
#
# usage: scripts/fetch-qemu.sh

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
cache=${VFIO_MIG_CACHE:-$top/.cache}

suite=bookworm-backports
version=1:10.0.2+ds-2+deb13u1~bpo12+1
pkgs="qemu-system-x86 qemu-system-common qemu-system-data"

die() { echo "fetch-qemu: $*" >&2; exit 1; }

case "${1:-}" in
-h|--help) sed -n '3,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac

upstream=${version#*:}
upstream=${upstream%%+*}
dest=$cache/qemu/$upstream
bin=$dest/root/usr/bin/qemu-system-x86_64

if [ ! -e "$dest/.done" ]; then
	command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
	rm -rf "$dest"
	mkdir -p "$dest/debs"
	echo "fetch-qemu: downloading QEMU $upstream ($suite)" >&2
	list=
	for p in $pkgs; do
		list="$list $p=$version"
	done
	# shellcheck disable=SC2086
	(cd "$dest/debs" && "$here/apt-suite" "$suite" apt-get download -q $list >&2) ||
		die "apt-get download failed"
	for deb in "$dest"/debs/*.deb; do
		dpkg-deb -x "$deb" "$dest/root"
	done
	rm -rf "$dest/debs"
	# It links against bookworm libraries the installed QEMU 7.2 pulls in.
	if ldd "$bin" | grep -q 'not found'; then
		ldd "$bin" | grep 'not found' >&2
		die "QEMU $upstream misses libraries (install qemu-system-x86)"
	fi
	touch "$dest/.done"
fi
echo "$bin"
