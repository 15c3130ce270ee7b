#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Stock QEMU migrates an mtty-mig and an mcount-mig device (run inside the
# test VM).
#
# usage: [QEMU_CASES=PATTERN] test_qemu.sh HMP QEMU
#   HMP   the built hmp helper (tools/testing/qemu/hmp.c)
#   QEMU  a qemu-system-x86_64 binary: 7.x speaks the v1 region, 8.0 and
#         later the VFIO_DEVICE_FEATURE protocol (v2)
#   QEMU_CASES  run only the cases whose names match this shell pattern
#         (live, file, wrong_type, cancel, mcount_live, mcount_wrong_type,
#         switchover_ack, multifd, two_devices, fault_*); default all
#
# Inner QEMUs run under TCG with SeaBIOS and no guest OS, each with one
# mdev at the same PCI address.  The UART is set through HMP o/i on its
# I/O BAR; device memory and guest memory change through the mdev's
# traffic source (memory writes, and DMA engine runs into guest memory)
# while the migration runs.  Cases: live over loopback TCP, to a file and
# back with exec:, a destination of another mdev type, and a cancelled
# migration.  An mcount-mig counter device migrates live while its
# traffic source ticks it, and a destination of another type refuses it.
# QEMU 10's and 11's migration features, each a case of its own, skipped
# (TAP's "# SKIP reason") where this QEMU or kernel cannot serve it:
# switchover-ack (PRE_COPY, kernel 6.2 on), the device state through
# multifd channels (x-migration-multifd-transfer), and two mtty-mig devices
# in one VM (the P2P states).  Then each of the engine's injected faults
# (debugfs) armed on one side of a live migration, with what QEMU does
# about it: the source VM runs on with its device intact (a fault in
# ERROR: reset) or the migration completes (a stall); on one kernel per
# QEMU unless QEMU_FAULTS_ALL is set.  Prints TAP and "N passed, N failed" (", N
# skipped").

set -u

hmp_bin=${1:?usage: test_qemu.sh HMP QEMU}
qemu=${2:?usage: test_qemu.sh HMP QEMU}
n=0 failed=0 skipped=0
. "$(dirname "$0")/lib.sh"

protocol

ok() {	# ok COND-STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - QEMU $version ($proto): $2"
	else
		echo "not ok $n - QEMU $version ($proto): $2"
		failed=$((failed + 1))
	fi
}

skip() {	# skip DESCRIPTION REASON: a case this QEMU or kernel cannot serve
	n=$((n + 1)) skipped=$((skipped + 1))
	echo "ok $n - QEMU $version ($proto): $1 # SKIP $2"
}

# mcount-mig's registers: "ctr0 ctr1 ctr2 ctr3 step ctrl ticks"
mstate() { cat /sys/bus/mdev/devices/"$1"/traffic/state; }

# start NAME UUID [QEMU ARGS...]: a VM with the mdev at 00:05.0
start() {
	local name=$1 uuid=$2
	shift 2
	vm "$name" -m 64M \
		-device "vfio-pci,sysfsdev=/sys/bus/mdev/devices/$uuid,addr=0x5$migopt" "$@"
}

# migrate NAME URI: start a migration (with the switchover setting the
# kernel needs, see the top)
migrate() {
	if [ -n "$switchover" ]; then
		hmp "$1" "migrate_set_parameter downtime-limit 2000" \
			"migrate_set_parameter $switchover" >/dev/null
	fi
	hmp "$1" "migrate -d $2" >/dev/null
}

# The device's BARs as the guest sees them, once SeaBIOS assigned them
# (unassigned BARs show as 0xffff...); dma is where the DMA engine's
# registers are, in BAR2 after the device memory (1 MiB in every case).
bars() {	# bars NAME -> "io mem dma"
	local i b
	for i in $(seq 300); do
		b=$(hmp "$1" "info pci" | awk '
			/4348:3253/ { dev = 1 }
			dev && /BAR0: I\/O at/ { io = $4 }
			dev && /BAR2: 32 bit memory at/ { mem = $6; dev = 0 }
			END { print io, mem }')
		case $b in *0xffff*|" "*|*" ") sleep 0.1 ;;
		*) echo "$b $(printf '0x%x' $((${b#* } + 0x100000)))"; return ;;
		esac
	done
	diag "SeaBIOS did not assign the BARs: $b"
}

