#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# In the throwaway root (throwaway.sh): install the package, check its
# files, conffiles, users and unit, run the broker as the unit would, keep
# a changed conffile across an upgrade, purge, and check what is left.
#
# usage: in_root.sh DEB SPAWNER_CAPS AUDIT_POLICY
set -eu

deb=$1
caps=$2
policy=$3
unit=/lib/systemd/system/split-xenstored.service
pkg=split-xenstored

ok() {
	echo "ok - $*"
}

fail() {
	echo "FAIL - $*" >&2
	exit 1
}

# Polls for up to 30 s, whatever the load: "until_true 'what' command...".
until_true() {
	what=$1
	shift
	i=0
	until "$@"; do
		i=$((i + 1))
		[ $i -lt 300 ] || fail "$what: not within 30 s"
		sleep 0.1
	done
}

# The host has the users already (make deps): this root starts without
# them, as a fresh host would.
for u in xs-engine xs-broker; do
	if getent passwd "$u" >/dev/null; then userdel "$u"; fi
	if getent group "$u" >/dev/null; then groupdel "$u"; fi
done

echo "== dpkg -i $deb"
dpkg -i "$deb" || fail "dpkg -i"
ok "installs"

# path, mode, owner
while read -r path mode owner; do
	[ -f "$path" ] || fail "$path is missing"
	got=$(stat -c '%a %U:%G' "$path")
	[ "$got" = "$mode $owner" ] || fail "$path is $got, not $mode $owner"
done <<EOF
/usr/sbin/xs-broker 755 root:root
/usr/sbin/xs-engine 755 root:root
/usr/sbin/xs-dump 755 root:root
/usr/bin/xs-audit 755 root:root
/usr/share/man/man8/xs-broker.8.gz 644 root:root
/usr/share/man/man8/xs-engine.8.gz 644 root:root
/usr/share/man/man8/xs-dump.8.gz 644 root:root
/usr/share/man/man1/xs-audit.1.gz 644 root:root
/usr/share/man/man5/split-xenstored.policy.5.gz 644 root:root
/etc/split-xenstored/audit.policy 644 root:root
/etc/logrotate.d/split-xenstored 644 root:root
$unit 644 root:root
/usr/lib/sysusers.d/split-xenstored.conf 644 root:root
/usr/share/doc/split-xenstored/copyright 644 root:root
EOF
ok "files and modes"

cmp -s /etc/split-xenstored/audit.policy "$policy" ||
	fail "/etc/split-xenstored/audit.policy is not policy/audit.policy"
grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' \
	/usr/share/doc/split-xenstored/copyright &&
	grep -q '^License: GPL-2.0-only' /usr/share/doc/split-xenstored/copyright ||
	fail "copyright is not machine-readable GPL-2.0-only"
ok "the audit policy is the built-in one; copyright is machine-readable"

conffiles=$(dpkg-query -W -f='${Conffiles}\n' $pkg | awk 'NF { print $1 }' |
	sort | tr '\n' ' ')
[ "$conffiles" = "/etc/logrotate.d/split-xenstored /etc/split-xenstored/audit.policy " ] ||
	fail "conffiles: $conffiles"
ok "conffiles: $conffiles"

sys_uid_max=$(awk '$1 == "SYS_UID_MAX" { print $2 }' /etc/login.defs)
for u in xs-broker xs-engine; do
	ent=$(getent passwd "$u") || fail "no user $u"
	uid=$(echo "$ent" | cut -d: -f3)
	gid=$(echo "$ent" | cut -d: -f4)
	home=$(echo "$ent" | cut -d: -f6)
	shell=$(echo "$ent" | cut -d: -f7)
	[ "$uid" -gt 0 ] && [ "$uid" -le "${sys_uid_max:-999}" ] ||
		fail "$u: uid $uid is not a system user's"
	[ "$home" = /nonexistent ] || fail "$u: home $home"
	[ "$shell" = /usr/sbin/nologin ] || fail "$u: shell $shell"
	[ "$(getent group "$u" | cut -d: -f3)" = "$gid" ] ||
		fail "$u: its group is not $u"
done
[ ! -e /nonexistent ] || fail "/nonexistent was created"
[ "$(id -u xs-broker)" != "$(id -u xs-engine)" ] || fail "one uid for both"
ok "system users xs-broker and xs-engine, no home, no login shell"

[ -z "$(find /etc/systemd/system -name split-xenstored.service)" ] ||
	fail "the unit is enabled"
ok "the unit is not enabled"

out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify: $out"
ok "systemd-analyze verify"

