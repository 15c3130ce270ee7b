#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A real guest OS drives mtty-mig while stock QEMU live-migrates it (run
# inside the test VM).
#
# usage: test_guest.sh HMP GUEST KERNEL QEMU...
#   HMP     the built hmp helper (tools/testing/qemu/hmp.c)
#   GUEST   the built guest program (tools/testing/qemu/mtty-guest.c),
#           static
#   KERNEL  the guest's kernel image (a Debian vmlinuz)
#   QEMU    qemu-system-x86_64 binaries, one case each
#
# For each QEMU: an inner VM boots KERNEL with a busybox initramfs made
# here (busybox from the busybox-static package, GUEST as the program it
# runs) and two mtty-mig devices, a 2port-1M-mmap and a 1port-16M.  The
# guest's own 8250_pci driver must give each of their three ports a
# ttyS; mtty-guest streams numbered bytes through each port in loopback
# and keeps the DMA engines writing guest memory, checking everything.
# Meanwhile the VM migrates over TCP to a second QEMU and back to a
# third, then the host writes the stop word into device memory through
# the traffic source and the guest prints its counts on its console: a
# chardev file of the QEMU it runs in, so the report after the migrations
# comes out of the last destination's.  Prints TAP and
# "N passed, N failed" (", N skipped").  GUEST_MIGRATIONS (default 2)
# sets the number of migrations, GUEST_BOOT_TIMEOUT (default 600 s) how
# long a boot may take before the case is skipped.

set -u

