#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/debian-archive against apt configurations written as fixtures
# (VFIO_MIG_APT_ETC): deb822 only, one-line only, both, a security entry
# first, options in brackets, other vendors first (one with a "stable"
# suite), Enabled: false, a mirror+file: list, and no Debian entry at all.  Runs on the host; prints TAP and "N passed, N failed".

set -u

top=$(cd "$(dirname "$0")/../../.." && pwd)
helper=$top/scripts/debian-archive
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0 n=0

# fixture NAME: an empty apt directory for one case
fixture() {
	etc=$tmp/$1
	mkdir -p "$etc/sources.list.d"
}

# expect DESCRIPTION WANT [OPTION]: the helper prints WANT and succeeds
expect() {
	local what=$1 want=$2 got rc
	shift 2
	n=$((n + 1))
	got=$(VFIO_MIG_APT_ETC=$etc "$helper" "$@" 2>"$tmp/err")
	rc=$?
	if [ "$rc" = 0 ] && [ "$got" = "$want" ]; then
		echo "ok $n - $what"
		passed=$((passed + 1))
	else
		echo "not ok $n - $what: got '$got' (status $rc), want '$want'"
		sed 's/^/# /' "$tmp/err"
		failed=$((failed + 1))
	fi
}

# expect_fail DESCRIPTION: the helper fails and says why
expect_fail() {
	local what=$1 got rc
	n=$((n + 1))
	got=$(VFIO_MIG_APT_ETC=$etc "$helper" 2>"$tmp/err")
	rc=$?
	if [ "$rc" = 1 ] && [ -z "$got" ] &&
	   grep -q 'no Debian archive entry' "$tmp/err"; then
		echo "ok $n - $what"
		passed=$((passed + 1))
	else
		echo "not ok $n - $what: got '$got' (status $rc)"
		sed 's/^/# /' "$tmp/err"
		failed=$((failed + 1))
	fi
}

fixture deb822
cat >"$etc/sources.list.d/debian.sources" <<'EOF'
Types: deb
# a mirror snapshot, commented out
URIs: http://mirror.example.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.example.org/debian-security
Suites: bookworm-security
Components: main
EOF
expect "deb822 only: the archive" http://mirror.example.org/debian
expect "deb822 only: the security archive" \
	http://security.example.org/debian-security --security

fixture oneline
cat >"$etc/sources.list" <<'EOF'
# written by the installer
deb http://ftp.example.net/debian/ bookworm main non-free-firmware
deb-src http://ftp.example.net/debian/ bookworm main
deb http://security.example.net/debian-security bookworm-security main
EOF
expect "one-line only: the archive, trailing slash dropped" \
	http://ftp.example.net/debian
expect "one-line only: the security archive" \
	http://security.example.net/debian-security --security

fixture both
cat >"$etc/sources.list" <<'EOF'
deb http://one.example.org/debian trixie main
EOF
cat >"$etc/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://two.example.org/debian
Suites: trixie
Components: main
EOF
expect "both formats: sources.list comes first" http://one.example.org/debian
expect "both formats, no security entry: derived from the archive" \
	http://one.example.org/debian-security --security

fixture both-commented
printf '# moved to sources.list.d\n' >"$etc/sources.list"
cat >"$etc/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://two.example.org/debian
Suites: trixie
Components: main
EOF
expect "a commented-out sources.list: the deb822 entry" \
	http://two.example.org/debian

fixture deb822-sources-list
cat >"$etc/sources.list" <<'EOF'
Types: deb
URIs: http://three.example.org/debian
Suites: bookworm
Components: main
EOF
expect "sources.list in deb822 form" http://three.example.org/debian

fixture security-first
cat >"$etc/sources.list" <<'EOF'
deb http://security.example.org/debian-security bookworm-security main
deb http://security.example.org/debian-security/ bookworm/updates main
deb http://mirror.example.org/debian bookworm main
EOF
cat >"$etc/sources.list.d/00-debian.sources" <<'EOF'
Types: deb
URIs: http://security.example.org/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: http://later.example.org/debian
Suites: bookworm
Components: main
EOF
expect "security entries first: the first archive entry" \
	http://mirror.example.org/debian
