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
# shellcheck source-path=SCRIPTDIR source=tap.sh
. "$(dirname "$0")/tap.sh"
# ktap FILE: every line of FILE is KTAP (a version, a plan, a result or a
# diagnostic) on the standard output; the programs' own lines come
# indented as "# " (what they write to stderr is not part of the KTAP).
ktap() {
	! grep -Ev '^(TAP version 13|1\.\.[0-9]+|(not )?ok [0-9]+ .*|#.*)$' "$1" |
		sed 's/^/# not KTAP: /' | grep .
}

echo "TAP version 13"
[ ! -d /sys/module/vfio_mig ]
ok $? "the modules are not loaded"
out=${TMPDIR:-/tmp}/ksft-run.$$
# Into a pipe, not a file: the runner of 6.16 and later appends the
# programs' output to /dev/stdout, which on a file overwrites its own lines.
make -s --no-print-directory -C "$KSFT_TREE" TARGETS=vfio/mig O="$KSFT_O" \
	VFIO_MIG_SRC="$top" run_tests 2>"$out.err" | cat >"$out"
sed 's/^/# /' "$out" "$out.err"
# Since 6.16 (or so) lib.mk's run_tests leaves the version line to
# run_kselftest.sh; what it prints must still be KTAP line by line.
ktap "$out" && grep -q '^ok [0-9]* selftests: vfio/mig: ' "$out"
ok $? "make run_tests (lib.mk, $KSFT_FRAMEWORK) prints KTAP results"
total=$(grep -c '^ok [0-9]* selftests: vfio/mig: \|^not ok [0-9]* selftests: vfio/mig: ' "$out")
want=$(grep -c '^vfio/mig:' "$dir/kselftest-list.txt")
[ "$total" -eq "$want" ] && [ "$want" -gt 0 ]
ok $? "it ran all $want programs of the target (ran $total)"
n_skip=$(grep -c '^ok [0-9]* selftests: vfio/mig: .* # SKIP$' "$out")
[ "$n_skip" -eq "$want" ]
ok $? "every program exited with KSFT_SKIP ($n_skip of $want)"
"$dir/vfio/mig/test_devmem" >/dev/null 2>&1
rc=$?
[ "$rc" -eq 4 ]
ok $? "a program run alone exits 4 (got $rc)"
"$dir/run_kselftest.sh" -c vfio/mig 2>"$out.err" | cat >"$out"
sed 's/^/# /' "$out" "$out.err"
[ "$(head -n 2 "$out")" = "$(printf 'TAP version 13\n1..%s' "$want")" ] &&
	ktap "$out"
ok $? "the installed run_kselftest.sh prints KTAP with the version and a plan of $want"
n_skip=$(grep -c '^ok [0-9]* selftests: vfio/mig: .* # SKIP$' "$out")
[ "$n_skip" -eq "$want" ]
ok $? "... and reports every program skipped ($n_skip of $want)"
rm -f "$out" "$out.err"
echo "$pass passed, $fail failed"	# for scripts/check-all
tap_end
