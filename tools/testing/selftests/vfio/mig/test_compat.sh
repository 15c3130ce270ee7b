#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The compatibility check before migrating (Documentation/ABI/testing/
# sysfs-bus-mdev-vfio-mig): each device's migration/version string and
# migration/check, the input check refuses, and `vfio-mig check`.  Then
# the matrix over every pair of mdev types of both sample drivers: the
# check's answer for SRC -> DST must equal what a real live migration
# (`vfio-mig save SRC - | vfio-mig restore DST -`) from a device of type
# SRC to one of type DST does.
# A pair whose two devices do not fit in the guest's memory is skipped
# with the figures; except on Debian's 6.1 kernel the matrix is over the
# types of at most 1 MiB (COMPAT_FULL=1: all).  Prints TAP.

# shellcheck source-path=SCRIPTDIR source=tap.sh
. "$(dirname "$0")/tap.sh"
need_modules mtty_mig mcount_mig
V=$VFIO_MIG_TOP/build/tools/vfio-mig
BUS=/sys/bus/mdev/devices
tmp=$(mktemp -d)

mk() {	# mk TYPE_DIR: create an mdev of that type, print its UUID
	u=$(cat /proc/sys/kernel/random/uuid)
	echo "$u" >"$1/create" && echo "$u"
}
rm_dev() { echo 1 >"$BUS/$1/remove"; }
# Device memory of a type, in MiB, from its name (mcount-mig has none).
mem_mib() {
	case ${1##*/} in
	*-1G*) echo 1024 ;;
	*-256M*) echo 256 ;;
	*-64M*) echo 64 ;;
	*-16M*) echo 16 ;;
	*-1M*) echo 1 ;;
	*) echo 0 ;;
	esac
}
avail_mib() { awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo; }
# check DEV STRING: write STRING to DEV's migration/check in one write;
# print OK, or the error (bash names the errno, dash does not).
check() {
	if bash -c 'printf "%s" "$1" >"$2"' - "$2" \
			"$BUS/$1/migration/check" 2>"$tmp/werr"; then
		echo OK
	elif grep -q "write error: Invalid argument" "$tmp/werr"; then
		echo EINVAL
	else
		echo "other: $(cat "$tmp/werr")"
	fi
}

echo "TAP version 13"