# Each of these would hide what the broker opens on a dom0: PrivateDevices=
# /dev/xen, ProcSubset= and ProtectProc= (a new /proc) /proc/xen.
for d in PrivateDevices ProcSubset ProtectProc; do
	! grep -q "^$d=" "$unit" || fail "$d= hides the Xen interfaces"
done
ok "the unit leaves /dev/xen and /proc/xen to the broker"

# The unit's bounding set is policy/spawner.caps, no more, no less.
want=$(awk '/^CAP_/ { print $1 }' "$caps" | sort | tr '\n' ' ')
bset=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")
got=$(printf '%s\n' $bset | sort | tr '\n' ' ')
[ "$got" = "$want" ] || fail "CapabilityBoundingSet=$bset, not $want"
ok "CapabilityBoundingSet is policy/spawner.caps"

# The broker as the unit starts it, with what of the unit can be had
# without systemd: the directories RuntimeDirectory= and LogsDirectory=
# make, writable in a root otherwise read-only (ProtectSystem=strict), the
# bounding set, no_new_privs, the umask, no network, a hostname of its own.
# No Xen here: --socket-only.
unit_value() { sed -n "s/^$1=//p" "$unit"; }
exec_start=$(unit_value ExecStart)
case "$exec_start" in
*--no-fork*) ;;
*) fail "ExecStart without --no-fork: $exec_start" ;;
esac
case "$exec_start" in
*\"* | *\'* | *\$*) fail "ExecStart needs systemd's quoting: $exec_start" ;;
esac
setpriv_caps=$(printf '%s\n' $bset | sed 's/^CAP_/+/' | tr 'A-Z' 'a-z' |
	tr '\n' ',' | sed 's/,$//')
rundir=/run/$(unit_value RuntimeDirectory)
logdir=/var/log/$(unit_value LogsDirectory)
install -d -m "$(unit_value RuntimeDirectoryMode)" "$rundir"
install -d -m "$(unit_value LogsDirectoryMode)" "$logdir"
[ "$(unit_value UMask)" = 0077 ] || fail "UMask=$(unit_value UMask)"
blog=/tmp/broker.log
# The default paths of the broker and libxenstore: xenstored's.
unset XENSTORED_PATH XENSTORED_RUNDIR
umask 077
# shellcheck disable=SC2016,SC2086
RUN=$rundir LOGS=$logdir unshare --mount --net --uts sh -c '
	mount --bind "$RUN" "$RUN" && mount --bind "$LOGS" "$LOGS" &&
	mount -o remount,bind,ro / && exec "$0" "$@"' \
	setpriv --no-new-privs --bounding-set "-all,$setpriv_caps" -- \
	$exec_start --socket-only 2>"$blog" &
broker=$!
umask 022
served() { [ -S "$rundir/socket" ] || ! kill -0 $broker 2>/dev/null; }
until_true "the broker's socket" served
kill -0 $broker 2>/dev/null || fail "the broker did not start: $(cat "$blog")"
xenstore-write /deb-check/node written || fail "xenstore-write"
[ "$(xenstore-read /deb-check/node)" = written ] || fail "xenstore-read"
ok "the broker of ExecStart serves a write and a read"

status() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
[ "$(status $broker Uid)" = "$(id -u xs-broker)" ] ||
	fail "the broker's uid is $(status $broker Uid)"
[ "$(status $broker CapEff)" = 0000000000000000 ] ||
	fail "the broker keeps capabilities $(status $broker CapEff)"
child() { awk '{ print $1 }' "/proc/$1/task/$1/children"; }
spawner=$(child $broker)
engine=$(child "$spawner")
[ "$(status "$engine" Uid)" = "$(id -u xs-engine)" ] ||
	fail "the engine's uid is $(status "$engine" Uid)"
! grep -q "cannot keep" "$blog" ||
	fail "the bounding set is short of what the spawner needs: $(cat "$blog")"
ok "the broker serves as xs-broker, the engine as xs-engine, the spawner keeps its list"

# The package's logrotate snippet, run by logrotate: the log is renamed,
# not copied and truncated, and on SIGHUP (the unit's ExecReload, which
# the snippet asks systemd for) the broker writes a new file; what came
# before is in the renamed one.
log=$logdir/audit.log
until_true "the write in the audit log" grep -q '"/deb-check/node"' "$log"
[ "$(stat -c %a "$log")" = 600 ] || fail "$log is not mode 600"
logrotate -f -s /tmp/logrotate.state /etc/logrotate.d/split-xenstored \
	>/tmp/logrotate.out 2>&1 || fail "logrotate: $(cat /tmp/logrotate.out)"