expect "security entries first: the first security entry" \
	http://security.example.org/debian-security --security

fixture options
cat >"$etc/sources.list" <<'EOF'
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://opts.example.org/debian bookworm main
EOF
expect "options in brackets" http://opts.example.org/debian
rm "$etc/sources.list"
cat >"$etc/sources.list.d/debian.list" <<'EOF'
	deb [ arch=amd64 trusted=yes ] http://spaced.example.org/debian bookworm-backports main # comment
EOF
expect "options with spaces inside the brackets, in a .list file" \
	http://spaced.example.org/debian

fixture vendors-first
cat >"$etc/sources.list.d/00-vendor.list" <<'EOF'
deb https://vendor.example.com/apt cloud-sdk-bookworm main
EOF
cat >"$etc/sources.list.d/10-node.sources" <<'EOF'
Types: deb
URIs: https://node.example.com/node_20.x
Suites: nodistro
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBFakeKeyLinesThatAreNotFields
 -----END PGP PUBLIC KEY BLOCK-----

Types: deb
URIs: http://disabled.example.org/debian
Suites: bookworm
Components: main
Enabled: no
EOF
cat >"$etc/sources.list.d/20-debian.sources" <<'EOF'
Types: deb-src deb
URIs: http://mirror.example.org/debian http://other.example.org/debian
Suites: bookworm
Components: main
EOF
expect "other vendors and a disabled entry first: the Debian entry" \
	http://mirror.example.org/debian

fixture disabled-false
cat >"$etc/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://old.example.org/debian
Suites: bookworm
Components: main
Enabled: false

Types: deb
URIs: http://new.example.org/debian
Suites: bookworm
Components: main
EOF
expect "Enabled: false is disabled, as apt reads it" http://new.example.org/debian

fixture stable-vendor
cat >"$etc/sources.list.d/brave-browser-release.list" <<'EOF'
deb [signed-by=/usr/share/keyrings/brave.gpg] https://brave.example.com/ stable main
EOF
cat >"$etc/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://deb.example.org/debian
Suites: bookworm
Components: main
EOF
expect "a vendor's \"stable\" repository sorted first is not the archive" \
	http://deb.example.org/debian

fixture odd-path
cat >"$etc/sources.list" <<'EOF'
deb https://vendor.example.com/apt stable main
deb http://mirror.example.org/pub/os/debian-archive bookworm main
EOF
expect "a mirror by another path, for a codename" \
	http://mirror.example.org/pub/os/debian-archive

fixture mirror-file
mkdir -p "$etc/mirrors"
cat >"$etc/mirrors/debian.list" <<'EOF'
# the cloud image's mirror list
http://cloud.example.org/debian	priority:1
http://second.example.org/debian
EOF
cat >"$etc/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: mirror+file:$etc/mirrors/debian.list
Suites: bookworm bookworm-updates
Components: main
EOF
expect "mirror+file: the first mirror its file lists" http://cloud.example.org/debian
expect "mirror+file, no security entry: derived from that mirror" \
	http://cloud.example.org/debian-security --security

fixture none
cat >"$etc/sources.list" <<'EOF'
# deb http://mirror.example.org/debian bookworm main
deb-src http://mirror.example.org/debian bookworm main
deb https://vendor.example.com/apt cloud-sdk-bookworm main
EOF
cat >"$etc/sources.list.d/node.sources" <<'EOF'
Types: deb
URIs: https://node.example.com/node_20.x
Suites: nodistro
Components: main
EOF
expect_fail "no Debian entry: a clear error"
rm -rf "$etc"
mkdir -p "$etc"
expect_fail "no apt configuration at all: a clear error"

echo "1..$n"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