# --- the attributes of one device ------------------------------------------
A=$(mk /sys/class/mdev_bus/mtty_mig/mdev_supported_types/mtty_mig-1port-1M)
va=$(cat "$BUS/$A/migration/version")
# "mtty_mig 1.0 " and the identity: model (16), version, ports, mem_size
# and features, little-endian: 36 bytes, 72 hex digits.
echo "$va" | grep -Eqx 'mtty_mig 1\.0 [0-9a-f]{72}'
ok $? "migration/version reads DRIVER MAJOR.MINOR IDENTITY-HEX ($va)"
id=${va##* }
[ "$(echo "$id" | cut -c 1-16)" = 6d7474792d6d6967 ] &&
	[ "$(echo "$id" | cut -c 33-48)" = 0200000001000000 ] &&
	[ "$(echo "$id" | cut -c 49-64)" = 0000100000000000 ]
ok $? "... its identity is the stream header's: mtty-mig, version 2, 1 port, 1 MiB"
[ "$(stat -c %a "$BUS/$A/migration/version")" = 444 ] &&
	[ "$(stat -c %a "$BUS/$A/migration/check")" = 200 ]
ok $? "version is read-only (0444) and check write-only (0200)"
! cat "$BUS/$A/migration/check" >/dev/null 2>&1
ok $? "reading check fails"
! (echo x >"$BUS/$A/migration/version") 2>/dev/null &&
	[ "$(cat "$BUS/$A/migration/version")" = "$va" ]
ok $? "writing version fails and changes nothing"

[ "$(check "$A" "$va")" = OK ]; ok $? "check takes the device's own version"
r=$(printf '%s\n' "$va" >"$BUS/$A/migration/check" 2>&1 && echo OK)
[ "$r" = OK ]; ok $? "... with its newline too"
upper=$(echo "$va" | sed 's/\(.*\) \(.*\) \(.*\)/\1 \2 /')$(echo "$id" | tr a-f A-F)
[ "$(check "$A" "$upper")" = OK ]; ok $? "... and with upper-case hex digits"

# Each refused with EINVAL.
bad=0 tried=0
nl=$(printf '\nx'); nl=${nl%x}
for s in " " "$va$va" "mtty_mig" "mtty_mig 1.0" "mtty_mig 1.0 " \
	"1.0 $id" "mtty$(printf '\001')mig 1.0 $id" \
	" $va" "$va " "mtty_mig  1.0 $id" "mtty_mig 1.1 $id" \
	"mtty_mig 2.0 $id" "mtty_mig 0.0 $id" "mtty_mig 1 $id" \
	"mtty_mig 1. $id" "mtty_mig .0 $id" "mtty_mig +1.0 $id" \
	"mtty_mig 1.-0 $id" "mtty_mig 65537.0 $id" "mtty_mig 100000.0 $id" \
	"mtty_mig 1.0x $id" "mtty_mig 1.0 ${id}0" \
	"mtty_mig 1.0 $(echo "$id" | cut -c 2-)" \
	"mtty_mig 1.0 $(echo "$id" | cut -c 1-70)" \
	"mtty_mig 1.0 $(echo "$id" | cut -c 1-70)zz" \
	"mtty_mig 1.0 $(echo "$id" | cut -c 1-70)ff" \
	"$va$nl$nl" "$nl$va"; do
	tried=$((tried + 1))
	got=$(check "$A" "$s")
	if [ "$got" != EINVAL ]; then
		echo "# '$s': $got"
		bad=$((bad + 1))
	fi
done
[ "$bad" = 0 ]
ok $? "$tried malformed or refused strings each fail with EINVAL"
# The stream carries no driver name, so the resume cannot refuse on it:
# nor does the check (the identity names the model).
[ "$(check "$A" "mcount_mig 1.0 $id")" = OK ] &&
	[ "$(check "$A" "x 1.0 $id")" = OK ]
ok $? "the driver's name is there but not compared, as in the resume"
[ "$(check "$A" "mtty_mig 1.0 $(head -c 5000 /dev/zero | tr '\0' 0)")" = EINVAL ]
ok $? "... and so does one of 5000 bytes"
[ "$(cat "$BUS/$A/migration/version")" = "$va" ]
ok $? "... and version reads the same after them"

# --- vfio-mig check -----------------------------------------------------------
B=$(mk /sys/class/mdev_bus/mtty_mig/mdev_supported_types/mtty_mig-1port-1M-mmap)
C=$(mk /sys/class/mdev_bus/mtty_mig/mdev_supported_types/mtty_mig-2port-1M)
"$V" check "$A" "$B" >"$tmp/out" 2>&1; rc=$?
[ $rc = 0 ] && grep -q "^compatible: " "$tmp/out" &&
	grep -q "^source       $va$" "$tmp/out"
ok $? "vfio-mig check: 1port-1M to 1port-1M-mmap is compatible, exit 0"
"$V" check "$A" "$C" >"$tmp/out" 2>&1; rc=$?
[ $rc = 76 ] && grep -q "^incompatible: " "$tmp/out"
ok $? "... 1port-1M to 2port-1M is not, exit 76 (got $rc)"
"$V" check "$A" "$A" >/dev/null 2>&1; ok $? "... a device with itself is compatible"
"$V" --json check "$A" "$C" >"$tmp/out" 2>/dev/null; rc=$?
[ $rc = 76 ] && jq -e '.ok == false and .command == "check" and
	.compatible == false and .exit == 76 and
	(.src_version | startswith("mtty_mig 1.0 ")) and
	(.dst_version | startswith("mtty_mig 1.0 "))' "$tmp/out" >/dev/null
ok $? "... --json: ok false, compatible false, both versions"
"$V" --json check "$A" "$B" >"$tmp/out" 2>/dev/null &&
	jq -e '.ok and .compatible' "$tmp/out" >/dev/null
ok $? "... --json: ok true, compatible true"
gone=$(cat /proc/sys/kernel/random/uuid)
"$V" check "$A" "$gone" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc = 69 ] && grep -q "no such mdev" "$tmp/err"
ok $? "... a missing device: exit 69, 'no such mdev'"
"$V" check "$A" >/dev/null 2>&1; [ $? = 64 ]; ok $? "... one device only: exit 64"
"$V" check "$A" not-a-uuid >/dev/null 2>&1; [ $? = 64 ]
ok $? "... a bad UUID: exit 64"
rm_dev "$A"; rm_dev "$B"; rm_dev "$C"

# --- the matrix: the check's answer against a real migration -------------------
# A pool of one device of each type, made once, serves every pair SRC ->
# DST: the pool's device of SRC migrates into the pool's device of DST (for
# SRC = DST into a second device of the type, made for the pair).  A
# refused stream leaves its destination at power-on, an accepted one
# leaves a device like any other, so each pair starts as a fresh one would.
# The 1 GiB type does not fit mtty_mig's budget (mem_budget_mib) beside
# the others: its pairs come last, with the mtty_mig part of the pool
# removed; the pairs of it that cannot fit at all are skipped, with why.
budget=$(cat /sys/module/mtty_mig/parameters/mem_budget_mib)
# The whole matrix takes minutes (the pool's large devices, a process
# pair per pair), and the check's answer is the engine's whatever the
# kernel: it runs on Debian's 6.1 kernel, and COMPAT_FULL=1 runs it
# anywhere.  Elsewhere, the debug kernel included (where each vfio-mig
# process takes seconds under KASAN), the matrix is over the types of at
# most 1 MiB of device memory.
matrix_max_mib=1048576 left_out=
case $(uname -r) in
6.1.*-vfio-mig-debug) matrix_max_mib=1 ;;
6.1.*) ;;
*) matrix_max_mib=1 ;;
esac
[ -n "${COMPAT_FULL:-}" ] && matrix_max_mib=1048576
types=
for t in /sys/class/mdev_bus/mtty_mig/mdev_supported_types/* \
	 /sys/class/mdev_bus/mcount_mig/mdev_supported_types/*; do
	if [ "$(mem_mib "$t")" -gt "$matrix_max_mib" ]; then
		left_out="$left_out ${t##*/}"
	else
		types="$types $t"
	fi