# inb NAME PORT: the byte read, or "error" when QEMU could not read it
inb() { hmp "$1" "i /b $2" | awk '$NF ~ /^0x[0-9a-f]+$/ { v = $NF } END { print v != "" ? v : "error" }'; }
outb() { hmp "$1" "o /b $2 $3" >/dev/null; }
# xpb NAME ADDR COUNT: bytes of guest-physical memory, as "0x.." words
xpb() { hmp "$1" "xp /$3xb $2" | sed 's/^[^:]*://' | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }
xpq() { hmp "$1" "xp /1xg $2" | awk '{ print $NF; exit }'; }

hex() { printf '0x%02x' $(($1)); }

# Set the UART through I/O ports: 8N1, RX interrupt, FIFO on, SCR, and
# three bytes sent (looped back into the receive FIFO).
uart_setup() {	# uart_setup NAME IO SCR
	local io=$2
	outb "$1" $((io + 3)) 0x03
	outb "$1" $((io + 1)) 0x01
	outb "$1" $((io + 2)) 0x01
	outb "$1" $((io + 7)) "$3"
	outb "$1" $((io + 0)) 0x41
	outb "$1" $((io + 0)) 0x42
	outb "$1" $((io + 0)) 0x43
}

# Check the UART on NAME: registers and the FIFO bytes in order.
uart_check() {	# uart_check NAME IO SCR BYTES...
	local name=$1 io=$2 scr=$3 got want b
	shift 3
	got="$(inb "$name" $((io + 3))) $(inb "$name" $((io + 1))) $(inb "$name" $((io + 7)))"
	want="0x03 0x01 $(hex "$scr")"
	for b in "$@"; do
		got="$got $(inb "$name" "$io")"
		want="$want $(hex "$b")"
	done
	b=$(inb "$name" $((io + 5)))
	case $b in 0x*) got="$got lsr=$((b & 1))" ;; *) got="$got lsr=$b" ;; esac
	want="$want lsr=0"
	[ "$got" = "$want" ] || diag "UART on $name: got '$got', want '$want'"
	[ "$got" = "$want" ]
}

# Expected bytes "0x.." of the traffic pattern FIRST, FIRST+1, ...
pattern() {	# pattern FIRST COUNT
	local i out=""
	for i in $(seq 0 $(($2 - 1))); do out="$out $(hex $((($1 + i) & 255)))"; done
	echo "${out# }"
}

# pair CASE TYPE_A TYPE_B PORT SCR: mdevs a and b, a source VM with a and
# a destination VM with b waiting on PORT; the source's UART set up with
# SCR and its BARs in io, mem, dma.  1 (and a failed case) if a VM fails.
# A caller's src_args and dst_args (arrays) go to the two QEMUs, and its
# incoming, if set, replaces the destination's "-incoming tcp:...".
src_args=() dst_args=()
pair() {
	mk_mdev a "$2" && mk_mdev b "$3" || return 1
	if ! start src "$a" "${src_args[@]}" ||
	   ! start dst "$b" -incoming "${incoming:-tcp:127.0.0.1:$4}" "${dst_args[@]}"; then
		ok 1 "$1: VMs start"
		return 1
	fi
	read -r io mem dma <<<"$(bars src)"
	uart_setup src "$io" "$5"
}

# A live migration over TCP with the device busy all along.
case_live() {
	local a b io mem dma st k=0 mk=0 dk=0 dmas=1 want
	pair live 1port-1M-mmap 1port-1M-mmap 4444 0x5a || return
	[ -n "$io" ] && [ -n "$dma" ]; ok $? "live: SeaBIOS assigned the BARs (I/O $io, memory $mem, DMA $dma)"
	traffic "$a" rx "0 2 112"
	traffic "$a" mem "0 1048576 7"
	traffic "$a" dma "4096 8388608 8192"
	migrate src tcp:127.0.0.1:4444
	# Keep the device changing: a memory page, then DMA of it into
	# guest memory, until the device is stopped for the last copy.
	while :; do
		k=$(((k + 1) & 255))
		traffic "$a" mem "65536 4096 $k" || break
		mk=$k
		traffic "$a" dma "65536 9437184 4096" || break
		dk=$k dmas=$((dmas + 1))
		[ $((k % 8)) -eq 0 ] && [ "$(mig_status src)" != active ] && break
	done
	st=$(wait_migrate src completed); ok $? "live: migration $st (device changed $dmas times by DMA)"
	figures src
	st=$(run_status dst); [ "$st" = running ]; ok $? "live: destination $st"
	[ "$(digest "$a")" = "$(digest "$b")" ]; ok $? "live: device memory identical ($(digest "$b"))"
	uart_check dst "$io" 0x5a 0x41 0x42 0x43 0x70 0x71; ok $? "live: UART registers and FIFO bytes on the destination"
	want=$(pattern 7 16)
	[ "$(xpb dst 0x800000 16)" = "$want" ]; ok $? "live: guest memory written by DMA before the migration"
	want=$(pattern "$dk" 16)
	[ "$(xpb dst 0x900000 16)" = "$want" ]; ok $? "live: guest memory written by DMA during the migration (pass $dk)"
	[ "$(xpb dst $((mem + 65536)) 4)" = "$(pattern "$mk" 4)" ]; ok $? "live: device memory through BAR2 on the destination"
	[ $(($(xpq dst $((dma + 0x28))))) -eq "$dmas" ]; ok $? "live: DMA engine count register ($dmas) migrated"
	hmp dst "quit" >/dev/null 2>&1; hmp src "quit" >/dev/null 2>&1
	wait "$pid_src" "$pid_dst" 2>/dev/null
}

