#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Download one stock QEMU of scripts/qemu.conf (Debian's qemu-system-x86
# with its common and data packages) into the project cache and unpack it
# there, beside the installed one.  Nothing is installed on the host.  A
# QEMU that runs with its own suite's libraries ("suite" in qemu.conf)
# comes with the whole dependency closure apt resolves for it in that
# suite (a system with nothing installed), and with a small script that
# runs it through that suite's dynamic loader and firmware.  Prints the
# path of the unpacked qemu-system-x86_64, or of that script.
#
# usage: scripts/fetch-qemu.sh [--version|--info] [NAME]
#   NAME       a name from scripts/qemu.conf (default: the last)
#   --version  print the Debian version NAME resolves to; download nothing
#   --info     print "NAME SUITE VERSION CHOICE NEWEST", CHOICE being
#              tested, newest or untested; download nothing
#
# The version is the one scripts/tested-versions names while the suite
# still has it, otherwise the series' newest (VFIO_MIG_PICK=newest: the
# newest always); remembered in the cache like scripts/fetch-kernel.sh's.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
cache=${VFIO_MIG_CACHE:-$top/.cache}
pick=${VFIO_MIG_PICK:-tested}
pkgs="qemu-system-x86 qemu-system-common qemu-system-data"
what=path

die() { echo "fetch-qemu: $*" >&2; exit 1; }

case "${1:-}" in
--version) what=version; shift ;;
--info) what=info; shift ;;
-h|--help) sed -n '3,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
name=${1:-$(awk '$1 !~ /^#/ && NF { n = $1 } END { print n }' "$here/qemu.conf")}
conf=$(awk -v n="$name" '$1 !~ /^#/ && $1 == n { print; exit }' "$here/qemu.conf")
[ -n "$conf" ] || die "unknown QEMU '$name' (see scripts/qemu.conf)"
read -r _ suite series libs _ <<<"$conf"
libs=${libs:-host}
case $libs in
host|suite) ;;
*) die "QEMU '$name': libraries '$libs' are neither host nor suite (scripts/qemu.conf)" ;;
esac

# shellcheck source=scripts/versions.sh
. "$here/versions.sh"
tested_ver=$(tested qemu "$name")
tested_ver=${tested_ver%% *}

# upstream VERSION: 1:10.0.2+ds-2+deb13u1~bpo12+1 is 10.0.2
upstream() {
	local u=${1#*:}
	u=${u%%-*}
	echo "${u%%+*}"
}

# parts VERSION: "PACKAGE=VERSION..." (arch: all packages have no binNMU
# suffix), or nothing when one is missing
parts() {
	local v=$1 have p list=''
	# shellcheck disable=SC2086
	have=$(suite_versions "$suite" $pkgs)
	for p in $pkgs; do
		if grep -qxF "$p $v" <<<"$have"; then
			list="$list $p=$v"
		elif grep -qxF "$p ${v%+b[0-9]*}" <<<"$have"; then
			list="$list $p=${v%+b[0-9]*}"
		else
			echo "fetch-qemu: $p $v is not in $suite or $suite-security" >&2
			return 0
		fi
	done
	echo "${list# }"
}

# resolve: "SUITE VERSION CHOICE NEWEST PACKAGE=VERSION..."
resolve() {
	local cands top ver p choice list
	cands=$(suite_versions "$suite" qemu-system-x86 | while read -r _ v; do
		case $(upstream "$v") in
		"$series"|"$series".*) echo "- $v" ;;
		esac
	done)
	if [ -z "$cands" ]; then
		echo "fetch-qemu: qemu-system-x86 $series is not in $suite or $suite-security" >&2
		return 1
	fi
	top=$(newest <<<"$cands")
	top=${top#- }
	ver=$top
	if [ "$pick" = tested ] && grep -qxF -- "- $tested_ver" <<<"$cands"; then
		ver=$tested_ver
	fi
	list=$(parts "$ver")
	[ -n "$list" ] || return 1
	choice=$(choice "QEMU $name" "$ver" "$tested_ver")
	echo "$suite $ver $choice $top $list"
}

info=$(remembered "$conf
$tested_ver" "qemu-$name" resolve) || exit 1
read -r suite version choice newest_ver list <<<"$info"
case $what in
version) echo "$version"; exit 0 ;;
info) echo "$name $suite $version $choice $newest_ver"; exit 0 ;;
esac

dest=$cache/qemu/$(upstream "$version")
bin=$dest/root/usr/bin/qemu-system-x86_64
[ "$libs" = host ] || bin=$dest/qemu-system-x86_64
multiarch=usr/lib/x86_64-linux-gnu

