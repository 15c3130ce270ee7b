#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run test_qemu.sh once per QEMU binary (inside the test VM) and print the
# totals as the last line, "N passed, N failed".
#
# usage: run_tests.sh HMP QEMU...

hmp=${1:?usage: run_tests.sh HMP QEMU...}
shift
here=$(cd "$(dirname "$0")" && pwd)
passed=0 failed=0
out=${TMPDIR:-/tmp}/qemu-test.$$
for q in "$@"; do
	# Shown as it runs: a nested migration can take a while.
	{ "$here/test_qemu.sh" "$hmp" "$q" 2>&1; echo "rc=$?"; } | tee "$out"
	rc=$(sed -n 's/^rc=//p' "$out")
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^not ok ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - test_qemu.sh with $q exited with status $rc"
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f))
done
rm -f "$out"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