# To a file with exec:, then back into a new VM; the trapped data section.
case_file() {
	local a b io st d end
	mk_mdev a 1port-1M && mk_mdev b 1port-1M || return
	start src "$a" || { ok 1 "file: VM starts"; return; }
	read -r io _ _ <<<"$(bars src)"
	uart_setup src "$io" 0x33
	traffic "$a" mem "512 100000 200"
	migrate src "\"exec:cat > $work/state\""
	st=$(wait_migrate src completed); ok $? "file: saved to a file ($st, $(stat -c %s "$work/state") bytes)"
	d=$(digest "$a")
	hmp src "quit" >/dev/null 2>&1; wait "$pid_src" 2>/dev/null
	start dst "$b" -incoming "exec:cat $work/state" || { ok 1 "file: restore VM starts"; return; }
	end=$((SECONDS + 120))
	while [ $SECONDS -lt $end ] && [ "$(run_status dst)" != running ]; do sleep 0.2; done
	st=$(run_status dst); [ "$st" = running ]; ok $? "file: restored VM $st"
	[ "$(digest "$b")" = "$d" ]; ok $? "file: device memory identical"
	uart_check dst "$io" 0x33 0x41 0x42 0x43; ok $? "file: UART registers and FIFO bytes"
	hmp dst "quit" >/dev/null 2>&1; wait "$pid_dst" 2>/dev/null
}

# source_intact CASE DIGEST SCR: after a failed migration the source VM
# runs, its device memory is unchanged and its UART works as set up.
source_intact() {
	local st
	st=$(run_status src); [ "$st" = running ]; ok $? "$1: source $st"
	[ "$(digest "$a")" = "$2" ]; ok $? "$1: source device memory intact"
	uart_check src "$io" "$3" 0x41 0x42 0x43; ok $? "$1: source UART intact and working"
}

# A destination of another type refuses the stream; the source runs on.
case_wrong_type() {
	local a b io mem dma st d
	pair "wrong type" 1port-1M-mmap 2port-1M-mmap 4445 0x66 || return
	traffic "$a" mem "0 4096 9"
	d=$(digest "$a")
	# Without a return path a fast source may finish sending before the
	# destination refuses the stream, and never learn of it.
	hmp src "migrate_set_capability return-path on" >/dev/null
	hmp dst "migrate_set_capability return-path on" >/dev/null
	migrate src tcp:127.0.0.1:4445
	st=$(wait_migrate src completed); [ "$st" = failed ]; ok $? "wrong type: migration $st"
	for _ in $(seq 100); do kill -0 "$pid_dst" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$pid_dst" 2>/dev/null; ok $? "wrong type: destination QEMU gave up"
	grep -i "fail\|error" "$work/dst.log" | head -3 | sed 's/^/#   /'
	source_intact "wrong type" "$d" 0x66
	hmp src "quit" >/dev/null 2>&1; wait "$pid_src" 2>/dev/null
}

# A migration cancelled at the last moment leaves the source running with
# its device intact.
case_cancel() {
	local a b io mem dma st d
	pair cancel 1port-1M-mmap 1port-1M-mmap 4446 0x77 || return
	traffic "$a" mem "0 1048576 3"
	d=$(digest "$a")
	# Pause before the switchover, the device already stopped for its
	# last copy, and cancel there.
	hmp src "migrate_set_capability pause-before-switchover on" >/dev/null
	migrate src tcp:127.0.0.1:4446
	st=$(wait_migrate src pre-switchover); ok $? "cancel: migration paused before the switchover ($st)"
	hmp src "migrate_cancel" >/dev/null
	st=$(wait_migrate src cancelled); [ "$st" = cancelled ]; ok $? "cancel: migration $st"
	source_intact cancel "$d" 0x77
	traffic "$a" mem "0 16 1"; ok $? "cancel: source device takes traffic again"
	hmp src "quit" >/dev/null 2>&1; hmp dst "quit" >/dev/null 2>&1
	wait "$pid_src" "$pid_dst" 2>/dev/null
}