! grep -q 'error:' /tmp/logrotate.out || fail "logrotate: $(cat /tmp/logrotate.out)"
[ -f "$log.1" ] && [ ! -e "$log" ] ||
	fail "logrotate did not move $log to $log.1 and leave it to the broker"
kill -HUP $broker
until_true "a new audit log" test -f "$log"
xenstore-write /deb-check/rotated yes || fail "xenstore-write"
until_true "the write in the new audit log" grep -q '"/deb-check/rotated"' "$log"
! grep -q '"/deb-check/rotated"' "$log.1" || fail "written to the old log"
ok "the audit log is reopened on SIGHUP"

kill -TERM $broker
st=0
wait $broker || st=$?
[ $st = 0 ] || fail "the broker exited $st after SIGTERM: $(cat "$blog")"
until_true "the spawner's exit" test ! -d "/proc/$spawner"
[ ! -e "$rundir/socket" ] && [ ! -e "$rundir/socket_ro" ] ||
	fail "sockets left in $rundir"
[ ! -d "/proc/$engine" ] || fail "the engine outlived the broker"
ok "SIGTERM to the broker stops all three processes and removes the sockets"

# Upstream's launch-xenstore, unchanged, starts the installed broker:
# XENSTORED and XENSTORED_ARGS from /etc/default/xencommons, its own
# --pid-file, then (no systemd here) its wait for that file, which the
# daemon writes only once it serves. No Xen here: --socket-only.
# prlimit --nofile may not raise the hard limit here: the file says how
# many fds, as an administrator may.
printf '%s\n' XENSTORED=/usr/sbin/xs-broker XENSTORED_ARGS=--socket-only \
	"XENSTORED_MAX_OPEN_FDS=$(ulimit -Hn)" >/etc/default/xencommons
rm -f /var/run/xen/xenstored.pid
/etc/xen/scripts/launch-xenstore >/tmp/launch.out 2>&1 ||
	fail "launch-xenstore: $(cat /tmp/launch.out)"
pid=$(cat /var/run/xen/xenstored.pid) || fail "launch-xenstore: no pid file"
case "$(tr '\0' ' ' <"/proc/$pid/cmdline")" in
"/usr/sbin/xs-broker --pid-file /var/run/xen/xenstored.pid --socket-only ") ;;
*) fail "the pid file's process is not the broker: $(cat /tmp/launch.out)" ;;
esac
xenstore-write /deb-check/launched yes || fail "xenstore-write"
[ "$(xenstore-read /deb-check/launched)" = yes ] || fail "xenstore-read"
spawner=$(child "$pid")
kill -TERM "$pid"
until_true "the daemon's end" test ! -d "/proc/$spawner"
[ ! -e "$rundir/socket" ] && [ ! -e /var/run/xen/xenstored.pid ] ||
	fail "launch-xenstore's daemon left its socket or pid file"
ok "launch-xenstore starts the installed broker, which serves and stops"

# An upgrade, to the same package with a higher version, keeps a changed
# conffile and the users.
old_uid=$(id -u xs-broker)
dpkg-deb -R "$deb" /tmp/next
sed -i 's/^Version: .*/&+next/' /tmp/next/DEBIAN/control
dpkg-deb -b /tmp/next /tmp/next.deb >/dev/null
echo "# changed on this host" >>/etc/split-xenstored/audit.policy
dpkg -i /tmp/next.deb || fail "dpkg -i of the next version"
case "$(dpkg-query -W -f='${Version}' $pkg)" in
*+next) ;;
*) fail "not upgraded" ;;
esac
grep -q '^# changed on this host' /etc/split-xenstored/audit.policy ||
	fail "the changed audit.policy was replaced"
[ "$(id -u xs-broker)" = "$old_uid" ] || fail "the upgrade made xs-broker anew"
ok "an upgrade keeps a changed conffile and the users"

files=$(dpkg-query -L $pkg)
echo "== dpkg --purge $pkg"
dpkg --purge $pkg || fail "dpkg --purge"
for u in xs-broker xs-engine; do
	! getent passwd "$u" >/dev/null || fail "user $u left"
	! getent group "$u" >/dev/null || fail "group $u left"
done
for f in $files; do
	[ -d "$f" ] || [ ! -e "$f" ] || fail "$f left"
done
for d in /etc/split-xenstored /var/log/split-xenstored \
	/usr/share/doc/split-xenstored; do
	[ ! -e "$d" ] || fail "$d left"
done
st=$(dpkg-query -W -f='${db:Status-Status}' $pkg 2>/dev/null || true)
[ -z "$st" ] || [ "$st" = not-installed ] || fail "dpkg has $pkg as $st"
ok "purge removes the users, the groups and every file"
