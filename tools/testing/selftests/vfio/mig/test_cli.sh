#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# End-to-end tests of the vfio-mig command line client, inside the test
# VM: info, save/restore through files and pipes, live migration in one
# process, over a pipe and over TCP under a workload that checks for lost
# or duplicated data, bad input, and the same client migrating the second
# sample driver's device.  Prints TAP.

top=${VFIO_MIG_TOP:?run through the VM runner}
V=$top/build/tools/vfio-mig
T=/sys/class/mdev_bus/mtty_mig/mdev_supported_types
tmp=$(mktemp -d)
n=0 pass=0 fail=0

ok() {	# ok CONDITION-STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"; pass=$((pass + 1))
	else
		echo "not ok $n - $2"; fail=$((fail + 1))
	fi
}
expect() {	# expect CODE DESCRIPTION COMMAND...
	want=$1 what=$2; shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" -eq "$want" ]
	r=$?
	[ $r -ne 0 ] && echo "# exit $got, expected $want: $(head -c 300 "$tmp/err")"
	ok $r "$what"
}
mk() {	# mk TYPE: create an mdev, print its UUID
	u=$(cat /proc/sys/kernel/random/uuid)
	echo "$u" >"$T/mtty_mig-$1/create" && echo "$u"
}

echo "TAP version 13"
A=$(mk 1port-1M) B=$(mk 1port-1M-mmap) C=$(mk 2port-1M) D=$(mk 1port-1M)

# One version everywhere: the VERSION file, the client, the three modules.
ver=$(cat "$top/VERSION")
expect 0 "--version exits 0" "$V" --version
[ "$(head -1 "$tmp/out")" = "vfio-mig $ver" ] &&
	[ "$(sed -n 2p "$tmp/out")" = "engine (vfio_mig module) $ver" ]
ok $? "--version prints the client's and the engine's version ($ver)"
[ "$(cat /sys/module/mtty_mig/version)" = "$ver" ] &&
	[ "$(cat /sys/module/mcount_mig/version)" = "$ver" ]
ok $? "both sample drivers carry the same version"

expect 0 "--help exits 0" "$V" --help
grep -q "migrate SRC DST" "$tmp/out"; ok $? "--help lists the commands"
expect 1 "no command exits 1" "$V"
expect 1 "an unknown command exits 1" "$V" frobnicate
expect 1 "migrating a device to itself exits 1" "$V" migrate "$A" "$A"
expect 2 "a malformed device name exits 2" "$V" info not-a-uuid
[ "$(wc -l <"$tmp/err")" -eq 1 ]; ok $? "errors are one line"
expect 2 "an unknown UUID exits 2" "$V" info 00000000-0000-0000-0000-000000000000
expect 2 "errors with --json too" "$V" --json info "it's-\"bad\""
grep -q '^{"ok":false,"exit":2,"error":".*\\"bad\\"' "$tmp/out"
ok $? "the JSON error escapes quotes"

expect 0 "info on a trapped device" "$V" info "$A"
grep -q "trapped data section" "$tmp/out"; ok $? "info reports the trapped mode"
expect 0 "info on an mmap device" "$V" info "/sys/bus/mdev/devices/$B"
grep -q "mmapped data section" "$tmp/out"; ok $? "info takes a sysfs path and reports mmap"
expect 0 "info --json" "$V" --json info "$A"
grep -q '"ok":true.*"state":"NONE".*"postcopy_only":0' "$tmp/out"
ok $? "info --json has the state and pending data"

expect 0 "live migration in one process under load" \
	"$V" migrate --workload "$A" "$B"
grep -q "verified:" "$tmp/out"; ok $? "the summary says what was verified"
expect 0 "live migration to a second process over a pipe" \
	"$V" migrate --workload --split "$B" "$A"
expect 0 "live migration over loopback TCP, JSON result" \
	"$V" --json migrate --workload --tcp 4567 "$A" "$B"
grep -q '"ok":true,"command":"migrate","mode":"tcp"' "$tmp/out"
ok $? "migrate --json describes the migration"
expect 0 "a forced stop after one pass still migrates losslessly" \
	"$V" migrate --workload --max-iterations 1 --max-downtime 0 "$B" "$A"

