#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# End-to-end tests of the vfio-mig command line client, inside the test
# VM: info, save/restore through files and pipes, live migration in one
# process, over a pipe and over TCP under a workload that checks for lost
# or duplicated data, bad input, and the same client migrating the second
# sample driver's device; its command line (numbers, UUIDs, exit codes,
# --json on every outcome, safe saves), its help and man page, and, last,
# its message when the sample modules are not loaded: the script unloads
# mtty_mig and mcount_mig and loads their .ko files again afterwards, from
# VFIO_MIG_MODULES (vm/run --modules DIR) if set, else from the tree
# (as test_lifecycle does), skipping that case when they cannot be
# unloaded.  Needs jq, groff and script on the host (scripts/host-deps).
# Prints TAP.

# shellcheck source-path=SCRIPTDIR source=tap.sh
. "$(dirname "$0")/tap.sh"
need_modules mtty_mig mcount_mig
top=$VFIO_MIG_TOP
V=$top/build/tools/vfio-mig
T=/sys/class/mdev_bus/mtty_mig/mdev_supported_types
tmp=$(mktemp -d)

expect() {	# expect CODE DESCRIPTION COMMAND...
	want=$1 what=$2; shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" -eq "$want" ]
	r=$?
	[ $r -ne 0 ] && echo "# exit $got, expected $want: $(head -c 300 "$tmp/err")"
	ok $r "$what"
}
json() {	# json FILTER [FILE]: FILE ($tmp/out) is one JSON object, FILTER true
	jq -se "length == 1 and (.[0] | $1)" "${2:-$tmp/out}" >/dev/null 2>&1
}
no_temp() {	# no_temp DIR: DIR holds no hidden (temporary) file
	for f in "$1"/.*; do
		case ${f##*/} in .|..|'.*') ;; *) return 1 ;; esac
	done
}
mk() {	# mk TYPE: create an mdev, print its UUID
	u=$(cat /proc/sys/kernel/random/uuid)
	echo "$u" >"$T/mtty_mig-$1/create" && echo "$u"
}

MT=/sys/class/mdev_bus/mcount_mig/mdev_supported_types
mkc() {	# mkc TYPE: create an mcount-mig mdev, print its UUID
	u=$(cat /proc/sys/kernel/random/uuid)
	echo "$u" >"$MT/mcount_mig-$1/create" && echo "$u"
}

echo "TAP version 13"
A=$(mk 1port-1M) B=$(mk 1port-1M-mmap) C=$(mk 2port-1M) D=$(mk 1port-1M)
E0=$(mkc 1ctr)	# a device that saves small

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
cp "$tmp/out" "$tmp/help"

# --help, the man page and the code agree: every option and command.
man=$top/tools/vfio-mig/vfio-mig.1
sed 's/\\-/-/g' "$man" >"$tmp/man"
opts=$(sed -n 's/^\t\t{ "\([a-z-]*\)", .*/\1/p' "$top/tools/vfio-mig/vfio-mig.c")
miss=
for o in $opts; do
	grep -q -- "--$o\b" "$tmp/help" || miss="$miss help:--$o"
	grep -q -- "--$o\b" "$tmp/man" || miss="$miss man:--$o"
done
for o in $(grep -o -- '--[a-z][a-z-]*' "$tmp/help" | sort -u); do
	echo "$opts" | grep -qx -- "${o#--}" || miss="$miss code:$o"
done
[ "$(echo "$opts" | wc -w)" -ge 14 ] && [ -z "$miss" ]
ok $? "every option is in the code, --help and the man page (missing:${miss:- none})"
miss=
for c in $(sed -n 's/^\t{ "\([a-z]*\)", ".*/\1/p' "$top/tools/vfio-mig/vfio-mig.c"); do
	grep -q "^  $c " "$tmp/help" || miss="$miss help:$c"
	grep -q "^\.B $c$" "$tmp/man" || miss="$miss man:$c"
done
[ -z "$miss" ]; ok $? "every command is in --help and the man page (missing:${miss:- none})"
for c in 0 1 64 65 69 71 74 76; do
	grep -q "^\.B $c$" "$man" && grep -q "\b$c\b" "$tmp/help" || miss="$miss $c"
done
[ -z "$miss" ]; ok $? "every exit code is in --help and the man page (missing:${miss:- none})"
groff -ww -man -Tutf8 "$man" 2>"$tmp/groff" >/dev/null &&
	! [ -s "$tmp/groff" ]
ok $? "the man page renders without a groff warning"
[ -s "$tmp/groff" ] && echo "# $(head -3 "$tmp/groff")"

# Usage errors exit 64, as one line.
expect 64 "no command exits 64" "$V"
expect 64 "an unknown command exits 64" "$V" frobnicate
expect 64 "an unknown option exits 64" "$V" --frobnicate info "$A"
expect 64 "an option without its argument exits 64" "$V" info "$A" --tcp
expect 64 "a missing argument exits 64" "$V" save "$A"
expect 64 "migrating a device to itself exits 64" "$V" migrate "$A" "$A"
AU=$(echo "$A" | tr a-f A-F)
expect 64 "... also when one UUID is typed in upper case" "$V" migrate "$AU" "$A"
expect 64 "a malformed device name exits 64" "$V" info not-a-uuid
[ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "is not an mdev UUID" "$tmp/err"
ok $? "errors are one line, and say what a UUID is"
expect 64 "a UUID one digit short exits 64" "$V" info "${A%?}"
expect 64 "a UUID with a stray character exits 64" "$V" info "${A%?}g"
expect 64 "... and --json names no device for it" "$V" --json info "${A}x"
json ".source == null"; ok $? "... (source null, not a part of the name)"
expect 0 "a sysfs path with a trailing slash names the device" \
	"$V" --json info "/sys/bus/mdev/devices/$A/"
json ".source == \"$A\""; ok $? "... the one at the end of the path"
expect 0 "an upper-case UUID finds the lower-case sysfs device" "$V" --json info "$AU"
json ".source == \"$A\""; ok $? "... and --json names it in lower case"
expect 69 "an unknown UUID exits 69" "$V" info 00000000-0000-0000-0000-000000000000
grep -q "no mdev 00000000-0000-0000-0000-000000000000" "$tmp/err" &&
	! grep -q "modules" "$tmp/err"
ok $? "... saying there is no such mdev (the modules are loaded)"

# Numbers: decimal, in range, with size suffixes where sizes are taken.
for bad in "--max-iterations -1" "--max-iterations 0" "--max-iterations 4294967296" \
	   "--tcp -1" "--tcp 0" "--tcp 65536" "--tcp 4294967296" "--tcp 0x10" \
	   "--max-downtime 3600001" "--warmup -5" "--verify 1.5" "--warmup +5" \
	   "--threshold 18446744073709551616" "--threshold 16777216T" \
	   "--threshold 1P" "--threshold 1KK" "--threshold K" \
	   "--guest-mem 4097" "--guest-mem 2T" "--guest-mem 0" \
	   "--guest-mem 17179869184T"; do
	# shellcheck disable=SC2086
	expect 64 "$bad is refused" "$V" $bad info "$A"
	grep -q -- "${bad%% *}" "$tmp/err" || { echo "# $(cat "$tmp/err")"; false; }
	ok $? "... and the message names ${bad%% *}"
done
expect 64 "an empty number is refused" "$V" --max-iterations "" info "$A"
expect 64 "a number with a leading space is refused" "$V" --tcp " 5" info "$A"
expect 0 "the largest numbers are taken" "$V" --threshold 16777215T \
	--tcp 65535 --max-iterations 4294967295 --max-downtime 3600000 \
	--guest-mem 1T info "$A"
expect 0 "info on a trapped device" "$V" info "$A"
grep -q "trapped data section" "$tmp/out"; ok $? "info reports the trapped mode"
expect 0 "info on an mmap device" "$V" info "/sys/bus/mdev/devices/$B"
grep -q "mmapped data section" "$tmp/out"; ok $? "info takes a sysfs path and reports mmap"
expect 0 "info --json" "$V" --json info "$A"
json ".ok and .command == \"info\" and .source == \"$A\" and .destination == null and .state == \"NONE\" and .pending.postcopy_only == 0 and .mmap == false"
ok $? "info --json has the device, the state and pending data"

expect 0 "live migration in one process under load" \
	"$V" migrate --workload "$A" "$B"
grep -q "verified:" "$tmp/out"; ok $? "the summary says what was verified"
expect 0 "live migration in one process, JSON result" \
	"$V" --json migrate --warmup 0 "$B" "$A"
json ".ok and .command == \"migrate\" and .source == \"$B\" and .destination == \"$A\" and .mode == \"threads\" and .port == null and (.downtime_ms | type) == \"number\" and .verified == false"
ok $? "migrate --json names both devices; no port is null, the downtime measured"
expect 0 "live migration to a second process over a pipe" \
	"$V" migrate --workload --split "$B" "$A"
expect 0 "live migration over loopback TCP, JSON result" \
	"$V" --json migrate --workload --tcp 04567 "$A" "$B"
json ".ok and .command == \"migrate\" and .mode == \"tcp\" and .port == 4567 and .verified and .downtime_ms > 0"
ok $? "migrate --json describes the migration; --tcp 04567 is port 4567 (decimal)"
expect 0 "a forced stop after one pass still migrates losslessly" \
	"$V" migrate --workload --max-iterations 1 --max-downtime 0 "$B" "$A"

expect 0 "workload leaves state in the device" "$V" workload "$A"
expect 0 "workload --json" "$V" --json workload --warmup 200 "$C"
json ".ok and .command == \"workload\" and .source == \"$C\" and .bytes > 0"
ok $? "workload --json names the device and counts the bytes"
expect 0 "save to a file" "$V" save "$A" "$tmp/a.vmig"
expect 0 "restore from the file" "$V" restore "$D" "$tmp/a.vmig"
expect 0 "save the restored device" "$V" save "$D" "$tmp/d.vmig"
cmp -s "$tmp/a.vmig" "$tmp/d.vmig"; ok $? "the restored device saves to the same bytes"
"$V" -q save "$A" - 2>"$tmp/err" | "$V" -q restore "$B" - 2>>"$tmp/err"
ok $? "save to stdout piped into restore from stdin"
expect 0 "save --json to stdout" "$V" --json save "$A" -
mv "$tmp/out" "$tmp/stdout.vmig"
json ".ok and .command == \"save\" and .source == \"$A\" and .destination == null and .file == \"-\" and .bytes > 0" "$tmp/err"
ok $? "... puts the JSON object on stderr"
expect 0 "... and the data on stdout restores" "$V" --json restore "$D" "$tmp/stdout.vmig"
json ".ok and .command == \"restore\" and .source == null and .destination == \"$D\""
ok $? "restore --json names the destination"

# Saving: into a temporary file renamed on success, never to a terminal.
expect 0 "--guest-mem 012K is decimal (12288, not octal)" \
	"$V" --guest-mem 012K --threshold 1T save "$A" "$tmp/g.vmig"
[ "$(od -An -tu8 -j16 -N8 "$tmp/g.vmig" | tr -d ' ')" = 12288 ]
ok $? "... the saved device carries 12288 bytes of guest memory"
mkdir "$tmp/small"
if mount -t tmpfs -o size=256k small "$tmp/small"; then
	"$V" -q save "$E0" "$tmp/small/dev.vmig"
	cp "$tmp/small/dev.vmig" "$tmp/good.vmig"
	expect 74 "a save that fills the disk exits 74" \
		"$V" save "$A" "$tmp/small/dev.vmig"
	grep -q "No space left" "$tmp/err"; ok $? "... saying the disk is full"
	cmp -s "$tmp/small/dev.vmig" "$tmp/good.vmig" &&
		[ "$(ls "$tmp/small")" = dev.vmig ] && no_temp "$tmp/small"
	ok $? "... leaving the earlier file as it was, and no temporary file"
	umount "$tmp/small"
else
	skip "cannot mount a tmpfs" "a save that fills the disk"
fi
chmod 644 "$tmp/a.vmig"
ln -s a.vmig "$tmp/link.vmig"
expect 0 "save over a symbolic link" "$V" save "$A" "$tmp/link.vmig"
[ -h "$tmp/link.vmig" ] && [ "$(stat -c %a "$tmp/a.vmig")" = 644 ] &&
	"$V" -q restore "$D" "$tmp/link.vmig" &&
	no_temp "$tmp"
ok $? "... replaces the file it points at, keeps its mode, leaves no temporary file"
[ "$(stat -c %a "$tmp/d.vmig")" = 600 ]; ok $? "a new saved file has mode 600"
expect 74 "a save to a full device exits 74" "$V" save "$A" /dev/full
[ -c /dev/full ]; ok $? "... written directly: /dev/full is still a device"
expect 74 "a save into a missing directory exits 74" "$V" --json save "$A" "$tmp/none/x.vmig"
json ".ok == false and .exit == 74 and .errno == \"ENOENT\" and .command == \"save\" and .source == \"$A\""
ok $? "... and --json gives the exit code and the errno name"
mkdir -p /dev/pts
mountpoint -q /dev/pts || mount -t devpts devpts /dev/pts 2>/dev/null
if script -qec true /dev/null >/dev/null 2>&1 </dev/null; then
	script -qec "$V save $A -" /dev/null </dev/null >"$tmp/tty" 2>&1
	[ $? -eq 64 ] && grep -q "refusing to write a saved device to a terminal" "$tmp/tty" &&
		[ "$(wc -c <"$tmp/tty")" -lt 400 ]
	ok $? "save to stdout on a terminal exits 64, writing no data"
	script -qec "$V save $A /dev/tty" /dev/null </dev/null >"$tmp/tty" 2>&1
	[ $? -eq 64 ] && grep -q "refusing to write a saved device to a terminal" "$tmp/tty" &&
		[ "$(wc -c <"$tmp/tty")" -lt 400 ]
	ok $? "save to /dev/tty (a terminal by name) exits 64, writing no data"
else
	skip "no pseudo-terminal (script)" "save to stdout on a terminal"
	skip "no pseudo-terminal (script)" "save to /dev/tty"
fi
# A save ended by a signal at some point of its run (the delays cover the
# start, the pre-copy and the stop-and-copy of a 16 MiB device) leaves no
# temporary file, and the earlier file whole or replaced by a whole one.
S16=$(mk 1port-16M) T16=$(mk 1port-16M)
"$V" -q save "$S16" "$tmp/sig.vmig"
cp "$tmp/sig.vmig" "$tmp/sig-good.vmig"
r=0
for delay in 0 0.05 0.1 0.2 0.4 0.8; do
	"$V" -q save "$S16" "$tmp/sig.vmig" 2>/dev/null &
	sleep "$delay"
	kill -TERM $! 2>/dev/null
	wait $! 2>/dev/null
	no_temp "$tmp" || {
		echo "# after SIGTERM at ${delay}s: $(ls -a "$tmp" | tr '\n' ' ')"
		rm -f "$tmp"/.sig.vmig.*
		r=1
	}
	cmp -s "$tmp/sig.vmig" "$tmp/sig-good.vmig" ||
		"$V" -q restore "$T16" "$tmp/sig.vmig" ||
		{ echo "# not a whole saved file after SIGTERM at ${delay}s"; r=1; }
done
ok $r "save killed by SIGTERM at 0 to 0.8 s leaves no temporary file and a whole saved file"
echo 1 >"/sys/bus/mdev/devices/$S16/remove"
echo 1 >"/sys/bus/mdev/devices/$T16/remove"

head -c 5000 "$tmp/a.vmig" >"$tmp/trunc.vmig"
expect 65 "a truncated file exits 65" "$V" restore "$D" "$tmp/trunc.vmig"
cp "$tmp/a.vmig" "$tmp/bad.vmig"
printf 'X' | dd of="$tmp/bad.vmig" bs=1 seek=200000 conv=notrunc 2>/dev/null
expect 65 "a corrupted file exits 65" "$V" restore "$D" "$tmp/bad.vmig"
head -c 100000 /dev/urandom >"$tmp/rand.vmig"
expect 65 "random bytes exit 65" "$V" --json restore "$D" "$tmp/rand.vmig"
json ".ok == false and .exit == 65 and .destination == \"$D\" and (.error | contains(\"bad magic\"))"
ok $? "... and --json says why"
expect 74 "a missing file exits 74" "$V" restore "$D" "$tmp/none.vmig"
expect 74 "a directory as the file exits 74" "$V" restore "$D" "$tmp"
expect 74 "JSON errors are escaped" "$V" --json restore "$D" "$(printf 'x"\\\001\377y')"
json '.errno == "ENOENT" and (.error | contains("x\"\\\u0001\ufffdy"))'
ok $? "... quotes, backslashes, controls, and bytes that are not UTF-8"
expect 64 "errors with --json before the command is known" "$V" --tcp 99999 --json
json '.ok == false and .exit == 64 and .command == null and .source == null and .errno == null and (.error | contains("--tcp"))'
ok $? "... are one JSON object with null for what is not known"
"$V" -q save "$C" "$tmp/c.vmig"
expect 76 "a two-port device into a one-port device exits 76" \
	"$V" restore "$D" "$tmp/c.vmig"
expect 0 "the refused destination can still be restored" \
	"$V" restore "$D" "$tmp/a.vmig"

expect 76 "migrating under load to a device of another type exits 76" \
	"$V" migrate --workload "$A" "$C"
"$V" -q save "$A" "$tmp/before.vmig"
expect 76 "migrating to a device of another type exits 76" \
	"$V" --json migrate --split "$A" "$C"
json ".ok == false and .exit == 76 and .source == \"$A\" and .destination == \"$C\" and (.error | contains(\"refused\"))"
ok $? "... --json from a second process names both devices and the cause"
"$V" info "$A" | grep -q "state     NONE"
ok $? "after a refused migration the source is left running (NONE)"
"$V" -q save "$A" "$tmp/after.vmig"
cmp -s "$tmp/before.vmig" "$tmp/after.vmig"
ok $? "after a refused migration the source's state is intact"
expect 0 "... and it migrates losslessly afterwards" \
	"$V" migrate --workload --warmup 200 "$A" "$B"

# The second sample driver: the client knows no driver, only the region.
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
expect 76 "an mcount-mig stream is refused by a device of another type" \
	"$V" restore "$G" "$tmp/c.vmig"
[ "$(mstate "$G")" = "0 0 0 0 0 0 0" ]; ok $? "... which keeps its power-on state"

for u in $A $B $C $D $E $F $G $H $E0; do echo 1 >"/sys/bus/mdev/devices/$u/remove"; done

# Last: the client without the sample modules, which are loaded again after.
ko=${VFIO_MIG_MODULES:-$top/samples/vfio-mdev}
if rmmod mcount_mig mtty_mig 2>"$tmp/err"; then
	expect 69 "without the sample modules, info exits 69" "$V" info "$A"
	grep -q "no mdev bus: are the modules loaded?" "$tmp/err"
	ok $? "... asking whether the modules are loaded"
	expect 69 "... also with --json" "$V" --json migrate "$A" "$B"
	json ".exit == 69 and .errno == \"ENOENT\" and .source == \"$A\" and (.error | contains(\"are the modules loaded?\"))"
	ok $? "... one JSON object with the cause"
	insmod "$ko/mtty-mig.ko" && insmod "$ko/mcount-mig.ko" &&
		[ -d /sys/class/mdev_bus/mtty_mig ] && [ -d /sys/class/mdev_bus/mcount_mig ]
	ok $? "the sample modules load again"
else
	skip "cannot unload the sample modules: $(head -c 200 "$tmp/err")" \
		"the client without the sample modules"
fi

rm -rf "$tmp"
tap_end
