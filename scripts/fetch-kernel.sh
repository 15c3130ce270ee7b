#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Download one of the Debian kernels of scripts/kernels.conf (image +
# headers + kbuild) into the project cache and unpack it there with
# dpkg-deb, or (the debug kernel) have scripts/build-debug-kernel build it.
# Nothing is installed on the host.  Prints the unpacked tree's directory.
#
# usage: scripts/fetch-kernel.sh [--kdir|--root|--release|--info] NAME
#   NAME       a name from scripts/kernels.conf (for example 6.1)
#   --kdir     print the kernel headers directory (KDIR for module builds)
#   --root     print the unpacked root (default)
#   --release  print the kernel release NAME resolves to; download nothing
#   --info     print "NAME SUITE RELEASE VERSION CHOICE NEWEST PACKAGES...",
#              CHOICE being tested, newest or untested; download nothing
#
# The kernels.conf line names a suite and a series; the release is the one
# scripts/tested-versions names while the suite (with its security suite,
# through scripts/apt-suite) still has it, otherwise the series' newest.
# VFIO_MIG_PICK=newest takes the newest always.  The answer is kept in
# the cache (cache/resolved/): for good when it is the tested version, for
# a day otherwise, so builds do not ask the archive again.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
cache=${VFIO_MIG_CACHE:-$top/.cache}
pick=${VFIO_MIG_PICK:-tested}
what=root

die() { echo "fetch-kernel: $*" >&2; exit 1; }

case "${1:-}" in
--kdir) what=kdir; shift ;;
--root) shift ;;
--release) what=release; shift ;;
--info) what=info; shift ;;
-h|--help) sed -n '3,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
name=${1:-}
[ -n "$name" ] || die "usage: fetch-kernel.sh [--kdir|--root|--release|--info] NAME"
case $pick in
tested|newest) ;;
*) die "VFIO_MIG_PICK is tested or newest, not '$pick'" ;;
esac

conf=$(awk -v n="$name" '$1 !~ /^#/ && $1 == n { print; exit }' "$here/kernels.conf")
[ -n "$conf" ] || die "unknown kernel '$name' (see scripts/kernels.conf)"
read -r _ suite series from _ <<<"$conf"
# shellcheck source=scripts/versions.sh
. "$here/versions.sh"
tested=$(tested kernel "$name")
read -r tested_rel tested_ver _ <<<"${tested:-- -}"

apt_cache() { "$here/apt-suite" "$suite" apt-cache "$@"; }
versions() { suite_versions "$suite" "$@"; }

# has PKG VERSION
has() { versions "$1" | grep -xF "$1 $2" >/dev/null; }