# BAR0 of the counter device (4348:3254), once SeaBIOS assigned it.
mcount_bar() {	# mcount_bar NAME -> address
	local i b
	for i in $(seq 300); do
		b=$(hmp "$1" "info pci" | awk '
			/4348:3254/ { dev = 1 }
			dev && /BAR0: 32 bit memory at/ { print $6; exit }')
		case $b in ""|0xffff*) sleep 0.1 ;; *) echo "$b"; return ;; esac
	done
	diag "SeaBIOS did not assign the counter device's BAR0: $b"
}

# mcount_pair CASE TYPE_A TYPE_B PORT: mdevs a and b of mcount_mig, a
# source VM with a (BAR0 in bar, 1000 ticks done) and a destination VM
# with b waiting on PORT.  1 (and a failed case) if a VM fails.
mcount_pair() {
	mk_mdev a "$2" mcount_mig && mk_mdev b "$3" mcount_mig || return 1
	if ! start src "$a" || ! start dst "$b" -incoming "tcp:127.0.0.1:$4"; then
		ok 1 "$1: VMs start"
		return 1
	fi
	bar=$(mcount_bar src)
	traffic "$a" tick 1000; ok $? "$1: 1000 ticks on the source"
}

migration_over() { case $(mig_status src) in completed|failed|cancelled) ;; *) false ;; esac; }

# A live migration over TCP, the counters ticking until the source stops.
case_mcount_live() {
	# rounds, not n: ok() counts the cases in n.
	local a b bar st sa sb rounds=0 end=$((SECONDS + 120))
	mcount_pair "mcount live" 4ctr 4ctr 4447 || return
	[ -n "$bar" ]; ok $? "mcount live: SeaBIOS assigned BAR0 ($bar)"
	migrate src tcp:127.0.0.1:4447
	# 100 ticks at a time until the device is stopped (EBUSY) or the
	# migration is over.
	while [ $SECONDS -lt $end ] && traffic "$a" tick 100; do
		rounds=$((rounds + 1))
		[ $((rounds % 8)) -eq 0 ] && migration_over && break
	done
	st=$(wait_migrate src completed); ok $? "mcount live: migration $st"
	st=$(run_status dst); [ "$st" = running ]; ok $? "mcount live: destination $st"
	sa=$(mstate "$a") sb=$(mstate "$b")
	[ "$sa" = "$sb" ]; ok $? "mcount live: destination traffic/state equals the source's ($sb)"
	[ "$rounds" -gt 0 ] && [ "${sb##* }" = $((1000 + 100 * rounds)) ]
	ok $? "mcount live: every tick counted, $((100 * rounds)) of them during the migration"
	[ $(($(xpq dst $((bar + 0x38))))) = "${sb##* }" ]; ok $? "mcount live: TICKS through BAR0 on the destination"
	traffic "$b" tick 1 && [ "$(mstate "$b")" != "$sb" ]; ok $? "mcount live: the destination ticks on"
	hmp dst "quit" >/dev/null 2>&1; hmp src "quit" >/dev/null 2>&1
	wait "$pid_src" "$pid_dst" 2>/dev/null
}

# A 4ctr source into a 1ctr destination: refused, the source runs on.
case_mcount_wrong_type() {
	local a b bar st sa
	mcount_pair "mcount wrong type" 4ctr 1ctr 4448 || return
	sa=$(mstate "$a")
	hmp src "migrate_set_capability return-path on" >/dev/null
	hmp dst "migrate_set_capability return-path on" >/dev/null
	migrate src tcp:127.0.0.1:4448
	st=$(wait_migrate src completed); [ "$st" = failed ]; ok $? "mcount wrong type: migration $st"
	for _ in $(seq 100); do kill -0 "$pid_dst" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$pid_dst" 2>/dev/null; ok $? "mcount wrong type: destination QEMU gave up"
	st=$(run_status src); [ "$st" = running ]; ok $? "mcount wrong type: source $st"
	[ "$(mstate "$a")" = "$sa" ] && traffic "$a" tick 1
	ok $? "mcount wrong type: source state intact ($sa), and it ticks again"
	hmp src "quit" >/dev/null 2>&1; wait "$pid_src" 2>/dev/null
}