# wrapper VERSION: the script that runs a "suite" QEMU: its suite's
# loader with that suite's libraries (an option of the loader, not the
# environment, so the programs QEMU starts, as the shell of an exec:
# migration, keep the machine's), and its own firmware and modules first,
# all found beside the script wherever the cache is.  /proc/self/exe is the
# loader then, so QEMU's paths relative to itself would miss them.
wrapper() {
	cat <<-EOF
	#!/bin/sh
	# QEMU $1 from $suite with the libraries of its suite, through
	# their loader (written by scripts/fetch-qemu.sh).
	root=\$(cd "\$(dirname "\$0")" && pwd)/root
	lib=\$root/$multiarch
	QEMU_MODULE_DIR=\$lib/qemu
	export QEMU_MODULE_DIR
	exec "\$lib/ld-linux-x86-64.so.2" --library-path "\$lib" --argv0 "\$0" \\
	    "\$root/usr/bin/qemu-system-x86_64" -L "\$root/usr/share/qemu" \\
	    -L "\$root/usr/share/seabios" -L "\$root/usr/lib/ipxe/qemu" "\$@"
	EOF
}

# outside ROOT: the libraries qemu-system-x86_64 would load from outside
# ROOT (or not find), through ROOT's loader and libraries
outside() {
	local lib=$1/$multiarch
	[ -x "$lib/ld-linux-x86-64.so.2" ] || { echo "no $multiarch/ld-linux-x86-64.so.2"; return; }
	"$lib/ld-linux-x86-64.so.2" --library-path "$lib" --list \
		"$1/usr/bin/qemu-system-x86_64" 2>&1 |
		awk -v r="$1/" '/=>/ && index($3, r) != 1 { $NF = ""; print }'
}

# .done holds the version (empty in caches made before it did).
fetch=false
if [ ! -e "$dest/.done" ]; then
	fetch=true
elif [ -s "$dest/.done" ] && [ "$(cat "$dest/.done")" != "$version" ]; then
	echo "fetch-qemu: the cached QEMU is $(cat "$dest/.done"), not $version: fetching again" >&2
	fetch=true
fi
if $fetch; then
	command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
	# Unpacked beside, to replace the old tree only when it all worked.
	new=$dest.new.$$
	trap 'rm -rf "$new"' EXIT
	mkdir -p "$new/debs"
	if [ "$libs" = suite ]; then
		# What apt would install on an empty system, the suite preferred.
		# shellcheck disable=SC2086
		list=$("$here/apt-suite" "$suite" apt-get -s -q -t "$suite" \
			install --no-install-recommends $list | inst_parts) || list=
		[ -n "$list" ] || die "apt cannot resolve QEMU $version's dependencies in $suite"
		echo "fetch-qemu: downloading QEMU $version ($suite) with" \
			"$(($(wc -l <<<"$list") - 3)) packages of $suite it needs" >&2
	else
		echo "fetch-qemu: downloading QEMU $version ($suite)" >&2
	fi
	# shellcheck disable=SC2086
	if ! (cd "$new/debs" && "$here/apt-suite" "$suite" apt-get download -q $list >&2); then
		forget "qemu-$name"
		die "QEMU $version cannot be downloaded from $suite (see above;" \
			"the next run resolves $name again)"
	fi
	for deb in "$new"/debs/*.deb; do
		dpkg-deb -x "$deb" "$new/root"
	done
	rm -rf "$new/debs"
	if [ "$libs" = suite ]; then
		# Every library from the closure, none of the machine's.
		bad=$(outside "$new/root")
		if [ -n "$bad" ]; then
			printf '%s\n' "$bad" >&2
			die "QEMU $version needs libraries its closure in $suite lacks"
		fi
		wrapper "$version" >"$new/qemu-system-x86_64"
		chmod +x "$new/qemu-system-x86_64"
		"$new/qemu-system-x86_64" --version >/dev/null ||
			die "QEMU $version does not run through $suite's loader"
	else
		# QEMU 7.2 looks for its firmware beside itself: take the installed
		# firmware packages' (seabios, ipxe-qemu), which 10.0 finds alone.
		for d in usr/share/seabios usr/lib/ipxe; do
			[ -e "$new/root/$d" ] || [ ! -d "/$d" ] || ln -s "/$d" "$new/root/$d"
		done
		# It links against bookworm libraries the installed QEMU 7.2 pulls in.
		if ldd "$new/root/usr/bin/qemu-system-x86_64" | grep 'not found' >/dev/null; then
			ldd "$new/root/usr/bin/qemu-system-x86_64" | grep 'not found' >&2
			die "QEMU $version misses libraries (install qemu-system-x86)"
		fi
	fi
	echo "$version" >"$new/.done"
	rm -rf "$dest"
	mv "$new" "$dest"
fi
echo "$bin"
