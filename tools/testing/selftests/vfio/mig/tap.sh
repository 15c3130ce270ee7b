# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# TAP output for the shell tests, sourced by them: numbered cases, the
# counts, and the closing plan and totals.

n=0 pass=0 fail=0 skipped=0

need_modules() {	# kselftest's skip (exit 4) when mtty_mig is not loaded
	[ -d /sys/class/mdev_bus/mtty_mig ] && return
	printf 'TAP version 13\n1..0 # SKIP mtty_mig is not loaded: modprobe it first\n'
	exit 4
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