# busy UUID...: write a page of each device's memory again and again until
# a device refuses (stopped for its last copy), the migration is over or
# a minute passed; the rounds done in rounds.
busy() {
	local u k=0 end=$((SECONDS + 60))
	rounds=0
	while [ $SECONDS -lt $end ]; do
		k=$(((k + 1) & 255))
		for u in "$@"; do traffic "$u" mem "131072 4096 $k" || return 0; done
		rounds=$((rounds + 1))
		[ $((rounds % 8)) -eq 0 ] && migration_over && return 0
	done
}

# figures NAME: the source's figures for the log (QEMU 11 puts the times
# on a "Time (ms)" line and the device's bytes on "Channels")
figures() {
	hmp "$1" "info migrate" | grep -iE "vfio|downtime|total time|^Time |Channels" |
		sed 's/^/#   /'
}

# needs_v2 CASE: 0 if this QEMU speaks v2, else the case is skipped
needs_v2() {
	[ "$major" -ge 8 ] && return 0
	skip "$1" "QEMU $version speaks the v1 region; the case is the v2 protocol's (QEMU 10, 11)"
	return 1
}

# case_end NAME SCR: a case's last checks, with its a, b, io and t0: the
# destination runs, its device memory and UART (scratch byte SCR, then the
# FIFO bytes A B C) are the source's; then both QEMUs end.
case_end() {
	local st
	st=$(run_status dst); [ "$st" = running ]; ok $? "$1: destination $st"
	[ "$(digest "$a")" = "$(digest "$b")" ]; ok $? "$1: device memory identical ($(digest "$b"))"
	uart_check dst "$io" "$2" 0x41 0x42 0x43; ok $? "$1: UART registers and FIFO bytes"
	hmp dst "quit" >/dev/null 2>&1; hmp src "quit" >/dev/null 2>&1
	wait "$pid_src" "$pid_dst" 2>/dev/null
	diag "$1: $((SECONDS - t0)) s"
}

# switchover-ack: the destination acks the switchover once it has the
# device's initial pre-copy data (the source marks it sent when PRE_COPY's
# initial_bytes reached 0), and the source switches over only then.
case_switchover_ack() {
	local t0=$SECONDS
	local a b io mem dma st rounds init
	# vfio_state_pending_estimate up to QEMU 10, vfio_state_pending from 11
	local src_args=(-trace vfio_save_iterate -trace "vfio_state_pending*"
		-trace source_return_path_thread_switchover_acked)
	local dst_args=(-trace loadvm_approve_switchover)
	needs_v2 switchover-ack || return
	if [ "$kver" -lt 602 ]; then
		skip switchover-ack "no v2 PRE_COPY before kernel 6.2: no initial data to ack"
		return
	fi
	pair switchover-ack 1port-1M-mmap 1port-1M-mmap 4449 0x2c || return
	traffic "$a" mem "0 1048576 11"
	hmp src "migrate_set_capability return-path on" \
		"migrate_set_capability switchover-ack on" >/dev/null
	hmp dst "migrate_set_capability return-path on" \
		"migrate_set_capability switchover-ack on" >/dev/null
	migrate src tcp:127.0.0.1:4449
	busy "$a"
	st=$(wait_migrate src completed); ok $? "switchover-ack: migration $st (device changed $rounds times)"
	figures src
	# initial_bytes is the engine's first pass: the header and every page
	# of the 1 MiB device memory, so QEMU first sees at least 1 MiB.
	init=$(awk '/vfio_state_pending/ {
		for (i = 1; i < NF - 2; i++) if ($i == "initial" && $(i + 1) == "size") {
			v = $(i + 2); sub(/,$/, "", v); print v; exit
		} }' "$work/src.log")
	diag "the acked switchover after $(grep -c vfio_save_iterate "$work/src.log") pre-copy iterations"
	[ -n "$init" ] && [ $((init)) -ge 1048576 ]
	ok $? "switchover-ack: initial_bytes first seen ${init:-?}, the device's whole first pass"
	grep -q loadvm_approve_switchover "$work/dst.log" &&
		grep -q source_return_path_thread_switchover_acked "$work/src.log"
	ok $? "switchover-ack: the destination acked, the source took the ack"
	case_end switchover-ack 0x2c
}

