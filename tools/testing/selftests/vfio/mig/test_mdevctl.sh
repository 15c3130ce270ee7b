#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Debian's mdevctl managing the sample drivers' mdevs, inside the test VM:
# types, transient start and stop (with and without a UUID), list in text
# and JSON, define, start of a defined device, undefine, refused requests
# (unknown type or parent, a UUID in use, an exhausted type), and the
# start of "define --auto" devices when their parent registers: by the
# command the udev rule runs, then by udevd itself with the package's rule,
# with the project's replacement (contrib/udev/rules.d/60-mdevctl.rules)
# and with a /usr/sbin/mdevctl symlink.  Every outcome is checked in sysfs
# and in /etc/mdevctl.d as well as in mdevctl's output.  Prints TAP.

# shellcheck source-path=SCRIPTDIR source=tap.sh
. "$(dirname "$0")/tap.sh"
need_modules mtty_mig mcount_mig
top=$VFIO_MIG_TOP
D=/sys/bus/mdev/devices
C=/etc/mdevctl.d
tmp=$(mktemp -d)

finish() { rm -rf "$tmp"; tap_end; exit; }
run() {	# run COMMAND...: mdevctl's stdout in $tmp/out, stderr in $tmp/err
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -ne 0 ] && echo "# exit $rc: $*: $(head -c 300 "$tmp/err")"
	return $rc
}
refused() {	# refused COMMAND...: succeeds when COMMAND exits non-zero
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 0 ] && echo "# $* exited 0"
	[ $rc -ne 0 ]
}
avail() { cat "/sys/class/mdev_bus/$1/mdev_supported_types/$2/available_instances"; }
ndev() { find "$D" -mindepth 1 -maxdepth 1 | wc -l; }
# ndef: the definitions in $C, one file per device in a directory per parent
ndef() { find "$C" -mindepth 2 -maxdepth 2 -type f ! -path "$C/scripts.d/*" | wc -l; }
# is_dev UUID PARENT TYPE: the mdev exists, under PARENT, of TYPE
is_dev() {
	[ -d "$D/$1" ] &&
		[ "$(basename "$(readlink "$D/$1/mdev_type")")" = "$3" ] &&
		[ "$(basename "$(dirname "$(readlink -f "$D/$1")")")" = "$2" ]
}
is_uuid() { echo "$1" | grep -Eqx '[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}'; }
listed() {	# listed LINE OPTION...: mdevctl list OPTION... prints LINE
	mdevctl list "$@" 2>/dev/null | grep -Fqx "$L"
}
# types_avail PARENT TYPE: "Available instances" under TYPE in mdevctl types
types_avail() {
	mdevctl types -p "$1" | awk -v t="  $2" '
		$0 == t { f = 1; next }
		f && /Available instances:/ { print $3; exit }'
}
wait_for() {	# wait_for UUID: up to 30 s for the mdev to appear
	i=0
	while [ ! -d "$D/$1" ] && [ $i -lt 60 ]; do sleep 0.5; i=$((i + 1)); done
	[ -d "$D/$1" ]
}
# reload: unload both sample drivers and load them again, so that both
# parents unregister and register with the mdev core, as at boot.
reload() {
	rmmod mcount_mig && rmmod mtty_mig &&
		insmod "$top/samples/vfio-mdev/mtty-mig.ko" &&
		insmod "$top/samples/vfio-mdev/mcount-mig.ko"
}

echo "TAP version 13"
if ! command -v mdevctl >/dev/null 2>&1; then
	skip "mdevctl is not installed (apt-get install mdevctl; scripts/host-deps installs it)" \
		"mdevctl"
	finish
fi
echo "# $(mdevctl --version)"
defs0=$(ndef)

# --- types -----------------------------------------------------------------
mdevctl types >"$tmp/types" 2>&1
ok $? "mdevctl types exits 0"
grep -qx mtty_mig "$tmp/types" && grep -qx mcount_mig "$tmp/types" &&
	grep -qx "  mtty_mig-1port-1M" "$tmp/types" &&
	grep -qx "  mcount_mig-4ctr" "$tmp/types"
