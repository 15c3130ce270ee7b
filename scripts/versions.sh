# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2154
#
# Shared by scripts/fetch-kernel.sh and scripts/fetch-qemu.sh (sourced,
# after $here, $cache and $pick are set): asking a suite which versions it
# has, picking the newest, reading scripts/tested-versions, and keeping a
# resolution in the cache.

# suite_versions SUITE PKG...: "PACKAGE VERSION" for every version the
# suite and its security suite have
suite_versions() {
	local suite=$1
	shift
	"$here/apt-suite" "$suite" apt-cache madison "$@" 2>/dev/null |
		awk -F'|' '{ gsub(/ /, "", $1); gsub(/ /, "", $2); print $1, $2 }' |
		sort -u
}

# inst_parts: of apt-get's simulated install on stdin ("Inst NAME
# [OLD] (VERSION ARCHIVE [ARCH])" lines), "NAME=VERSION" for each package
# it would unpack, one a line
inst_parts() {
	awk '$1 == "Inst" {
		v = $3 ~ /^\[/ ? $4 : $3
		sub(/^\(/, "", v)
		if ($2 != "" && v != "") print $2 "=" v
	}'
}

# newest: of the lines "WORD VERSION" on stdin, the one with the newest
# Debian version
newest() {
	local best='' bv='' w v
	while read -r w v; do
		if [ -z "$bv" ] || dpkg --compare-versions "$v" gt "$bv"; then
			best=$w bv=$v
		fi
	done
	[ -n "$bv" ] && echo "$best $bv"
}

# choice WHAT TAKEN TESTED: "tested", "newest" (asked for) or "untested"
# (the tested one is gone, or there is none yet; said on stderr) for the
# version TAKEN
choice() {
	if [ "$2" = "$3" ]; then
		echo tested
	elif [ "$pick" = newest ]; then
		echo newest
	elif [ -z "$3" ]; then
		echo untested
		echo "${0##*/}: $1 has no tested version yet; taking $2" >&2
	else
		echo untested
		echo "${0##*/}: $1: the tested $3 is not in the archive any more;" \
			"taking $2" >&2
	fi
}

# tested KIND NAME: the rest of NAME's line in scripts/tested-versions
tested() {
	awk -v k="$1" -v n="$2" '$1 == k && $2 == n {
		sub(/^[ \t]*[^ \t]+[ \t]+[^ \t]+[ \t]+/, ""); print; exit }' \
		"$here/tested-versions"
}

# remembered KEY-TEXT MEMO FUNCTION: FUNCTION's one line of output, which
# has the word "tested" in it when it is the tested version, kept in
# cache/resolved/MEMO under a key of KEY-TEXT: for good when tested, for a
# day otherwise; when FUNCTION fails the last answer stands in.
remembered() {
	local key memo=$cache/resolved/$2 info=''
	key=$(printf '%s\n' "$1" "$pick" | sha256sum | cut -c1-16)
	mkdir -p "$cache/resolved"
	if [ -f "$memo" ] && [ "$(head -n 1 "$memo")" = "$key" ]; then
		info=$(sed -n 2p "$memo")
		case " $info " in
		*" tested "*) ;;
		*) [ -n "$(find "$memo" -mmin -1440)" ] || info='' ;;
		esac
	fi
	[ -n "$info" ] && { echo "$info"; return 0; }
	if info=$("$3"); then
		printf '%s\n%s\n' "$key" "$info" >"$memo.$$"
		mv "$memo.$$" "$memo"
	elif [ -f "$memo" ] && [ "$(head -n 1 "$memo")" = "$key" ]; then
		info=$(sed -n 2p "$memo")
		echo "${0##*/}: the archive did not answer; using the last answer" >&2
	else
		return 1
	fi
	echo "$info"
}

# forget MEMO: the next call resolves again
forget() { rm -f "$cache/resolved/$1"; }