# The device's state through multifd channels (QEMU 10.0's and 11.1's
# x-migration-multifd-transfer): the source's save thread puts it into the
# channels' packets, the destination's load thread applies the buffers.
case_multifd() {
	local t0=$SECONDS
	local a b io mem dma st rounds nbuf incoming=defer prop=x-migration-multifd-transfer
	local src_args=(-trace vfio_save_complete_precopy_thread_end)
	local dst_args=(-trace vfio_load_state_device_buffer_incoming -trace vfio_load_bufs_thread_end)
	needs_v2 multifd || return
	if ! "$qemu" -device vfio-pci,help 2>/dev/null | grep -q "$prop="; then
		skip multifd "QEMU $version's vfio-pci has no $prop"
		return
	fi
	# The property is a -device option: start() passes it on with migopt.
	local migopt="$migopt,$prop=on"
	pair multifd 1port-1M-mmap 1port-1M-mmap 4450 0x3d || return
	traffic "$a" mem "0 1048576 13"
	hmp src "migrate_set_capability multifd on" \
		"migrate_set_parameter multifd-channels 3" >/dev/null
	hmp dst "migrate_set_capability multifd on" \
		"migrate_set_parameter multifd-channels 3" \
		"migrate_incoming tcp:127.0.0.1:4450" >/dev/null
	migrate src tcp:127.0.0.1:4450
	busy "$a"
	st=$(wait_migrate src completed); ok $? "multifd: migration over 3 channels $st (device changed $rounds times)"
	figures src
	nbuf=$(grep -c vfio_load_state_device_buffer_incoming "$work/dst.log")
	grep -q vfio_save_complete_precopy_thread_end "$work/src.log" && [ "$nbuf" -gt 0 ] &&
		grep -q vfio_load_bufs_thread_end "$work/dst.log"
	ok $? "multifd: the device state came in $nbuf multifd buffers"
	case_end multifd 0x3d
}

# Two mtty-mig devices in one VM, both busy.  QEMU migrates more than one
# VFIO device only if each offers VFIO_MIGRATION_P2P: it takes them all to
# RUNNING_P2P (and PRE_COPY_P2P) before any is stopped.
case_two_devices() {
	local t0=$SECONDS
	local a b c d st rounds p2p
	needs_v2 "two devices" || return
	# Without the stop-copy size query (before 6.2) QEMU counts 100 GiB
	# pending for each device: let the switchover take both.
	local switchover=${switchover/100G/200G}
	mk_mdev a 1port-1M-mmap && mk_mdev c 1port-1M-mmap &&
		mk_mdev b 1port-1M-mmap && mk_mdev d 1port-1M-mmap || return
	local dev6="vfio-pci,sysfsdev=/sys/bus/mdev/devices/$c,addr=0x6$migopt"
	if ! start src "$a" -device "$dev6" -trace vfio_migration_set_state ||
	   ! start dst "$b" -device "${dev6/$c/$d}" -incoming tcp:127.0.0.1:4451; then
		ok 1 "two devices: VMs start"
		return
	fi
	traffic "$a" mem "0 1048576 21"
	traffic "$c" mem "0 1048576 42"
	migrate src tcp:127.0.0.1:4451
	busy "$a" "$c"
	st=$(wait_migrate src completed); ok $? "two devices: migration $st (both changed $rounds times)"
	figures src
	p2p=$(grep -c "new state [A-Z_]*P2P" "$work/src.log")
	[ "$p2p" -ge 2 ]; ok $? "two devices: $p2p state changes into P2P states on the source"
	st=$(run_status dst); [ "$st" = running ]; ok $? "two devices: destination $st"
	[ "$(digest "$a")" = "$(digest "$b")" ] && [ "$(digest "$c")" = "$(digest "$d")" ] &&
		[ "$(digest "$a")" != "$(digest "$c")" ]
	ok $? "two devices: each device's memory identical ($(digest "$b"), $(digest "$d"))"
	hmp dst "quit" >/dev/null 2>&1; hmp src "quit" >/dev/null 2>&1
	wait "$pid_src" "$pid_dst" 2>/dev/null
	diag "two devices: $((SECONDS - t0)) s"
}

# --- the engine's injected faults (Documentation/mtty-mig.rst, "Fault
# injection"), each armed on one side of a live migration: what the VMM
# does about it, as a VMM developer would see it.  Each case checks the
# outcome this QEMU shows today, so that a change in the engine or in QEMU
# that changes it fails here.

faults=/sys/kernel/debug/vfio_mig

# arm UUID FAULT VALUE: arm a fault of the device; 0 if it took it
arm() { echo "$3" 2>/dev/null >"$faults/$1/$2"; }

