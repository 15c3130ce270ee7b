#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Stock QEMU's figures for the device (run inside the test VM by make
# bench): figures, never pass or fail.
#
# usage: bench_qemu.sh HMP QBENCH QEMU [ROUNDS]
#   HMP     the built hmp helper, QBENCH the built qbench helper
#   QEMU    a qemu-system-x86_64 of 8.0 or later (the v2 protocol), on a
#           kernel of 6.2 or later (PRE_COPY and the stop-copy size query)
#   ROUNDS  migrations of each kind (default 5): medians, and for the
#           device against RAM also each round's own ratio (a nested TCG
#           guest on two cores is noisy)
#   LIMITS  the pre-copy downtime limits of part 2, in ms (default
#           "10 50 300")
#
# 1. Device versus RAM.  Three VMs of 64 MiB RAM migrate over loopback TCP
#    with no bandwidth limit: one as it is (base), one with 64 MiB more
#    guest RAM (a pc-dimm backed by a file), one with an mtty-mig device of
#    64 MiB device memory.  The extra RAM and the device memory hold the
#    same incompressible bytes (traffic/fill and qbench fill from one
#    seed: QEMU sends a zero page as a flag, so zeros would flatter it).
#    Each extra 64 MiB costs its VM's total time minus the base's; the
#    ratio is RAM's cost over the device's (>= 1.0: the device's bytes move
#    at least as fast as QEMU's own RAM).
# 2. Downtime with pre-copy.  The device VM migrates while qbench dirties
#    10000 device pages a second: stop-copy only (vfio_mig's
#    v2_pre_copy=N; QEMU must be allowed the time to send the whole device
#    while stopped, or it never switches over), then with pre-copy at each
#    downtime limit of LIMITS.  QEMU switches over as soon as what is
#    pending fits in its limit, so with pre-copy the downtime follows the
#    limit: 10 and 50 ms show whether pre-copy converges under the
#    dirtying, 300 ms (QEMU's default) what users get by default.  The
#    device's share of the downtime is the VM's median downtime minus the
#    base VM's (0 if less); the ratio is pre-copy's share over stop-copy's,
#    at each limit (goal <= 1/10).
# Each destination is checked (the extra RAM through pmemsave, the device
# by its digest); a migration that fails or arrives wrong is reported and
# its figure left out.

set -u

hmp_bin=${1:?usage: bench_qemu.sh HMP QBENCH QEMU [ROUNDS]}
qbench=${2:?usage: bench_qemu.sh HMP QBENCH QEMU [ROUNDS]}
qemu=${3:?usage: bench_qemu.sh HMP QBENCH QEMU [ROUNDS]}
rounds=${4:-5}
. "$(dirname "$0")/lib.sh"

MEM=$((64 << 20))
SEED=20261202
RATE=10000
param=/sys/module/vfio_mig/parameters/v2_pre_copy
port=4600

echo "== stock QEMU $version, kernel $(uname -r)"
if [ "$major" -lt 8 ] || [ "$kver" -lt 602 ]; then
	echo "skipped: needs QEMU 8.0+ and kernel 6.2+ (PRE_COPY, the stop-copy size query)"
	exit 0
fi
dev="vfio-pci,addr=0x5,enable-migration=on"
[ "$kver" -lt 607 ] && dev="vfio-pci,addr=0x5"	# device dirty tracking
"$qbench" fill "$MEM" "$SEED" >"$work/src.ram" || exit 1
truncate -s "$MEM" "$work/empty.ram"

# field NAME KEY: a number of the source's "info migrate" ("total time")
field() {
	hmp "$1" "info migrate" | awk -v k="$2:" '
		index($0, k) == 1 { print $(split(k, w, " ") + 1); exit }'
}

