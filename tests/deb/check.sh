#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# make deb-check: the package make deb built, linted, its binaries' hardening
# checked, then installed, run, upgraded and purged in a throwaway root
# (throwaway.sh), after which the host must be as it was.
#
# usage: check.sh DEB BUILD_LOG
set -eu

deb=$1
log=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

if [ "$(id -u)" != 0 ]; then
	echo "deb-check: needs root (a mount namespace and an overlay of /)" >&2
	exit 1
fi

echo "== lintian $deb"
lintian --fail-on error,warning "$deb"

tmp=$(mktemp -d /tmp/deb-check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# PIE, RELRO, BIND_NOW, fortified calls and the stack protector in what
# the package installs. Not control-flow integrity: bookworm's toolchain
# marks no binary for it, and Linux enforces none in user space.
echo "== hardening-check"
mkdir "$tmp/x"
dpkg-deb -x "$deb" "$tmp/x"
hardening-check --nocfprotection "$tmp/x/usr/sbin/xs-broker" \
	"$tmp/x/usr/sbin/xs-engine" "$tmp/x/usr/bin/xs-audit"
rm -rf "$tmp/x"
# The flags of every compiler and linker call in the build's log.
echo "== blhc"
blhc --all "$log"

# What a run must leave on the host: the same users, groups and package
# database, none of the package's files.
host_state() {
	sha256sum /etc/passwd /etc/group /etc/shadow /etc/gshadow
	dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' split-xenstored \
		2>&1 || true
	for f in /usr/sbin/xs-broker /etc/split-xenstored \
		/lib/systemd/system/split-xenstored.service \
		/usr/lib/sysusers.d/split-xenstored.conf \
		/var/log/split-xenstored; do
		[ -e "$f" ] && echo "present $f"
	done
	ls /var/lib/dpkg/info | grep '^split-xenstored' || true
}
host_state > "$tmp/before"

# The throwaway root is an overlay of / whose upper layer is a tmpfs in a
# mount namespace of its own: dpkg and the real maintainer scripts run
# unchanged (systemd-sysusers, userdel, deb-systemd-helper), as on a host,
# but every write lands in the tmpfs, which goes with the namespace. The
# other way, dpkg --root with scripts that honour DPKG_ROOT, would test
# scripts run differently from how a host runs them.
mkdir "$tmp/mnt"
st=0
unshare --mount --propagation private \
	sh "$here/throwaway.sh" "$tmp/mnt" "$deb" "$here/in_root.sh" \
	"$repo/policy/spawner.caps" "$repo/policy/audit.policy" \
	>"$tmp/out" 2>&1 || st=$?
cat "$tmp/out"
[ $st = 0 ] || { echo "deb-check: failed in the throwaway root" >&2; exit 1; }

host_state > "$tmp/after"
if ! cmp -s "$tmp/before" "$tmp/after"; then
	echo "deb-check: the host changed:" >&2
	diff "$tmp/before" "$tmp/after" >&2 || true
	exit 1
fi
echo "ok - the host's users, groups, package database and files are as before"
echo "deb-check: $(($(grep -c '^ok - ' "$tmp/out") + 1)) passed, 0 failed"