# fired UUID NEEDLE: 0 if the kernel log says the device's fault fired
fired() { dmesg | grep "$1" | grep -q "fault injected: .*$2"; }

# fault_pair CASE PORT SCR: a busy pair as pair() makes it, return path on
# (so the source learns of a refusing destination); the source's device
# memory digest before the migration in d.
fault_pair() {
	pair "$1" 1port-1M-mmap 1port-1M-mmap "$2" "$3" || return 1
	traffic "$a" mem "0 1048576 $(($2 & 255))"
	d=$(digest "$a")
	hmp src "migrate_set_capability return-path on" >/dev/null
	hmp dst "migrate_set_capability return-path on" >/dev/null
}

# fault_failed CASE SCR [waits]: the migration failed, the destination
# QEMU gave up (with waits: is still waiting for a stream, as QEMU 7.2's
# does when the source fails while saving), and the source runs with its
# device as it was.
fault_failed() {
	local st
	st=$(wait_migrate src failed); ok $? "$1: migration $st"
	for _ in $(seq 100); do kill -0 "$pid_dst" 2>/dev/null || break; sleep 0.1; done
	if [ "${3:-}" = waits ]; then
		st=$(run_status dst); [ "$st" = "(inmigrate)" ]
		ok $? "$1: destination QEMU still waiting for the stream ($st)"
	else
		! kill -0 "$pid_dst" 2>/dev/null; ok $? "$1: destination QEMU gave up"
	fi
	source_intact "$1" "$d" "$2"
}

# The destination's outcome when the source fails while saving: QEMU 7.2's
# waits on, later ones end.
src_fail_dst() { [ "$proto" = v1 ] && echo waits; }

fault_end() {
	hmp dst "quit" >/dev/null 2>&1; hmp src "quit" >/dev/null 2>&1
	wait "$pid_src" "$pid_dst" 2>/dev/null
	diag "$1: $((SECONDS - t0)) s"
}

# needs_faults CASE [v2]: 0 if the engine has its debugfs fault directory
# and this is the one kernel the fault cases run on for this QEMU (they
# cost two to three minutes per QEMU): 6.1, where QEMU also takes device
# DMA logging, or for QEMU 11, which scripts/qemu.conf runs from 6.12 on,
# 6.12 (QEMU_FAULTS_ALL=1: any kernel); with v2, only if QEMU speaks v2
fault_kernel=601
[ "$major" -ge 11 ] && fault_kernel=612
needs_faults() {
	if [ "$kver" -ne "$fault_kernel" ] && [ -z "${QEMU_FAULTS_ALL:-}" ]; then
		skip "$1" "the fault cases run on kernel $((fault_kernel / 100)).$((fault_kernel % 100)) with QEMU $major (QEMU_FAULTS_ALL=1 runs them here)"
		return 1
	fi
	if [ "${2:-}" = v2 ] && [ "$major" -lt 8 ]; then
		skip "$1" "QEMU $version speaks the v1 region, which has no device DMA logging"
		return 1
	fi
	[ -d "$faults" ] && return 0
	skip "$1" "no $faults (debugfs not mounted)"
	return 1
}

# fault_refused FILE VALUE SIDE PORT SCR NEEDLE [waits]: arm FILE with
# VALUE on the source's device (SIDE src) or the destination's (dst),
# migrate over PORT, and check that the migration failed with the source
# intact (fault_failed, waits passed on) and that the fault fired (its log
# line has NEEDLE).  The caller checked needs_faults.
fault_refused() {
	local t0=$SECONDS a b io mem dma d dev
	fault_pair "fault $1" "$4" "$5" || return
	dev=$a
	[ "$3" = dst ] && dev=$b
	arm "$dev" "$1" "$2"; ok $? "fault $1: $2 armed on the $3 device"
	migrate src "tcp:127.0.0.1:$4"
	fault_failed "fault $1" "$5" "${7:-}"
	fired "$dev" "$6"; ok $? "fault $1: fired"
	fault_end "fault $1"
}

# The source's save fails after 64 KiB: QEMU's read of the data fd (v1:
# of data_offset) gets EIO, the migration fails, QEMU takes the device
# back to RUNNING.
case_fault_save() {
	needs_faults "fault fail_save_after" || return
	fault_refused fail_save_after 65536 src 4452 0x4a "read fails" "$(src_fail_dst)"
}

# A byte of the source's stream goes out flipped: the destination's CRC
# check refuses the record, the destination fails the load, and the
# source, told over the return path, fails the migration.
case_fault_flip() {
	needs_faults "fault flip_byte" || return
	fault_refused flip_byte 5000 src 4453 0x4b flipped
}