ok $? "mdevctl types lists both parents and their types"
mdevctl types --dumpjson -p mcount_mig | grep -q '"mcount_mig-1ctr": {'
ok $? "mdevctl types --dumpjson -p names the parent's types"

# --- transient devices, for a type of each driver ----------------------------
for spec in "mtty_mig mtty_mig-1port-1M mtty_mig-2port-1M" \
	    "mcount_mig mcount_mig-4ctr mcount_mig-1ctr"; do
	# shellcheck disable=SC2086
	set -- $spec
	P=$1 T=$2 T2=$3
	a0=$(avail "$P" "$T")
	[ "$(types_avail "$P" "$T")" = "$a0" ]
	ok $? "$P: mdevctl types shows $T's available_instances ($a0)"

	run mdevctl start -p "$P" -t "$T"
	ok $? "$P: mdevctl start -p $P -t $T"
	U=$(cat "$tmp/out")
	is_uuid "$U"; ok $? "$P: ... prints the new device's UUID"
	is_dev "$U" "$P" "$T"; ok $? "$P: ... the mdev is in sysfs, of type $T"
	[ "$(avail "$P" "$T")" -eq $((a0 - 1)) ]
	ok $? "$P: ... and $T's available_instances went down by one"
	L="$U $P $T manual"
	listed; ok $? "$P: mdevctl list shows it"
	mdevctl list -u "$U" --dumpjson | grep -q "\"mdev_type\": \"$T\""
	ok $? "$P: mdevctl list -u UUID --dumpjson gives its type"
	mdevctl list --dumpjson | grep -q "\"$U\": {"
	ok $? "$P: mdevctl list --dumpjson has it"
	! listed --defined && [ ! -e "$C/$P/$U" ]
	ok $? "$P: a started device is not defined"

	# Promote it to a defined device, stop it, start it by its UUID.
	run mdevctl define -u "$U" && [ -f "$C/$P/$U" ]
	ok $? "$P: mdevctl define -u UUID writes $C/$P/UUID"
	L="$U $P $T manual (active)"
	listed --defined; ok $? "$P: mdevctl list --defined shows it active"
	L="$U $P $T manual (defined)"
	listed; ok $? "$P: mdevctl list marks it defined"
	run mdevctl stop -u "$U" && [ ! -e "$D/$U" ]
	ok $? "$P: mdevctl stop -u UUID removes the mdev"
	[ "$(avail "$P" "$T")" -eq "$a0" ]
	ok $? "$P: ... and gives its instance back"
	! listed; ok $? "$P: mdevctl list no longer shows it"
	L="$U $P $T manual"
	listed -d; ok $? "$P: mdevctl list -d still shows the definition"
	run mdevctl start -u "$U" && is_dev "$U" "$P" "$T"
	ok $? "$P: mdevctl start -u UUID starts the defined device"
	run mdevctl stop -u "$U" && run mdevctl undefine -u "$U" &&
		[ ! -e "$C/$P/$U" ] && [ ! -e "$D/$U" ]
	ok $? "$P: stop and mdevctl undefine -u UUID remove it all"
	! listed -d; ok $? "$P: mdevctl list -d no longer shows it"

	# A UUID of our choosing, and the refusals around it.
	W=$(cat /proc/sys/kernel/random/uuid)
	b0=$(avail "$P" "$T2")
	run mdevctl start -u "$W" -p "$P" -t "$T2" && is_dev "$W" "$P" "$T2" &&
		[ "$(avail "$P" "$T2")" -eq $((b0 - 1)) ]
	ok $? "$P: mdevctl start -u UUID -p $P -t $T2 creates that UUID"
	d0=$(ndev)
	refused mdevctl start -u "$W" -p "$P" -t "$T2" && [ "$(ndev)" -eq "$d0" ]
	ok $? "$P: starting a running UUID again is refused"
	O=mtty_mig OT=mtty_mig-1port-1M
	[ "$P" = mtty_mig ] && O=mcount_mig OT=mcount_mig-1ctr
	refused mdevctl start -u "$W" -p "$O" -t "$OT" && [ "$(ndev)" -eq "$d0" ] &&
		is_dev "$W" "$P" "$T2"
	ok $? "$P: ... and so is the same UUID under the other parent"
	a1=$(avail "$P" "$T")
	refused mdevctl start -p "$P" -t "$P-nosuchtype" &&
		[ "$(ndev)" -eq "$d0" ] && [ "$(avail "$P" "$T")" -eq "$a1" ]
	ok $? "$P: an unknown type is refused, nothing created"
	run mdevctl stop -u "$W" && [ ! -e "$D/$W" ] &&
		[ "$(avail "$P" "$T2")" -eq "$b0" ]
	ok $? "$P: mdevctl stop -u removes it"