# packages REL VER: the packages to unpack for that kernel, or nothing when
# the suite lacks a part.  The image comes unsigned, in one package (up to
# 6.12) or split into binary and modules (7.x); the headers bring the
# packages of the same build they depend on (common headers, kbuild, base).
packages() {
	local rel=$1 ver=$2 queue list p dep
	if has "linux-image-$rel-unsigned" "$ver"; then
		queue="linux-image-$rel-unsigned"
	elif has "linux-binary-unsigned-$rel" "$ver" &&
	     has "linux-modules-$rel" "$ver"; then
		queue="linux-binary-unsigned-$rel linux-modules-$rel"
	else
		return 0
	fi
	queue="$queue linux-headers-$rel"
	list=
	while [ -n "${queue// /}" ]; do
		read -r p queue <<<"$queue"
		case " $list " in *" $p "*) continue ;; esac
		has "$p" "$ver" || return 0
		list="$list $p"
		for dep in $(apt_cache show "$p=$ver" 2>/dev/null | awk -v v="$ver" '
			/^Depends:/ {
				sub(/^Depends: */, "")
				n = split($0, clause, / *, */)
				for (i = 1; i <= n; i++) {
					m = split(clause[i], alt, / *\| */)
					for (j = 1; j <= m; j++) {
						split(alt[j], w, /[ (:]+/)
						if (w[1] !~ /^linux-/ || w[1] ~ /^linux-(image|binary)-/)
							continue
						if (index(alt[j], v ")") || w[1] ~ /^linux-kbuild-/) {
							print w[1]
							break
						}
					}
				}
				exit
			}'); do
			queue="$queue $dep"
		done
	done
	echo "${list# }"
}

# candidates: "RELEASE VERSION" for every kernel of the series in the suite
candidates() {
	local esc=${series//./\\.} names
	if [ "$from" = source ]; then
		versions "linux-source-$series" | while read -r _ v; do
			echo "${v%%-*}-vfio-mig-debug $v"
		done
		return
	fi
	names=$(apt_cache pkgnames "linux-headers-$series." |
		grep -E "^linux-headers-$esc\.[0-9.]+(-[0-9]+)?(\+deb[0-9]+)?-amd64$" || true)
	[ -n "$names" ] || return 0
	# shellcheck disable=SC2086
	versions $names | sed 's/^linux-headers-//'
}

# parts REL VER: what to download for that kernel (nothing: incomplete)
parts() {
	if [ "$from" = source ]; then
		echo "linux-source-$series"
	else
		packages "$1" "$2"
	fi
}

# resolve: "SUITE RELEASE VERSION CHOICE NEWEST PACKAGES..." from the archive
resolve() {
	local cands top_rel top_ver rel ver pkgs p choice
	cands=$(candidates)
	if [ -z "$cands" ]; then
		echo "fetch-kernel: no $series kernel for amd64 is in $suite or $suite-security" >&2
		return 1
	fi
	# The newest one with every part there.
	while :; do
		read -r top_rel top_ver <<<"$(newest <<<"$cands")"
		pkgs=$(parts "$top_rel" "$top_ver")
		[ -n "$pkgs" ] && break
		echo "fetch-kernel: $top_rel ($top_ver) in $suite lacks a package, skipped" >&2
		cands=$(grep -vxF "$top_rel $top_ver" <<<"$cands" || true)
		if [ -z "$cands" ]; then
			echo "fetch-kernel: no complete $series kernel is in $suite" >&2
			return 1
		fi
	done
	rel=$top_rel ver=$top_ver
	if [ "$pick" = tested ] && [ "$ver" != "$tested_ver" ] &&
	   grep -qxF "$tested_rel $tested_ver" <<<"$cands"; then
		p=$(parts "$tested_rel" "$tested_ver")
		[ -n "$p" ] && rel=$tested_rel ver=$tested_ver pkgs=$p
	fi
	choice=$(choice "kernel $name" "$rel ($ver)" "$tested_rel ($tested_ver)")
	echo "$suite $rel $ver $choice $top_ver $pkgs"
}

info=$(remembered "$conf
$tested" "kernel-$name" resolve) || exit 1
read -r suite rel ver _ _ pkglist <<<"$info"

case $what in
release) echo "$rel"; exit 0 ;;
info) echo "$name $info"; exit 0 ;;
esac

# A kernel built from source (the debug kernel) comes from its own script,
# which links the built tree here.
if [ "$from" = source ]; then
	"$here/build-debug-kernel" "$name" >/dev/null || exit 1
fi

dest=$cache/kernels/$rel
root=$dest/root
kdir=$root/usr/src/linux-headers-$rel

# .done holds the package version (empty in caches made before it did).
fetch=false
if [ ! -e "$dest/.done" ]; then
	fetch=true
elif [ -s "$dest/.done" ] && [ "$(cat "$dest/.done")" != "$ver" ]; then
	echo "fetch-kernel: the cached $rel is $(cat "$dest/.done"), not $ver: fetching again" >&2
	fetch=true
fi
if $fetch; then
	command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
	command -v apt-get >/dev/null || die "apt-get not found"
	# Unpacked beside, to replace the old tree only when it all worked.
	new=$dest.new.$$
	trap 'rm -rf "$new"' EXIT
	mkdir -p "$new/debs"
	echo "fetch-kernel: downloading Debian kernel $rel ($ver, $suite)" >&2
	list=
	for p in $pkglist; do
		list="$list $p=$ver"
	done
	# apt-get download writes into the current directory.
	# shellcheck disable=SC2086
	if ! (cd "$new/debs" && "$here/apt-suite" "$suite" apt-get download -q $list >&2); then
		forget "kernel-$name"
		for p in $pkglist; do
			has "$p" "$ver" && continue
			have=$(versions "$p" | awk '{ printf " %s", $2 }')
			die "$p $ver is not in $suite or $suite-security: it has${have:- no version of it}" \
				"(the next run resolves $name again)"
		done
		die "downloading $rel from $suite failed (see above)"
	fi
	for deb in "$new"/debs/*.deb; do
		dpkg-deb -x "$deb" "$new/root"
	done
	rm -rf "$new/debs"
	# The headers' Makefile names the -common tree (and, in newer
	# packages, its own directory) by absolute paths: point them at
	# the unpacked copy.
	sed -i "s#/usr/src/#$root/usr/src/#g" "$new/root/usr/src/linux-headers-$rel/Makefile"
	# Newer packages put modules in /usr/lib (merged /usr).
	[ -e "$new/root/lib" ] || ln -s usr/lib "$new/root/lib"
	depmod -b "$new/root" "$rel" 2>/dev/null || \
		/sbin/depmod -b "$new/root" "$rel" || die "depmod failed"
	echo "$ver" >"$new/.done"
	rm -rf "$dest"
	mv "$new" "$dest"
fi

case $what in
kdir) echo "$kdir" ;;
root) echo "$root" ;;
esac
