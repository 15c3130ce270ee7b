#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run the vfio-mig selftests (inside the test VM) through kselftest's own
# runner, the run_kselftest.sh that the kselftest install put beside them,
# and print the totals.
#
# usage: run_tests.sh DIR [TEST...]
#   DIR   the kselftest install (build/selftests: run_kselftest.sh, vfio/mig/)
#   TEST  test names, such as test_uart or test_cli (default: all of vfio/mig)
#
# The runner prints KTAP: a result line per program, with the program's
# own KTAP nested under "# ".  Cases are counted from the nested lines; a
# program the runner reports as failed (its exit status, a timeout) with no
# failed case of its own counts as one failure, and one that exits with
# KSFT_SKIP (4) before any case as one skip.  Each program's result line
# is followed by "# NAME: N s", its time.  The last line is "N passed, N
# failed" (", N skipped" when any were skipped).

dir=${1:?usage: run_tests.sh DIR [TEST...]}
shift
[ -x "$dir/run_kselftest.sh" ] ||
	{ echo "run_tests: no kselftest install in $dir (make tools)"; exit 2; }
sel=
for t in "$@"; do
	t=${t%.sh}
	if [ -x "$dir/vfio/mig/$t" ]; then
		sel="$sel -t vfio/mig:$t"
	elif [ -x "$dir/vfio/mig/$t.sh" ]; then
		sel="$sel -t vfio/mig:$t.sh"
	else
		echo "run_tests: no test $t in $dir/vfio/mig"; exit 2
	fi
done
[ -n "$sel" ] || sel="-c vfio/mig"

# timed: each program's result line followed by "# NAME: N s", its time
timed() {
	t0=$(date +%s)
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		"# selftests: "*) t0=$(date +%s) ;;
		"ok "*" selftests: "*|"not ok "*" selftests: "*)
			name=${line#* selftests: vfio/mig: }
			echo "# ${name%% *}: $(($(date +%s) - t0)) s" ;;
		esac
	done
}

out=${TMPDIR:-/tmp}/vfio-mig-test.$$
# shellcheck disable=SC2086
"$dir/run_kselftest.sh" $sel | timed | tee "$out"
totals=$(awk '
	/^# selftests: / { cases = 0; bad = 0; next }
	/^# ok / { cases++; if ($0 ~ / # [Ss][Kk][Ii][Pp]/) s++; else p++; next }
	/^# not ok / { cases++; bad++; f++; next }
	/^ok [0-9]+ selftests: / { if (!cases && $0 ~ /# SKIP/) s++; next }
	/^not ok [0-9]+ selftests: / { if (!bad) f++; next }
	END { printf "%d %d %d\n", p, f, s }' "$out")
rm -f "$out"
set -- $totals
if [ "$3" -gt 0 ]; then
	echo "$1 passed, $2 failed, $3 skipped"
else
	echo "$1 passed, $2 failed"
fi
[ "$2" -eq 0 ]
