# SPDX-License-Identifier: GPL-2.0
#
# What test_qemu.sh, test_guest.sh and bench_qemu.sh share: inner VMs
# under TCG with an HMP monitor each, mtty-mig mdevs and their traffic
# source, the protocol this QEMU speaks with the running kernel.  Source
# it with hmp_bin and qemu set; it sets work (a temporary directory),
# version, major (QEMU's) and kver (the running kernel as 100 * major +
# minor), and removes what it made on exit.

bus=/sys/class/mdev_bus
work=$(mktemp -d /tmp/qemu-mig.XXXXXX)
version=$("$qemu" --version | awk '/version/ { print $4; exit }')
major=${version%%.*}
kver=$(uname -r | awk -F. '{ print $1 * 100 + $2 }')
pids=()
mdevs=()

diag() { echo "# $*"; }

cleanup() {
	local p u
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	for u in "${mdevs[@]}"; do
		echo 1 2>/dev/null >/sys/bus/mdev/devices/"$u"/remove
	done
	rm -rf "$work"
}
trap cleanup EXIT

mk_mdev() {	# mk_mdev VAR TYPE [PARENT]: a new mdev (of mtty_mig's), its UUID in VAR
	local u p=${3:-mtty_mig}
	u=$(cat /proc/sys/kernel/random/uuid)
	echo "$u" >"$bus/$p/mdev_supported_types/$p-$2/create" || return 1
	mdevs+=("$u")
	printf -v "$1" %s "$u"
}

traffic() {	# traffic UUID ATTR VALUE: 0 if the device took it
	echo "$3" 2>/dev/null >/sys/bus/mdev/devices/"$1"/traffic/"$2"
}

digest() { cat /sys/bus/mdev/devices/"$1"/traffic/digest; }

# vm NAME QEMU-ARGS...: a VM (TCG, SeaBIOS, no guest OS) with its monitor
# on $work/NAME.hmp, its pid in pid_NAME; 1 if it did not start.
vm() {
	local name=$1 i
	shift
	"$qemu" -machine pc,accel=tcg -nodefaults -display none \
		-monitor "unix:$work/$name.hmp,server=on,wait=off" \
		"$@" >"$work/$name.log" 2>&1 &
	pids+=($!)
	eval "pid_$name=$!"
	for i in $(seq 200); do
		[ -S "$work/$name.hmp" ] && "$hmp_bin" "$work/$name.hmp" "info status" \
			>/dev/null 2>&1 && return 0
		kill -0 $! 2>/dev/null || break
		sleep 0.1
	done
	diag "$name did not start:"; sed 's/^/#   /' "$work/$name.log"
	return 1
}

hmp() { local name=$1; shift; "$hmp_bin" "$work/$name.hmp" "$@"; }

# mig_status NAME: the migration's status, from "info migrate"'s first
# line: "Migration status: S" up to QEMU 10, "Status:<tabs>S" from 11
# (either with the error after S when it failed)
mig_status() {
	hmp "$1" "info migrate" 2>/dev/null |
		awk '/^Migration status:/ { print $3; exit } /^Status:/ { print $2; exit }'
}

# wait_migrate NAME STATUS [SECS]: wait up to SECS (120) s for the
# migration to end; prints the status it ended in, 0 if that is STATUS.
wait_migrate() {
	local end=$((SECONDS + ${3:-120})) s
	while [ $SECONDS -lt $end ]; do
		s=$(mig_status "$1")
		case $s in $2) echo "$s"; return 0 ;; failed|cancelled|completed) echo "$s"; return 1 ;; esac
		sleep 0.2
	done
	echo "timeout ($s)"
	return 1
}

run_status() { hmp "$1" "info status" | awk '{ print $NF }'; }

# protocol: what the running kernel's front-ends offer this QEMU, in proto
# (its description), migopt (vfio-pci options) and switchover (a
# migration parameter, or empty).  The v2 front-end has device DMA logging
# up to 6.6 (later Debian kernels lack the iova_bitmap it reports
# through), the stop-copy size query and PRE_COPY from 6.2.
protocol() {
	switchover=""
	if [ "$major" -lt 8 ]; then
		proto=v1
		migopt=",x-enable-migration=on"
	elif [ "$kver" -lt 607 ]; then
		proto="v2, device dirty tracking"
		migopt=""	# enable-migration=auto accepts the device's DMA logging
	else
		proto="v2, container dirty tracking"
		migopt=",enable-migration=on"	# auto wants device or IOMMUFD tracking
	fi
	if [ "$major" -ge 8 ] && [ "$kver" -lt 602 ]; then
		# No stop-copy size query before 6.2: QEMU then assumes 100
		# GiB are pending and never converges unless the switchover
		# may take them.
		proto="$proto, no size query"
		switchover="avail-switchover-bandwidth 100G"
	fi
}