done

d0=$(ndev) c0=$(ndef)
refused mdevctl start -p nosuchparent -t mtty_mig-1port-1M &&
	[ "$(ndev)" -eq "$d0" ] && [ "$(ndef)" -eq "$c0" ]
ok $? "an unknown parent is refused, nothing created"
refused mdevctl stop -u 00000000-0000-0000-0000-000000000000
ok $? "stopping an unknown UUID is refused"
refused mdevctl undefine -u 00000000-0000-0000-0000-000000000000
ok $? "undefining an unknown UUID is refused"
# mdevctl 1.2.0 defines a device of any type name; starting it fails ...
X=$(mdevctl define -p mtty_mig -t mtty_mig-nosuchtype 2>/dev/null)
[ -f "$C/mtty_mig/$X" ] && refused mdevctl start -u "$X" &&
	[ "$(ndev)" -eq "$d0" ]
ok $? "a defined device of an unknown type does not start"
run mdevctl undefine -u "$X" && [ ! -e "$C/mtty_mig/$X" ]
ok $? "... and undefines"
# ... and for a parent that is not there.
X=$(mdevctl define -p nosuchparent -t mtty_mig-1port-1M 2>/dev/null)
[ -f "$C/nosuchparent/$X" ] && refused mdevctl start -u "$X" &&
	[ "$(ndev)" -eq "$d0" ]
ok $? "a defined device of an absent parent does not start"
run mdevctl undefine -u "$X" && [ ! -e "$C/nosuchparent/$X" ]
ok $? "... and undefines"

# Exhaust a type: the driver's refusal comes back as a failure.  All but
# one instance are made through sysfs (quicker than a program each).
T=mtty_mig-2port-1M
TD=/sys/class/mdev_bus/mtty_mig/mdev_supported_types/$T
a0=$(avail mtty_mig $T) k=0 us=
while [ $k -lt $((a0 - 1)) ]; do
	u=$(printf '%08x-0000-4000-8000-%012x' $k $k)
	echo "$u" >"$TD/create" || break
	us="$us $u" k=$((k + 1))
done
run mdevctl start -p mtty_mig -t $T && u=$(cat "$tmp/out") &&
	is_dev "$u" mtty_mig $T && [ "$(avail mtty_mig $T)" -eq 0 ]
ok $? "mdevctl starts the last free instance of $T"
us="$us $u" d0=$(ndev)
refused mdevctl start -p mtty_mig -t $T && [ "$(ndev)" -eq "$d0" ]
ok $? "one more is refused, nothing created"
for u in $us; do echo 1 >"$D/$u/remove"; done
[ "$(avail mtty_mig $T)" -eq "$a0" ]
ok $? "removing them gives all $a0 back"

# --- define --auto: started when the parent registers ---------------------
A1=$(mdevctl define --auto -p mtty_mig -t mtty_mig-1port-1M)
A2=$(mdevctl define --auto -p mcount_mig -t mcount_mig-1ctr)
M=$(mdevctl define -p mcount_mig -t mcount_mig-4ctr)
[ -f "$C/mtty_mig/$A1" ] && [ -f "$C/mcount_mig/$A2" ] &&
	[ -f "$C/mcount_mig/$M" ] && [ ! -e "$D/$A1" ] && [ ! -e "$D/$A2" ]
