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
# The engine's CRC32C: measured at load, or as crc32c_impl says.  A
# kernel without a crc32c() library (the debug kernel has no libcrc32c)
# offers the table alone.
P=/sys/module/vfio_mig/parameters/crc32c_impl
log() { dmesg | grep 'vfio_mig: crc32c' | tail -n 1 | sed 's/^\[[^]]*\] //'; }
! modprobe vfio_mig crc32c_impl=bogus 2>/dev/null && ! loaded vfio_mig
ok $? "crc32c_impl=bogus: the engine refuses to load ($(log))"
modprobe vfio_mig && impl=$(cat $P) && line=$(log)
case $line in
*"this kernel has no crc32c() library"*)
	[ "$impl" = table ]
	ok $? "without a crc32c() library it takes the table ($line)"
	modprobe -r vfio_mig && ! modprobe vfio_mig crc32c_impl=crc32c 2>/dev/null
	ok $? "... and refuses crc32c_impl=crc32c ($(log))"
	impls=table ;;
*)
	echo "$line" | grep -Eq "^vfio_mig: crc32c: table [0-9]+ MB/s, crc32c\(\) [0-9]+ MB/s \(.+\): using $impl\$"
	ok $? "by default it measures both and says its choice: $line"
	impls="table crc32c" ;;
esac
modprobe -r vfio_mig
for impl in $impls; do
	modprobe vfio_mig crc32c_impl=$impl && [ "$(cat $P)" = $impl ] &&
		log | grep -qx "vfio_mig: crc32c: $impl, as crc32c_impl asks" &&
		modprobe -r vfio_mig
	ok $? "crc32c_impl=$impl: loaded with it, and it reads back"
done
modprobe mtty_mig && modprobe mcount_mig
ok $? "loaded again for the tests that follow"
tap_end