# one KIND [QEMU ARGS FOR BOTH...] -- [SOURCE ARGS] -- [DEST ARGS]: a
# migration, in this shell (its VMs and dirtier are ours to reap); sets
# res to "TOTAL_MS DOWNTIME_MS", or to "" if it failed or arrived wrong.
# before (a command, run as the migration starts) and check (a command
# that must succeed once it completed) come from the caller.
one() {
	local kind=$1 both=() s=() d=() st
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do both+=("$1"); shift; done
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do s+=("$1"); shift; done
	shift
	d=("$@")
	res="" pid_src="" pid_dst=""
	port=$((port + 1))
	if vm src -m 64M,slots=1,maxmem=128M "${both[@]}" "${s[@]}" &&
	   vm dst -m 64M,slots=1,maxmem=128M "${both[@]}" "${d[@]}" \
		-incoming "tcp:127.0.0.1:$port"; then
		hmp src "migrate_set_parameter max-bandwidth 100G" \
			"migrate_set_parameter downtime-limit ${limit:-300}" >/dev/null
		[ -n "${before:-}" ] && eval "$before"
		hmp src "migrate -d tcp:127.0.0.1:$port" >/dev/null
		st=$(wait_migrate src completed) || diag "$kind: migration $st"
		if [ "$st" = completed ] && { [ -z "${check:-}" ] || eval "$check"; }; then
			res="$(field src "total time") $(field src downtime)"
			case $res in
			*[!0-9\ ]*|" "*|*" ") diag "$kind: no figures in 'info migrate' ($res)"; res="" ;;
			esac
		fi
	fi
	# A VM that never answered is killed too: one holding an mdev would
	# keep its removal waiting.
	hmp dst quit >/dev/null 2>&1; hmp src quit >/dev/null 2>&1
	for st in $pid_src $pid_dst; do
		for _ in $(seq 50); do kill -0 "$st" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$st" 2>/dev/null
		wait "$st" 2>/dev/null
	done
	pids=()
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

ram_ok() {
	hmp dst "pmemsave 0x100000000 $MEM \"$work/got.ram\"" >/dev/null
	cmp -s "$work/got.ram" "$work/src.ram" || { diag "RAM: the destination's extra RAM differs"; return 1; }
	rm -f "$work/got.ram"
}

# dev_pair: mdevs a and b of 64 MiB, a filled
dev_pair() {
	mk_mdev a 1port-64M && mk_mdev b 1port-64M && traffic "$a" fill "0 $MEM $SEED"
}
dev_ok() {
	[ "$(digest "$a")" = "$(digest "$b")" ] || { diag "device: the destination's memory differs"; return 1; }
}
dev_done() {
	local u
	for u in "${mdevs[@]}"; do echo 1 2>/dev/null >/sys/bus/mdev/devices/"$u"/remove; done
	mdevs=()
}

dimm() { echo "-object memory-backend-file,id=x,size=$MEM,mem-path=$1,share=off -device pc-dimm,memdev=x"; }

# Per round: base, RAM and device, and the ratio of that round's costs.
declare -A tot down
for kind in base ram device; do tot[$kind]="" down[$kind]=""; done
ratios=""
for r in $(seq "$rounds"); do
	declare -A t=()
	for kind in base ram device; do
		case $kind in
		base) check="" one base -- -- ;;
		ram)
			# shellcheck disable=SC2046
			check=ram_ok one ram -- $(dimm "$work/src.ram") -- $(dimm "$work/empty.ram") ;;
		device)
			res=""
			if dev_pair; then
				check=dev_ok one device -- -device "$dev,sysfsdev=/sys/bus/mdev/devices/$a" \
					-- -device "$dev,sysfsdev=/sys/bus/mdev/devices/$b"
			else
				diag "device: mdevs not made"
			fi
			dev_done ;;
		esac
		echo "round $r, $kind: total, downtime (ms): ${res:-failed}"
		if [ -n "$res" ]; then
			t[$kind]=${res% *}
			tot[$kind]="${tot[$kind]} ${res% *}" down[$kind]="${down[$kind]} ${res#* }"
		fi
	done
	if [ -n "${t[base]:-}" ] && [ -n "${t[ram]:-}" ] && [ -n "${t[device]:-}" ] &&
	   [ "${t[device]}" -gt "${t[base]}" ] && [ "${t[ram]}" -gt "${t[base]}" ]; then
		ratios="$ratios $(awk -v b="${t[base]}" -v r="${t[ram]}" -v d="${t[device]}" \
			'BEGIN { printf "%.3f", (r - b) / (d - b) }')"
	fi
	unset t