ok $? "mdevctl define --auto -p PARENT -t TYPE defines, starts nothing"
L="$A1 mtty_mig mtty_mig-1port-1M auto"
listed --defined && L="$A2 mcount_mig mcount_mig-1ctr auto" && listed --defined &&
	L="$M mcount_mig mcount_mig-4ctr manual" && listed --defined
ok $? "mdevctl list --defined shows auto and manual"
# is_auto: A1 and A2 run with their types, M does not
is_auto() {
	is_dev "$A1" mtty_mig mtty_mig-1port-1M &&
		is_dev "$A2" mcount_mig mcount_mig-1ctr && [ ! -e "$D/$M" ]
}
none() { [ ! -e "$D/$A1" ] && [ ! -e "$D/$A2" ] && [ ! -e "$D/$M" ]; }

# The test VM runs no udevd: after a reload nothing starts them, until
# the command the package's udev rule runs for each parent.
reload; ok $? "both drivers reload"
none; ok $? "without udev, nothing starts them"
run mdevctl start-parent-mdevs mtty_mig && run mdevctl start-parent-mdevs mcount_mig
ok $? "mdevctl start-parent-mdevs PARENT (the rule's command)"
is_auto; ok $? "... starts the auto devices with their types, not the manual one"

udevd=/lib/systemd/systemd-udevd
if [ ! -x "$udevd" ]; then
	skip "no $udevd" "the udev rule starts auto devices"
else
	# udevadm refuses to talk to udevd in a chroot, which the VM's job is.
	export SYSTEMD_IGNORE_CHROOT=1
	mkdir -p /run/udev
	"$udevd" >"$tmp/udevd.log" 2>&1 &
	upid=$!
	settle() { udevadm control --reload && udevadm settle -t 60; }
	i=0
	while [ ! -S /run/udev/control ] && [ $i -lt 60 ]; do sleep 0.5; i=$((i + 1)); done
	settle; ok $? "udevd runs in the VM"

	rule=/lib/udev/rules.d/60-mdevctl.rules
	grep -q "/usr/sbin/mdevctl start-parent-mdevs %k" "$rule"
	ok $? "bookworm's rule runs /usr/sbin/mdevctl start-parent-mdevs"
	reload && settle && sleep 2
	if [ -x /usr/sbin/mdevctl ]; then
		is_auto; ok $? "there is a /usr/sbin/mdevctl: the package's rule starts them"
	else
		none; ok $? "there is no /usr/sbin/mdevctl: the package's rule starts nothing"
	fi

	install -m 644 "$top/contrib/udev/rules.d/60-mdevctl.rules" /etc/udev/rules.d/ &&
		reload && settle && wait_for "$A1" && wait_for "$A2"
	ok $? "with contrib/udev/rules.d/60-mdevctl.rules in /etc a reload starts them"
	is_auto; ok $? "... with their types, not the manual one"
	rm -f /etc/udev/rules.d/60-mdevctl.rules

	if [ -e /usr/sbin/mdevctl ]; then
		skip "/usr/sbin/mdevctl exists" \
			"a /usr/sbin/mdevctl symlink mends the package's rule"
	else
		ln -s /usr/bin/mdevctl /usr/sbin/mdevctl && reload && settle &&
			wait_for "$A1" && wait_for "$A2" && is_auto
		ok $? "a /usr/sbin/mdevctl symlink mends the package's rule"
		rm -f /usr/sbin/mdevctl
	fi
	kill "$upid"
	wait "$upid" 2>/dev/null
	[ "$fail" -eq 0 ] || sed 's/^/# udevd: /' "$tmp/udevd.log"
fi

# --- clean up: the guest's /etc is a tmpfs overlay, but leave it empty ------
r=0
for u in $A1 $A2 $M; do
	[ -e "$D/$u" ] && { mdevctl stop -u "$u" || r=1; }
	mdevctl undefine -u "$u" || r=1
done
[ $r -eq 0 ] && [ "$(ndef)" -eq "$defs0" ] && none &&
	[ ! -e "$C/mtty_mig/$A1" ] && [ ! -e "$C/mcount_mig/$A2" ] && [ ! -e "$C/mcount_mig/$M" ]
ok $? "mdevctl stop and undefine leave no device and no definition"
finish