expect 0 "workload leaves state in the device" "$V" workload "$A"
expect 0 "save to a file" "$V" save "$A" "$tmp/a.vmig"
expect 0 "restore from the file" "$V" restore "$D" "$tmp/a.vmig"
expect 0 "save the restored device" "$V" save "$D" "$tmp/d.vmig"
cmp -s "$tmp/a.vmig" "$tmp/d.vmig"; ok $? "the restored device saves to the same bytes"
"$V" -q save "$A" - 2>"$tmp/err" | "$V" -q restore "$B" - 2>>"$tmp/err"
ok $? "save to stdout piped into restore from stdin"

head -c 5000 "$tmp/a.vmig" >"$tmp/trunc.vmig"
expect 3 "a truncated file exits 3" "$V" restore "$D" "$tmp/trunc.vmig"
cp "$tmp/a.vmig" "$tmp/bad.vmig"
printf 'X' | dd of="$tmp/bad.vmig" bs=1 seek=200000 conv=notrunc 2>/dev/null
expect 3 "a corrupted file exits 3" "$V" restore "$D" "$tmp/bad.vmig"
head -c 100000 /dev/urandom >"$tmp/rand.vmig"
expect 3 "random bytes exit 3" "$V" restore "$D" "$tmp/rand.vmig"
expect 3 "a missing file exits 3" "$V" restore "$D" "$tmp/none.vmig"
"$V" -q save "$C" "$tmp/c.vmig"
expect 4 "a two-port device into a one-port device exits 4" \
	"$V" restore "$D" "$tmp/c.vmig"
expect 0 "the refused destination can still be restored" \
	"$V" restore "$D" "$tmp/a.vmig"

expect 4 "migrating under load to a device of another type exits 4" \
	"$V" migrate --workload "$A" "$C"
"$V" -q save "$A" "$tmp/before.vmig"
expect 4 "migrating to a device of another type exits 4" \
	"$V" migrate "$A" "$C"
"$V" info "$A" | grep -q "state     NONE"
ok $? "after a refused migration the source is left running (NONE)"
"$V" -q save "$A" "$tmp/after.vmig"
cmp -s "$tmp/before.vmig" "$tmp/after.vmig"
ok $? "after a refused migration the source's state is intact"
expect 0 "... and it migrates losslessly afterwards" \
	"$V" migrate --workload --warmup 200 "$A" "$B"

# The second sample driver: the client knows no driver, only the region.
MT=/sys/class/mdev_bus/mcount_mig/mdev_supported_types
mkc() {	# mkc TYPE: create an mcount-mig mdev, print its UUID
	u=$(cat /proc/sys/kernel/random/uuid)
	echo "$u" >"$MT/mcount_mig-$1/create" && echo "$u"
}
mstate() { cat "/sys/bus/mdev/devices/$1/traffic/state"; }
E=$(mkc 4ctr) F=$(mkc 4ctr) G=$(mkc 1ctr) H=$(mkc 4ctr)
echo 1234 >"/sys/bus/mdev/devices/$E/traffic/tick"
expect 0 "an mcount-mig device migrates live" "$V" migrate "$E" "$F"
[ "$(mstate "$F")" = "$(mstate "$E")" ] &&
	[ "$(mstate "$F")" = "0 0 0 0 0 0 1234" ]
ok $? "... and the destination's registers equal the source's"
expect 0 "an mcount-mig device saves to a file" "$V" save "$E" "$tmp/c.vmig"
expect 0 "... and restores from it" "$V" restore "$H" "$tmp/c.vmig"
[ "$(mstate "$H")" = "$(mstate "$E")" ]; ok $? "... with the same registers"
expect 4 "an mcount-mig stream is refused by a device of another type" \
	"$V" restore "$G" "$tmp/c.vmig"
[ "$(mstate "$G")" = "0 0 0 0 0 0 0" ]; ok $? "... which keeps its power-on state"

rm -rf "$tmp"
for u in $A $B $C $D $E $F $G $H; do echo 1 >"/sys/bus/mdev/devices/$u/remove"; done
echo "1..$n"
echo "# $pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
