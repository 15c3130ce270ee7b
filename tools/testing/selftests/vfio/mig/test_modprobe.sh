#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The installed modules as a user loads them, inside the test VM: the tree
# that `make install` staged (scripts/check-install, which `make check` and
# `make check-all` run first) goes into /lib/modules/RELEASE/updates/ beside
# the kernel's own modules, depmod indexes it, and `modprobe mtty_mig` with
# nothing loaded must pull in vfio, vfio_iommu_type1, mdev and the engine.
# With the modules DKMS built (vm/run --modules DIR, scripts/test-dkms),
# those go where DKMS puts them, /lib/modules/RELEASE/updates/dkms/.
# The engine's crc32c_impl parameter: refused when unknown, obeyed, and by
# default measured and reported.  The modules are loaded again afterwards
# for the tests that follow.
# Prints TAP.

# shellcheck source-path=SCRIPTDIR source=tap.sh
. "$(dirname "$0")/tap.sh"
need_modules
top=$VFIO_MIG_TOP
kmod=${VFIO_MIG_KMODDIR:?run through the VM runner}
rel=$(uname -r)
if [ -n "${VFIO_MIG_MODULES:-}" ]; then
	staged=$VFIO_MIG_MODULES
	into=updates/dkms
else
	staged=$top/build/check-install/destdir/lib/modules/$rel/updates
	into=updates
fi
loaded() {	# loaded MODULE...: all of them are loaded
	for m in "$@"; do [ -d "/sys/module/$m" ] || return 1; done
}

echo "TAP version 13"
if [ ! -d "$staged" ]; then
	skip "no staged install for $rel (make check-install KVER=...)" \
		"modprobe of the installed modules"
	tap_end
	exit
fi

# /lib/modules/RELEASE as the kernel package and `make install` lay it out
# (the guest's writes stay in its overlay).
mkdir -p "/lib/modules/$rel"
ln -sfn "$kmod/kernel" "/lib/modules/$rel/kernel"
for f in modules.order modules.builtin modules.builtin.modinfo; do
	[ -e "$kmod/$f" ] && cp "$kmod/$f" "/lib/modules/$rel/"
done
rm -rf "/lib/modules/$rel/updates"
mkdir -p "$(dirname "/lib/modules/$rel/$into")"
cp -r "$staged" "/lib/modules/$rel/$into"
depmod -a "$rel"
ok $? "depmod indexes the installed modules"
path=$(modinfo -n mtty_mig 2>/dev/null)
case $path in "/lib/modules/$rel/$into/"*) r=0 ;; *) r=1 ;; esac
ok $r "modinfo finds mtty_mig under $into/ (${path:-not found})"
modinfo -F softdep vfio_mig 2>/dev/null | grep -q 'pre: vfio_iommu_type1'
ok $? "vfio_mig declares a softdep on vfio_iommu_type1"
[ "$(modinfo -F version mtty_mig 2>/dev/null)" = "$(cat "$top/VERSION")" ]
ok $? "the installed mtty_mig is version $(cat "$top/VERSION")"

# Nothing of the VFIO stack loaded, then one modprobe.  A kernel may have
# parts of it built in (the debug kernel has vfio, type1 and mdev): those
# stay, and modprobe has nothing to pull in for them.
mods='' builtin=''
for m in vfio vfio_iommu_type1 mdev; do
	if grep -q "/$m\.ko\$" "/lib/modules/$rel/modules.builtin" 2>/dev/null; then
		builtin="$builtin $m"
	else
		mods="$mods $m"
	fi
done
# shellcheck disable=SC2086
modprobe -r mcount_mig mtty_mig vfio_mig $mods 2>/dev/null
for m in mcount_mig mtty_mig vfio_mig $mods; do
	[ -d "/sys/module/$m" ] && rmmod "$m" 2>/dev/null
