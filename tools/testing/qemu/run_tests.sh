#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run test_qemu.sh once per QEMU binary (inside the test VM), each with its
# time as a TAP comment, and print the totals as the last line, "N passed,
# N failed" (", N skipped" when any case was skipped: "ok N - ... # SKIP
# reason").
#
# usage: run_tests.sh HMP QEMU...

hmp=${1:?usage: run_tests.sh HMP QEMU...}
shift
here=$(cd "$(dirname "$0")" && pwd)
passed=0 failed=0 skipped=0
out=${TMPDIR:-/tmp}/qemu-test.$$
for q in "$@"; do
	# Shown as it runs: a nested migration can take a while.
	t0=$(date +%s)
	{ "$here/test_qemu.sh" "$hmp" "$q" 2>&1; echo "rc=$?"; } | tee "$out"
	rc=$(sed -n 's/^rc=//p' "$out")
	echo "# test_qemu.sh with $q: $(($(date +%s) - t0)) s"
	p=$(grep '^ok ' "$out" | grep -vc ' # SKIP')
	s=$(grep '^ok ' "$out" | grep -c ' # SKIP')
	f=$(grep -c '^not ok ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - test_qemu.sh with $q exited with status $rc"
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done
rm -f "$out"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