hmp_bin=${1:?usage: test_guest.sh HMP GUEST KERNEL QEMU...}
guest=${2:?usage: test_guest.sh HMP GUEST KERNEL QEMU...}
kimage=${3:?usage: test_guest.sh HMP GUEST KERNEL QEMU...}
shift 3
[ $# -gt 0 ] || { echo "usage: test_guest.sh HMP GUEST KERNEL QEMU..." >&2; exit 2; }
migrations=${GUEST_MIGRATIONS:-2}
boot_timeout=${GUEST_BOOT_TIMEOUT:-600}
linux=${kimage##*/vmlinuz-}
n=0 failed=0 skipped=0
echo "TAP version 13"

ok() {	# ok COND-STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - real guest (Linux $linux, QEMU $version): $2"
	else
		echo "not ok $n - real guest (Linux $linux, QEMU $version): $2"
		failed=$((failed + 1))
	fi
}

skip() {	# skip DESCRIPTION REASON
	n=$((n + 1)) skipped=$((skipped + 1))
	echo "ok $n - real guest (Linux $linux, QEMU $version): $1 # SKIP $2"
}

# initramfs DIR: a busybox root with /init and the guest program, as
# DIR/initrd.gz
initramfs() {
	local root=$1/root bb
	bb=$(command -v busybox) || return 1
	mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev"
	cp "$bb" "$root/bin/busybox" && cp "$guest" "$root/mtty-guest" || return 1
	cat >"$root/init" <<-'EOF'
	#!/bin/busybox sh
	/bin/busybox --install -s /bin
	mount -t proc proc /proc
	mount -t sysfs sys /sys
	mount -t devtmpfs dev /dev
	exec </dev/console >/dev/console 2>&1
	# The program pins its DMA pages: keep compaction off them.
	echo 0 >/proc/sys/vm/compact_unevictable_allowed
	echo "mtty-guest: init at $(cut -d ' ' -f 1 /proc/uptime) s, Linux $(uname -r)"
	dmesg | grep -E '0000:00:0[56].0: ttyS' | sed 's/^/mtty-guest: dmesg: /'
	/mtty-guest 1800
	echo "mtty-guest: exit $?"
	poweroff -f
	EOF
	chmod +x "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$1/initrd.gz"
}

# console NAME: the guest's console output in the VM NAME
console() { tr -d '\r' <"$work/$1.console" 2>/dev/null; }

# wait_console NAME PATTERN SECS: 0 once NAME's console shows PATTERN
wait_console() {
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do
		console "$1" | grep -q "$2" && return 0
		kill -0 "$(eval echo "\$pid_$1")" 2>/dev/null || return 1
		sleep 1
	done
	return 1
}

# guest_vm NAME [QEMU ARGS...]: the inner VM with the guest, the mdevs
# a (00:05.0) and c (00:06.0) or, for the odd steps, b and d
guest_vm() {
	local name=$1 x y
	shift
	if [ "$1" = ac ]; then x=$a y=$c; else x=$b y=$d; fi
	shift
	vm "$name" -m 256M -kernel "$kimage" -initrd "$work/initrd.gz" \
		-append "console=ttyS0 8250.nr_uarts=8 quiet panic=-1" \
		-chardev "file,id=con,path=$work/$name.console" -serial chardev:con \
		-device "vfio-pci,sysfsdev=/sys/bus/mdev/devices/$x,addr=0x5$migopt" \
		-device "vfio-pci,sysfsdev=/sys/bus/mdev/devices/$y,addr=0x6$migopt" \
		"$@"
}

# migrate_to FROM TO PORT SET: start TO (devices of SET) waiting on PORT,
# migrate FROM into it; mig_s is the time it took, mig_info QEMU's
# figures.  The guest keeps its vCPU busy and the nested TCG copies RAM
# slowly: a downtime of up to 10 s, and auto-converge throttling the
# guest when pre-copy does not converge, let the switchover come.
migrate_to() {
	local t0 st
	guest_vm "$2" "$4" -incoming "tcp:127.0.0.1:$3" || return 1
	hmp "$1" "migrate_set_parameter max-bandwidth 1G" \
		"migrate_set_parameter downtime-limit 10000" \
		"migrate_set_capability auto-converge on" >/dev/null
	[ -n "$switchover" ] && hmp "$1" "migrate_set_parameter $switchover" >/dev/null
	t0=$SECONDS
	hmp "$1" "migrate -d tcp:127.0.0.1:$3" >/dev/null
	st=$(wait_migrate "$1" completed 600)
	mig_s=$((SECONDS - t0))
	mig_info=$(hmp "$1" "info migrate" | grep -iE "downtime|total time|transferred ram" |
		tr -s ' \n' ' ')
	if [ "$st" != completed ]; then
		diag "migration $1 -> $2: $st"
		hmp "$1" "migrate_cancel" >/dev/null 2>&1
		hmp "$2" "quit" >/dev/null 2>&1
		return 1
	fi
	hmp "$1" "quit" >/dev/null 2>&1
	wait "$(eval echo "\$pid_$1")" 2>/dev/null
	return 0
}

# case_guest QEMU: boot, migrate, stop, check
case_guest() {
	local a b c d t0 boot i to set res ready last u st done
	mig_s=0 mig_info=
	qemu=$1
	. "$(dirname "$0")/lib.sh"
	protocol
	echo "# QEMU $version: $qemu (protocol $proto), guest kernel $kimage, test VM kernel $(uname -r)"
	initramfs "$work" || { ok 1 "initramfs made (busybox: $(command -v busybox))"; return; }
	mk_mdev a 2port-1M-mmap && mk_mdev c 1port-16M &&
		mk_mdev b 2port-1M-mmap && mk_mdev d 1port-16M ||
		{ ok 1 "mdevs made"; return; }
	t0=$SECONDS
	guest_vm src ac || { ok 1 "the VM starts"; return; }
	if ! wait_console src "mtty-guest: ready" "$boot_timeout"; then
		console src | tail -n 5 | sed 's/^/#   /'
		if kill -0 "$pid_src" 2>/dev/null; then
			skip "boot" "the guest did not reach its program in $boot_timeout s"
		else
			ok 1 "the guest boots"
		fi
		cleanup_all
		return
	fi
	boot=$((SECONDS - t0))
	diag "boot to the program: $boot s"
	console src | grep -E "mtty-guest: (init|dmesg|0000|ready)" | sed 's/^/#   /'
	ready=$(console src | grep "mtty-guest: ready")
	echo "$ready" | grep -q "(3 of 3)$"
	ok $? "the guest's 8250_pci gave all 3 ports of its 2 mtty-mig devices a ttyS"
	sleep 10
	# last: the VM the guest runs in, on the mdevs of set
	last=src set=ac done=0
	for i in $(seq "$migrations"); do
		if [ "$set" = ac ]; then to=bd; else to=ac; fi
		migrate_to "$last" "dst$i" $((4460 + i)) "$to"
		st=$?
		ok $st "migration $i ($last -> dst$i) completed in $mig_s s"
		diag "migration $i: $mig_info"
		[ $st = 0 ] || break
		last=dst$i set=$to done=$i
		st=$(run_status "$last")
		[ "$st" = running ] || { diag "dst$i: $st"; break; }
		sleep 10
	done
	# The stop word, bytes 0xf0..0xf7, into the last page of the 2-port
	# device's memory, on whichever mdev the guest now has.
	if [ "$set" = bd ]; then u=$b; else u=$a; fi
	traffic "$u" mem "$((1048576 - 4096)) 8 240" || diag "the stop word was not taken"
	st=$SECONDS
	wait_console "$last" "mtty-guest: result" 600
	diag "the result $((SECONDS - st)) s after the stop word"
	console "$last" | grep "^mtty-guest: " | grep -vE "init|dmesg|ready|: [0-9]+ s:" | sed 's/^/#   /'
	res=$(console "$last" | grep "mtty-guest: result")
	if [ -z "$res" ]; then
		ok 1 "the guest printed its result"
		console "$last" | tail -n 5 | sed 's/^/#   /'
	else
		local lost dup cor dma
		lost=$(echo "$res" | sed -n 's/.* lost=\([0-9]*\).*/\1/p')
		dup=$(echo "$res" | sed -n 's/.* duplicated=\([0-9]*\).*/\1/p')
		cor=$(echo "$res" | sed -n 's/.* corrupted=\([0-9]*\).*/\1/p')
		dma=$(echo "$res" | sed -n 's/.* dma_mismatches=\([0-9]*\).*/\1/p')
		[ "$lost" = 0 ] && [ "$dup" = 0 ] && [ "$cor" = 0 ] && [ "$dma" = 0 ] &&
			[ "$done" = "$migrations" ] && ! echo "$res" | grep -q "time limit"
		ok $? "$done migrations, lost $lost, duplicated $dup, corrupted $cor, DMA mismatches $dma"
		diag "$(echo "$res" | sed 's/.*result //')"
	fi
	diag "case: $((SECONDS - t0)) s"
	cleanup_all
}

# cleanup_all: end this case's QEMUs and mdevs (lib.sh's exit trap does
# it too)
cleanup_all() {
	cleanup
	pids=() mdevs=()
}

for q in "$@"; do
	case_guest "$q"
done
echo "1..$n"
if [ "$skipped" -gt 0 ]; then
	echo "$((n - failed - skipped)) passed, $failed failed, $skipped skipped"
else
	echo "$((n - failed)) passed, $failed failed"
fi
[ "$failed" -eq 0 ]
