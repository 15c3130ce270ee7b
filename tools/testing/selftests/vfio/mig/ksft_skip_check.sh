#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The kselftest target as kselftest runs it, inside a test VM booted
# without the project's modules (tools/testing/vm/run --no-modules): the
# framework's `make ... run_tests` through lib.mk must print KTAP and
# report every program as skipped, each having exited with KSFT_SKIP (4).
# Prints TAP and "N passed, N failed".
#
# usage: ksft_skip_check.sh DIR   (the kselftest install, build/selftests)

dir=${1:?usage: ksft_skip_check.sh DIR}
top=${VFIO_MIG_TOP:?run through the VM runner}
. "$dir/ksft.env" || exit 2
n=0 fail=0
ok() {	# ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=$((fail + 1)); fi
}

echo "TAP version 13"
[ ! -d /sys/module/vfio_mig ]
ok $? "the modules are not loaded"
out=${TMPDIR:-/tmp}/ksft-run.$$
make -s --no-print-directory -C "$KSFT_TREE" TARGETS=vfio/mig O="$KSFT_O" \
	VFIO_MIG_SRC="$top" run_tests >"$out" 2>&1
sed 's/^/# /' "$out"
head -n 1 "$out" | grep -qx 'TAP version 13'
ok $? "make run_tests (lib.mk, $KSFT_FRAMEWORK) prints KTAP"
total=$(grep -c '^ok [0-9]* selftests: vfio/mig: \|^not ok [0-9]* selftests: vfio/mig: ' "$out")
want=$(grep -c '^vfio/mig:' "$dir/kselftest-list.txt")
[ "$total" -eq "$want" ] && [ "$want" -gt 0 ]
ok $? "it ran all $want programs of the target (ran $total)"
skipped=$(grep -c '^ok [0-9]* selftests: vfio/mig: .* # SKIP$' "$out")
[ "$skipped" -eq "$want" ]
ok $? "every program exited with KSFT_SKIP ($skipped of $want)"
"$dir/vfio/mig/test_devmem" >/dev/null 2>&1
rc=$?
[ "$rc" -eq 4 ]
ok $? "a program run alone exits 4 (got $rc)"
rm -f "$out"
echo "1..$n"
echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