# The destination refuses its stream at the first write.
case_fault_resume() {
	needs_faults "fault fail_resume" || return
	fault_refused fail_resume 1 dst 4454 0x4c "resume stream refused"
}

# The source's arc into STOP_COPY fails with EIO.  v2: the device is in
# ERROR, which refuses every arc: QEMU fails the migration and, unable to
# take the device back to RUNNING, resets it; the source VM runs on with
# the device at its power-on state (device memory all zero).  v1: the
# device_state write fails and the state is kept, QEMU fails the
# migration and takes the device back to running, intact.
case_fault_state() {
	local t0=$SECONDS a b io mem dma d z st
	needs_faults "fault fail_state" || return
	fault_pair "fault fail_state" 4455 0x4d || return
	mk_mdev z 1port-1M-mmap || return
	arm "$a" fail_state STOP_COPY; ok $? "fault fail_state: STOP_COPY armed on the source"
	migrate src tcp:127.0.0.1:4455
	if [ "$proto" = v1 ]; then
		fault_failed "fault fail_state" 0x4d waits
		fired "$a" "arc into STOP_COPY"; ok $? "fault fail_state: fired"
		fault_end "fault fail_state"
		return
	fi
	st=$(wait_migrate src failed); ok $? "fault fail_state: migration $st"
	fired "$a" "arc into STOP_COPY"; ok $? "fault fail_state: fired"
	st=$(run_status src); [ "$st" = running ]; ok $? "fault fail_state: source $st"
	[ "$(digest "$a")" = "$(digest "$z")" ]
	ok $? "fault fail_state: QEMU reset the source's device (memory as at power-on, $(digest "$z"))"
	traffic "$a" mem "0 16 1"; ok $? "fault fail_state: the source's device takes traffic again"
	fault_end "fault fail_state"
}

# The source's first state change stalls 1.5 s: the migration waits for
# it and completes with the device state equal.
case_fault_stall() {
	local t0=$SECONDS a b io mem dma d st
	needs_faults "fault stall_ms" || return
	fault_pair "fault stall_ms" 4456 0x4e || return
	arm "$a" stall_ms 1500; ok $? "fault stall_ms: 1500 ms armed on the source"
	migrate src tcp:127.0.0.1:4456
	st=$(wait_migrate src completed); ok $? "fault stall_ms: migration $st"
	fired "$a" "stalls 1500 ms"; ok $? "fault stall_ms: fired"
	figures src
	# "total time: N ms" up to QEMU 10, "Time (ms): total=N, ..." from 11
	st=$(hmp src "info migrate" | awk '/^total time:/ { print $3; exit }
		/^Time \(ms\):/ { for (i = 1; i <= NF; i++) if ($i ~ /^total=/) {
			v = $i; sub(/^total=/, "", v); sub(/,$/, "", v); print v; exit } }')
	[ "${st:-0}" -ge 1500 ]; ok $? "fault stall_ms: the migration's total time (${st:-?} ms) includes the stall"
	case_end "fault stall_ms" 0x4e
}

# Device DMA logging (kernels before 6.7 here): START or a REPORT fails,
# QEMU fails the migration and the source runs on with its device intact.
case_fault_dma_log() {
	needs_faults "fault $1" v2 || return
	if [ "$kver" -ge 607 ]; then
		skip "fault $1" "QEMU uses no device DMA logging on this kernel (container dirty tracking)"
		return
	fi
	fault_refused "$1" 1 src "$3" 0x4f "$2"
}

# run CASE [ARGS...]: run case_CASE unless QEMU_CASES (a shell pattern,
# for a quick run of some cases) leaves it out
run() {
	# shellcheck disable=SC2254
	case $1 in ${QEMU_CASES:-*}) "case_$@" ;; esac
}

echo "# QEMU $version: $qemu (protocol $proto), kernel $(uname -r)"
run live
run file
run wrong_type
run cancel
run mcount_live
run mcount_wrong_type
run switchover_ack
run multifd
run two_devices
run fault_save
run fault_flip
run fault_resume
run fault_state
run fault_stall
run fault_dma_log fail_dma_log_start "DMA_LOGGING_START" 4457
run fault_dma_log fail_dma_log_report "DMA_LOGGING_REPORT" 4458
echo "1..$n"
if [ "$skipped" -gt 0 ]; then
	echo "$((n - failed - skipped)) passed, $failed failed, $skipped skipped"
else
	echo "$((n - failed)) passed, $failed failed"
fi
[ "$failed" -eq 0 ]