done
agree=0 disagree=0 pairs=0 yes=0 skipped_pairs=
: >"$tmp/pool"
pool() { awk -v t="$1" '$1 == t { print $2 }' "$tmp/pool"; }
pool_add() { u=$(mk "$1") && echo "$1 $u" >>"$tmp/pool"; }

# pair SRC_TYPE DST_TYPE SRC_DEV DST_DEV: ask the check, then migrate (the
# live save piped into the restore: the stream a live migration carries;
# a refused stream ends the pair at its header, the save then stopping on
# EPIPE, and the restore's exit is the pair's); count whether they agree.
pair() {
	ans=$(check "$4" "$(cat "$BUS/$3/migration/version")")
	{ "$V" -q save "$3" - 2>/dev/null; } |
		"$V" -q restore "$4" - >/dev/null 2>"$tmp/err"
	rc=$?
	pairs=$((pairs + 1))
	if { [ "$ans" = OK ] && [ $rc = 0 ]; } ||
	   { [ "$ans" = EINVAL ] && [ $rc = 76 ]; }; then
		agree=$((agree + 1))
	else
		disagree=$((disagree + 1))
		echo "# DISAGREE ${1##*/} -> ${2##*/}: check $ans, migrate exit $rc: $(head -c 200 "$tmp/err")"
	fi
	[ "$ans" = OK ] && yes=$((yes + 1)) &&
		echo "# ${1##*/} -> ${2##*/}: check OK, migrate exit $rc"
}

small='' big='' pool_mib=0 max_mib=0
for t in $types; do
	m=$(mem_mib "$t")
	if [ $((m * 2)) -gt "$budget" ]; then
		big="$big $t"
	else
		small="$small $t"
		pool_mib=$((pool_mib + m))
		[ "$m" -gt "$max_mib" ] && max_mib=$m
	fi
done
# The pool, a second device of its largest type, 256 MiB for the rest.
need=$((pool_mib + max_mib + 256))
if [ $((pool_mib + max_mib)) -gt "$budget" ] || [ "$(avail_mib)" -lt "$need" ]; then
	skip "the pool needs $need MiB, $(avail_mib) available, budget $budget MiB" \
		"the check's answer equals the real migration's for every pair"
	rm -rf "$tmp"
	tap_end
	exit
fi
echo "# SRC -> DST: the compatible pairs"
made=0
for t in $small; do pool_add "$t" && made=$((made + 1)); done
for s in $small; do
	for d in $small; do
		if [ "$s" = "$d" ]; then
			D=$(mk "$d") || { disagree=$((disagree + 1)); continue; }
			pair "$s" "$d" "$(pool "$s")" "$D"
			rm_dev "$D"
		else
			pair "$s" "$d" "$(pool "$s")" "$(pool "$d")"
		fi
	done
done
# The big types' pairs, the pool's mtty_mig devices removed first.
for t in $small; do
	case $t in */mtty_mig/*) rm_dev "$(pool "$t")" ;; esac
done
for b in $big; do
	mb=$(mem_mib "$b")
	X=$(mk "$b") || { disagree=$((disagree + 1)); continue; }
	for t in $types; do
		mt=$(mem_mib "$t")
		case $t in
		*/mcount_mig/*)
			pair "$b" "$t" "$X" "$(pool "$t")"
			pair "$t" "$b" "$(pool "$t")" "$X"
			;;
		*)
			skipped_pairs="$skipped_pairs ${b##*/}<->${t##*/}($((mb + mt)) MiB, over the ${budget} MiB budget)"
			;;
		esac
	done
	rm_dev "$X"
done
for t in $small; do
	case $t in */mcount_mig/*) rm_dev "$(pool "$t")" ;; esac
done
echo "# $pairs pairs: $agree agree ($yes compatible), $disagree disagree; $made pool devices"
[ "$disagree" = 0 ] && [ "$agree" -gt 0 ]
ok $? "the check's answer equals the real migration's for every pair that ran ($agree of $pairs)"
[ -n "$skipped_pairs" ] &&
	skip "over mtty_mig's budget:$skipped_pairs" "the pairs that cannot fit"
[ -n "$left_out" ] &&
	skip "the whole matrix runs on Debian's 6.1 kernel (COMPAT_FULL=1: here); here it is over the types of at most $matrix_max_mib MiB, left out:$left_out" \
		"the pairs of the larger types"


rm -rf "$tmp"
tap_end