done
tb=$(echo "${tot[base]}" | median) tr=$(echo "${tot[ram]}" | median) td=$(echo "${tot[device]}" | median)
if [ -n "$tb" ] && [ -n "$tr" ] && [ -n "$td" ] && [ "$td" -gt "$tb" ] && [ "$tr" -gt "$tb" ]; then
	awk -v b="$tb" -v r="$tr" -v d="$td" -v mib=64 'BEGIN {
		printf "device vs RAM (medians): 64 MiB of device memory %d ms, 64 MiB of RAM %d ms (totals %d, %d, base %d ms)\n", d - b, r - b, d, r, b
		printf "  device %.1f MB/s, RAM %.1f MB/s: ratio %.2f (goal >= 1.0)\n", mib * 1.048576 * 1000 / (d - b), mib * 1.048576 * 1000 / (r - b), (r - b) / (d - b) }'
else
	echo "device vs RAM (medians): no figure (base '$tb', RAM '$tr', device '$td')"
fi
echo "device vs RAM, each round's own ratio:${ratios:- none}; median $(echo "$ratios" | median)"
db=$(echo "${down[base]}" | median)

# Downtime at RATE dirtied pages a second, stop-copy only and pre-copy.
[ -w "$param" ] || { echo "downtime: no figures ($param missing: vfio_mig too old?)"; exit 0; }
trap 'echo Y >"$param"; cleanup' EXIT
dirty_run() {	# dirty_run LABEL: sets res and drate
	local log=$work/dirty.out
	res="" drate=""
	dev_pair || { dev_done; return; }
	rm -f "$log"
	before="\"$qbench\" dirty /sys/bus/mdev/devices/$a $MEM $RATE >$log & dpid=\$!" \
		check=dev_ok one "$1" -- -device "$dev,sysfsdev=/sys/bus/mdev/devices/$a" \
		-- -device "$dev,sysfsdev=/sys/bus/mdev/devices/$b"
	if [ -n "${dpid:-}" ]; then
		kill -TERM "$dpid" 2>/dev/null	# if the device never stopped
		wait "$dpid" 2>/dev/null
		dpid=""
	fi
	drate=$(awk '$2 > 0 { printf "%d", $1 / $2 }' "$log" 2>/dev/null)
	dev_done
}
declare -A dshare
for mode in off ${LIMITS:-10 50 300}; do
	vals="" rates=""
	if [ "$mode" = off ]; then echo N >"$param"; label="stop-copy only"; else label="pre-copy, limit $mode ms"; fi
	for r in $(seq "$rounds"); do
		if [ "$mode" = off ]; then limit=60000 dirty_run "$label"; else limit=$mode dirty_run "$label"; fi
		echo "round $r, $label: total, downtime (ms): ${res:-failed}; dirtied ${drate:-?} pages/s"
		[ -n "$res" ] && vals="$vals ${res#* }" rates="$rates $drate"
	done
	echo Y >"$param"
	dshare[$mode]=$(echo "$vals" | median)
	echo "downtime, $label: median ${dshare[$mode]:-none} ms (least $(echo "$vals" | tr ' ' '\n' | grep . | sort -n | head -1), most $(echo "$vals" | tr ' ' '\n' | sort -n | tail -1)) at $(echo "$rates" | median) pages/s"
done
if [ -n "$db" ] && [ -n "${dshare[off]}" ] && [ "${dshare[off]}" -gt "$db" ]; then
	for mode in ${LIMITS:-10 50 300}; do
		[ -n "${dshare[$mode]}" ] || { echo "device share of downtime, limit $mode ms: no figure"; continue; }
		awk -v b="$db" -v on="${dshare[$mode]}" -v off="${dshare[off]}" -v l="$mode" 'BEGIN {
			s = on - b; if (s < 0) s = 0
			printf "device share of downtime at %d pages/s: pre-copy (limit %d ms) %d ms, stop-copy only %d ms (base VM %d ms): ratio %.3f (goal <= 0.1); whole downtimes %.3f\n", '"$RATE"', l, s, off - b, b, s / (off - b), on / off }'
	done
else
	echo "device share of downtime: no figure (base '$db', stop-copy only '${dshare[off]}')"
fi