done
r=0
for m in vfio_mig $mods; do loaded "$m" && r=1; done
ok $r "the VFIO stack is unloaded (built in:${builtin:- none})"
modprobe mtty_mig
ok $? "modprobe mtty_mig"
# shellcheck disable=SC2086
loaded $mods vfio_mig mtty_mig
ok $? "it pulled in$mods vfio_mig"
[ -d /sys/class/mdev_bus/mtty_mig ]
ok $? "the mtty_mig parent is registered"
modprobe mcount_mig && loaded mcount_mig
ok $? "modprobe mcount_mig"
modprobe -r mcount_mig mtty_mig vfio_mig && ! loaded vfio_mig
ok $? "modprobe -r unloads the drivers and the engine"
# The engine's CRC32C: measured at load, or as crc32c_impl says.  It
# times each implementation this machine has: the table always, crc32c()
# where the kernel has the library (the debug kernel has no libcrc32c),
# x86 on an x86-64 CPU with SSE4.2; the line names them with their rates.
P=/sys/module/vfio_mig/parameters/crc32c_impl
log() { dmesg | grep 'vfio_mig: crc32c' | tail -n 1 | sed 's/^\[[^]]*\] //'; }
! modprobe vfio_mig crc32c_impl=bogus 2>/dev/null && ! loaded vfio_mig
ok $? "crc32c_impl=bogus: the engine refuses to load ($(log))"
modprobe vfio_mig && impl=$(cat $P) && line=$(log)
echo "$line" | grep -Eq "^vfio_mig: crc32c: table [0-9]+ MB/s(, crc32c [0-9]+ MB/s \(.+\))?(, x86 [0-9]+ MB/s)?( \(no crc32c\(\) library\))?: using $impl\$"
ok $? "by default it measures each it has and says its choice: $line"
impls=table
case $line in
*"no crc32c() library"*)
	modprobe -r vfio_mig && ! modprobe vfio_mig crc32c_impl=crc32c 2>/dev/null
	ok $? "without a crc32c() library it refuses crc32c_impl=crc32c ($(log))" ;;
*) impls="$impls crc32c" ;;
esac
if grep -qw sse4_2 /proc/cpuinfo; then
	echo "$line" | grep -q ", x86 [0-9]* MB/s"
	ok $? "an x86-64 CPU with SSE4.2: the x86 code was measured"
	impls="$impls x86"
else
	! echo "$line" | grep -q ", x86 " &&
		{ modprobe -r vfio_mig; ! modprobe vfio_mig crc32c_impl=x86 2>/dev/null; }
	ok $? "a CPU without SSE4.2: no x86 code, and crc32c_impl=x86 is refused ($(log))"
fi
modprobe -r vfio_mig 2>/dev/null
# Each implementation saves the same device into the same bytes, and
# restores what another saved: a 64 MiB device filled with one seed (a
# page straddles many a 1 MiB chunk), saved with each, then each stream
# restored with the next implementation.
T=/sys/class/mdev_bus/mtty_mig/mdev_supported_types/mtty_mig-1port-64M
V=$top/build/tools/vfio-mig
tmp=$(mktemp -d)
first='' prev=''
for impl in $impls; do
	modprobe vfio_mig crc32c_impl=$impl && [ "$(cat $P)" = $impl ] &&
		log | grep -qx "vfio_mig: crc32c: $impl, as crc32c_impl asks" &&
		modprobe mtty_mig
	ok $? "crc32c_impl=$impl: loaded with it, and it reads back"
	u=$(cat /proc/sys/kernel/random/uuid)
	echo "$u" >"$T/create" &&
		echo "0 $((64 << 20)) 20261207" >"/sys/bus/mdev/devices/$u/traffic/fill" &&
		want=$(cat "/sys/bus/mdev/devices/$u/traffic/digest") &&
		"$V" -q save "$u" "$tmp/$impl" &&
		echo 1 >"/sys/bus/mdev/devices/$u/remove"
	r=$?
	[ $r = 0 ] && [ -n "$first" ] && ! cmp -s "$tmp/$first" "$tmp/$impl" && r=1
	ok $r "$impl: a 64 MiB device saves into ${first:+the same bytes as $first: }$(stat -c %s "$tmp/$impl" 2>/dev/null) bytes"
	if [ -n "$prev" ]; then
		u=$(cat /proc/sys/kernel/random/uuid)
		echo "$u" >"$T/create" && "$V" -q restore "$u" "$tmp/$prev" &&
			[ "$(cat "/sys/bus/mdev/devices/$u/traffic/digest")" = "$want" ] &&
			echo 1 >"/sys/bus/mdev/devices/$u/remove"
		ok $? "$impl restores the stream $prev saved: the same memory"
	fi
	first=${first:-$impl} prev=$impl
	modprobe -r mtty_mig vfio_mig
done
rm -rf "$tmp"
modprobe mtty_mig && modprobe mcount_mig
ok $? "loaded again for the tests that follow"
tap_end
