# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# TAP output for the shell tests, sourced by them: numbered cases, the
# counts, and the closing plan and totals.

n=0 pass=0 fail=0 skipped=0

ksft_skip() {	# ksft_skip REASON: the whole program skipped, kselftest's exit 4
	printf 'TAP version 13\n1..0 # SKIP %s\n' "$1"
	exit 4
}
# need_modules [DRIVER...]: skip unless the drivers (mtty_mig by default)
# are loaded and this is the project's test VM (tools/testing/vm/run sets
# VFIO_MIG_TOP), as the shell tests use the tree's vfio-mig and change /etc
# and /lib/modules of the machine.
need_modules() {
	for d in "${@:-mtty_mig}"; do
		[ -d "/sys/class/mdev_bus/$d" ] ||
			ksft_skip "$d is not loaded: modprobe it first"
	done
	[ -n "${VFIO_MIG_TOP:-}" ] ||
		ksft_skip "runs only in the project's test VM (tools/testing/vm/run)"
}

ok() {	# ok CONDITION-STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"; pass=$((pass + 1))
	else
		echo "not ok $n - $2"; fail=$((fail + 1))
	fi
}
skip() {	# skip REASON DESCRIPTION
	n=$((n + 1)) skipped=$((skipped + 1)); echo "ok $n - $2 # SKIP $1"
}
tap_end() {	# tap_end: the plan and the totals; fails when a case failed
	echo "1..$n"
	echo "# $pass passed, $fail failed, $skipped skipped"
	[ "$fail" -eq 0 ]
}
