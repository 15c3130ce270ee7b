#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The host-side parsing of scripts/fetch-qemu.sh: scripts/qemu.conf's
# lines, the dependency closure read from apt-get's simulated install
# (inst_parts of scripts/versions.sh), a QEMU with no tested version yet,
# and an unknown libraries column refused before the archive is asked.
# Runs on the host without the network; prints TAP and "N passed, N failed".

set -u

top=$(cd "$(dirname "$0")/../../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0 n=0

# check DESCRIPTION GOT WANT
check() {
	n=$((n + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $n - $1"
		passed=$((passed + 1))
	else
		echo "not ok $n - $1"
		printf '%s\n' "got:" "$2" "want:" "$3" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
}

# qemu.conf: five words a line, libraries host or suite, kernels "all" or
# a comma-separated list of names of scripts/kernels.conf, no name twice.
bad=$(awk 'FNR == NR { if ($1 !~ /^#/ && NF) known[$1] = 1; next }
	$1 !~ /^#/ && NF {
	bad = NF != 5 || ($4 != "host" && $4 != "suite") || seen[$1]++
	if ($5 != "all") {
		n = split($5, k, ",")
		for (i = 1; i <= n; i++) if (!(k[i] in known)) bad = 1
	}
	if (bad) print FNR": "$0
}' "$top/scripts/kernels.conf" "$top/scripts/qemu.conf")
check "qemu.conf: name, suite, series, host or suite, and known kernels on every line" "$bad" ""

# inst_parts: an "Inst" line gives NAME=VERSION, with or without the
# version being replaced in brackets; Conf, Remv and apt's talk do not.
here=$top/scripts pick=tested
# shellcheck source=scripts/versions.sh
. "$top/scripts/versions.sh"
got=$(inst_parts <<'APT'
NOTE: This is only a simulation!
Reading package lists...
Building dependency tree...
The following NEW packages will be installed:
  libc6 qemu-system-x86 seabios zlib1g
0 upgraded, 4 newly installed, 0 to remove and 0 not upgraded.
Inst libc6 (2.41-12+deb13u5 Debian:13.2/stable [amd64])
Inst zlib1g (1:1.3.dfsg+really1.3.1-1+deb13u1 Debian:13.2/stable [amd64])
Inst seabios [1.16.3-2] (1.17.0-1~bpo13+1 Debian Backports:stable-backports [all])
Remv oldpkg [1.0]
Inst qemu-system-x86 (1:11.1.3+ds-2~bpo13+1 Debian Backports:stable-backports [amd64])
Conf libc6 (2.41-12+deb13u5 Debian:13.2/stable [amd64])
Conf qemu-system-x86 (1:11.1.3+ds-2~bpo13+1 Debian Backports:stable-backports [amd64])
APT
)
check "inst_parts: the packages apt would unpack, with their versions" "$got" \
"libc6=2.41-12+deb13u5
zlib1g=1:1.3.dfsg+really1.3.1-1+deb13u1
seabios=1.17.0-1~bpo13+1
qemu-system-x86=1:11.1.3+ds-2~bpo13+1"
got=$(printf 'E: Unable to correct problems, you have held broken packages.\n' | inst_parts)
check "inst_parts: nothing when apt resolves nothing" "$got" ""

# choice: a QEMU that scripts/tested-versions does not name yet.
got=$(choice "QEMU 12.0" "1:12.0.1-1" "" 2>"$tmp/err")
check "choice: untested when there is no tested version" "$got" untested
check "choice: says there is none yet" "$(cat "$tmp/err")" \
	"test_fetch_qemu.sh: QEMU 12.0 has no tested version yet; taking 1:12.0.1-1"
got=$(choice "QEMU 10.0" "1:10.0.3-1" "1:10.0.2-1" 2>/dev/null)
check "choice: untested when the tested one is gone" "$got" untested

# A libraries column other than host or suite stops fetch-qemu.sh before
# it asks the archive (a copy of the scripts with its own qemu.conf).
cp -r "$top/scripts" "$tmp/scripts"
printf '9.9 trixie 9.9 chroot\n' >"$tmp/scripts/qemu.conf"
got=$(VFIO_MIG_CACHE=$tmp/cache "$tmp/scripts/fetch-qemu.sh" --info 9.9 2>&1)
check "fetch-qemu.sh: refuses libraries it does not know" "$got:$?" \
	"fetch-qemu: QEMU '9.9': libraries 'chroot' are neither host nor suite (scripts/qemu.conf):1"
[ ! -e "$tmp/cache" ]; check "fetch-qemu.sh: asked nothing of the archive then" "$?" 0

echo "1..$n"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
