#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The steps `make xen-test` runs in dom0, each under its own timeout. Each
# prints "XT-BEGIN NAME", its output indented, then "XT-PASS NAME" or
# "XT-FAIL NAME" and what dom0 knew at that moment. State between steps
# (domain ids, pids) lives in /run/xt. Usage: steps.sh MODE, or
# steps.sh step NAME to run one.
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH
XENBIN=/usr/lib/xen-4.17/bin
ST=/run/xt
AUDIT=/var/log/xs-audit.log
mkdir -p $ST

say() {
	echo "  | $*"
}

# wait_for SECONDS COMMAND...: polls until COMMAND succeeds.
wait_for() {
	t=$1
	shift
	while ! "$@" >/dev/null 2>&1; do
		t=$((t - 1))
		[ $t -ge 0 ] || return 1
		sleep 1
	done
}

broker_pid() {
	cat /run/xenstore.pid
}

# The engine is the broker's grandchild (spawner, then engine): whichever
# xs-engine runs.
engine_pid() {
	pidof xs-engine | awk '{ print $NF }'
}

domid_of() {
	$XENBIN/xl domid "$1"
}

# ask DOMID COMMAND...: writes "SEQ COMMAND" to the guest's data/req and
# prints the result it acks, or fails after 60 s.
ask() {
	d=$1
	shift
	seq=$(($(cat $ST/seq 2>/dev/null || echo 0) + 1))
	echo $seq >$ST/seq
	xenstore-write "/local/domain/$d/data/req" "$seq $*" || return 1
	t=60
	while [ $t -gt 0 ]; do
		a=$(xenstore-read "/local/domain/$d/data/ack" 2>/dev/null)
		case $a in
		"$seq "*)
			echo "${a#* }"
			return 0
			;;
		esac
		sleep 1
		t=$((t - 1))
	done
	say "domain $d acked nothing for \"$seq $*\" (last ack: $a)"
	return 1
}

# Waits until the guest serves requests: its first ack is "0 ready".
guest_ready() {
	xenstore-read "/local/domain/$1/data/ack" 2>/dev/null | grep -qx '0 ready'
}

gnt_maps() {
	grep -c /dev/xen/gntdev "/proc/$(broker_pid)/maps"
}

check() {
	say "$*"
	"$@"
}

step_hypervisor() {
	insmod /xt/modules/xen-privcmd.ko* &&
		insmod /xt/modules/xenfs.ko* &&
		mount -t xenfs xenfs /proc/xen &&
		insmod /xt/modules/xen-evtchn.ko* &&
		insmod /xt/modules/xen-gntdev.ko* &&
		insmod /xt/modules/xen-gntalloc.ko* || return 1
	say "capabilities: $(cat /proc/xen/capabilities)"
	grep -q control_d /proc/xen/capabilities || return 1
	wait_for 10 test -c /dev/xen/gntdev || return 1
	for f in /proc/xen/xsd_kva /proc/xen/xsd_port /dev/xen/evtchn \
		/dev/xen/gntdev /dev/xen/privcmd /dev/xen/xenbus; do
		check test -e $f || return 1
	done
}

# As Debian's /etc/init.d/xen starts a xenstored.
step_broker() {
	XENSTORED_ROOTDIR=/run/xenstored
	export XENSTORED_ROOTDIR
	if grep -qw xt.xenstored=c /proc/cmdline; then
		say "Debian's C xenstored in xs-broker's place"
		if grep -qw xt.hog /proc/cmdline; then
			# Keeps dom0's two vCPUs busy, as a spinning daemon does.
			( while :; do :; done ) &
			( while :; do :; done ) &
			say "two busy loops started"
		fi
		choom -n -1000 -- $XENBIN/xenstored --pid-file /run/xenstore.pid ||
			return 1
	else
		# --spin-us 0: see "busy vCPUs" in docs/testing.md.
		choom -n -1000 -- /usr/sbin/xs-broker --audit-log $AUDIT --spin-us 0 \
			--pid-file /run/xenstore.pid || return 1
	fi
	wait_for 30 xenstore-read -s / || return 1
	p=$(broker_pid)
	say "broker pid $p, oom_score_adj $(cat /proc/$p/oom_score_adj)"
	[ "$(cat /proc/$p/oom_score_adj)" = -1000 ] || return 1
	grep -qw xt.xenstored=c /proc/cmdline && return 0
	broker_confined "$p"
}

# broker_confined PID: the broker PID runs its engine, and is confined as
# it confines itself.
broker_confined() {
	p=$1
	wait_for 10 pidof xs-engine || return 1
	say "engine pid $(engine_pid)"
	# It serves the rings as its own user, without a capability.
	u=$(awk '/^Uid:/ { print $2 }' /proc/$p/status)
	c=$(awk '/^CapEff:/ { print $2 }' /proc/$p/status)
	say "broker uid $u, effective capabilities $c"
	[ "$u" != 0 ] && [ "$c" = 0000000000000000 ] || return 1
	# Under its own seccomp filter, and with no hypercall interface: the
	# spawner asks the hypervisor about domains for it.
	s=$(awk '/^Seccomp:/ { print $2 }' /proc/$p/status)
	x=$(ls -l /proc/$p/fd | grep -c -e privcmd -e hypercall)
	say "broker seccomp mode $s, hypercall fds $x"
	[ "$s" = 2 ] && [ "$x" = 0 ] || return 1
}

# xenstore-ls of the whole store, in an order that does not depend on the
# daemon's.
store_list() {
	xenstore-ls -f -p / | sort
}

# C xenstored's options, and the broker's, for its live update to xs-broker.
lu_options() {
	echo "--pid-file /run/xenstore.pid --audit-log $AUDIT --spin-us 0" \
		"--live-update-fallback $XENBIN/xenstored"
}

# A takeover the broker refuses (here: an engine that restores nothing)
# leaves the host to C xenstored, run again on its own stream and fds:
# the same process, the same store, both guests served on their rings.
step_takeover_refused() {
	p=$(broker_pid)
	store_list >$ST/store-before
	[ -s $ST/store-before ] || return 1
	r=$($XENBIN/xenstore-control live-update -c "$(lu_options) --engine /bin/false" \
		/usr/sbin/xs-broker 2>&1)
	s=$?
	say "xenstore-control live-update: $r (status $s)"
	[ $s = 0 ] || return 1
	say "pid $p is $(tr '\0' ' ' <"/proc/$p/cmdline")"
	[ "$(cat "/proc/$p/comm")" = xenstored ] || return 1
	store_list >$ST/store-after
	diff $ST/store-before $ST/store-after | sed 's/^/  | /'
	cmp -s $ST/store-before $ST/store-after || return 1
	say "the store is the same"
	for g in guest1 guest2; do
		d=$(cat $ST/$g)
		r=$(ask "$d" rw "value-of-$g") || return 1
		say "$g: $r"
		[ "$r" = "read value-of-$g" ] || return 1
	done
}

# C xenstored, serving both guests, is live-updated to the broker
# (docs/recovery.md, "From C xenstored, without a reboot"). The same
# process goes on as xs-broker, confined as when it starts as such; the
# store, dom0's watch, dom0's ring and both guests, on their rings and
# with the watch each serves dom0 by, carry over.
step_takeover() {
	p=$(broker_pid)
	say "C xenstored is pid $p: $(cat "/proc/$p/comm")"
	[ "$(cat "/proc/$p/comm")" = xenstored ] || return 1
	xenstore-write /xt/lu before || return 1
	xenstore-watch /xt/lu >$ST/lu-events &
	w=$!
	wait_for 20 test -s $ST/lu-events || return 1
	store_list >$ST/store-before
	say "$(wc -l <$ST/store-before) nodes"
	[ -s $ST/store-before ] || return 1
	r=$($XENBIN/xenstore-control live-update -c "$(lu_options)" \
		/usr/sbin/xs-broker 2>&1)
	s=$?
	say "xenstore-control live-update: $r (status $s)"
	grep 'live update' /var/log/messages | sed 's/^/  | /'
	[ $s = 0 ] || return 1
	say "pid $p is now $(cat "/proc/$p/comm"), pid file $(broker_pid)"
	[ "$(cat "/proc/$p/comm")" = xs-broker ] && [ "$(broker_pid)" = "$p" ] ||
		return 1
	broker_confined "$p" || return 1
	store_list >$ST/store-after
	diff $ST/store-before $ST/store-after | sed 's/^/  | /'
	cmp -s $ST/store-before $ST/store-after || return 1
	say "the store is the same"
	n=$(wc -l <$ST/lu-events)
	xenstore-write /xt/lu after || return 1
	wait_for 20 sh -c "[ \$(wc -l <$ST/lu-events) -gt $n ]" || return 1
	kill $w
	say "dom0's watch fired"
	v=$(XENSTORED_PATH=/dev/xen/xenbus xenstore-read /xt/lu) || return 1
	say "read over dom0's ring: $v"
	[ "$v" = after ] || return 1
	# The value guest_rw wrote, which the steps after this one expect: the
	# guest answers "failed" unless its write succeeds.
	for g in guest1 guest2; do
		d=$(cat $ST/$g)
		grep -q "domain $d: taken over" /var/log/messages || return 1
		[ "$(domid_of $g)" = "$d" ] || return 1
		r=$(ask "$d" rw "value-of-$g") || return 1
		say "$g, still domain $d: $r"
		[ "$r" = "read value-of-$g" ] || return 1
		# Through the watch it set before: it says so when one ends.
		! grep 'the watch ended' /var/log/xen/console/guest-$g.log |
			sed 's/^/  | /' | grep . || return 1
	done
	xs-audit -k engine $AUDIT | grep live-update-takeover | sed 's/^/  | /' |
		grep .
}

# The engine is sandboxed, with its root reached as this root allows.
step_sandbox() {
	grep 'sandbox' /var/log/messages | sed 's/^/  | /'
	case $1 in
	tmpfs) want='empty root (pivot_root)' ;;
	*) want='empty root (chroot' ;;
	esac
	grep 'sandbox: uid' /var/log/messages | grep -qF "$want" || return 1
	[ "$(readlink /proc/"$(engine_pid)"/root)" = / ] || return 1
	[ -z "$(ls -A /proc/"$(engine_pid)"/root/)" ] || return 1
	say "the engine's root is empty"
}

# dom0's own ring (/proc/xen/xsd_kva, through the kernel's xenbus device)
# and the socket both reach the store.
step_dom0_ring() {
	xenstore-write -s /xt/socket yes || return 1
	v=$(XENSTORED_PATH=/dev/xen/xenbus xenstore-read /xt/socket) || return 1
	say "read over dom0's ring: $v"
	[ "$v" = yes ] || return 1
	XENSTORED_PATH=/dev/xen/xenbus xenstore-write /xt/ring yes || return 1
	[ "$(xenstore-read -s /xt/ring)" = yes ]
}

step_init_dom0() {
	$XENBIN/xen-init-dom0 || return 1
	say "dom0 is named $(xenstore-read /local/domain/0/name)"
	$XENBIN/xenconsoled --pid-file /run/xenconsoled.pid --log=guest \
		--log-dir=/var/log/xen/console || return 1
}

step_guests() {
	for g in guest1 guest2; do
		say "dom0's free memory: $(free -m | awk '/^Mem/ { print $4 }') MiB"
		$XENBIN/xl create /etc/xen/$g.cfg || return 1
	done
	for g in guest1 guest2; do
		d=$(domid_of $g) || return 1
		echo "$d" >$ST/$g
		echo "$d" >$ST/$g.first
		say "$g is domain $d"
		wait_for 180 guest_ready "$d" || return 1
		say "$g serves over its ring"
	done
}

# Each guest writes its own node and reads it back; dom0's write to the
# node it watches fires its watch (ask works only through that).
step_guest_rw() {
	for g in guest1 guest2; do
		d=$(cat $ST/$g)
		r=$(ask "$d" rw "value-of-$g") || return 1
		say "$g: $r"
		[ "$r" = "read value-of-$g" ] || return 1
		[ "$(xenstore-read /local/domain/$d/data/mine)" = "value-of-$g" ] ||
			return 1
	done
}

# Neither guest may read or write the other's nodes.
step_guest_isolation() {
	d1=$(cat $ST/guest1)
	d2=$(cat $ST/guest2)
	r=$(ask "$d1" peer "$d2") || return 1
	say "guest1 on guest2's node: $r"
	[ "$r" = refused ] || return 1
	r=$(ask "$d2" peer "$d1") || return 1
	say "guest2 on guest1's node: $r"
	[ "$r" = refused ] || return 1
	[ "$(xenstore-read /local/domain/$d2/data/mine)" = value-of-guest2 ]
}

# The engine dies under both guests; they go on as if nothing happened.
step_engine_kill() {
	old=$(engine_pid)
	say "killing engine $old"
	kill -9 "$old" || return 1
	wait_for 30 sh -c "pidof xs-engine | grep -qvw $old" || return 1
	say "new engine $(engine_pid)"
	for g in guest1 guest2; do
		d=$(cat $ST/$g)
		r=$(ask "$d" rw "after-kill-$g") || return 1
		say "$g: $r"
		[ "$r" = "read after-kill-$g" ] || return 1
	done
}

# guest2 is destroyed: @releaseDomain fires, its nodes and its ring go;
# a new guest2 comes up in its place.
step_destroy() {
	d2=$(cat $ST/guest2)
	before=$(gnt_maps)
	xenstore-watch @releaseDomain >$ST/released &
	w=$!
	wait_for 20 test -s $ST/released || return 1
	$XENBIN/xl destroy guest2 || return 1
	wait_for 30 sh -c "[ \$(wc -l <$ST/released) -ge 2 ]" || return 1
	kill $w
	say "@releaseDomain fired"
	if xenstore-exists /local/domain/$d2; then
		say "/local/domain/$d2 is still there"
		return 1
	fi
	wait_for 20 sh -c "[ \$(grep -c /dev/xen/gntdev /proc/$(broker_pid)/maps) -lt $before ]" || {
		say "the broker still maps $(gnt_maps) grants (had $before)"
		return 1
	}
	say "grant mappings: $before before, $(gnt_maps) after"
	$XENBIN/xl create /etc/xen/guest2.cfg || return 1
	d=$(domid_of guest2) || return 1
	echo "$d" >$ST/guest2
	say "guest2 is now domain $d"
	wait_for 180 guest_ready "$d" || return 1
	r=$(ask "$d" rw again) || return 1
	[ "$r" = "read again" ]
}

# The audit log holds the guests' own requests, and the refusals.
step_audit() {
	d1=$(cat $ST/guest1)
	n=$(xs-audit -d "$d1" -o WRITE -p "/local/domain/$d1/data/mine" $AUDIT | wc -l)
	say "guest1's writes of its data/mine: $n"
	[ "$n" -ge 2 ] || return 1
	n=$(xs-audit -d "$d1" -r EACCES -p "/local/domain/$(cat $ST/guest2.first)" \
		$AUDIT | wc -l)
	say "guest1's refused requests on guest2's nodes: $n"
	[ "$n" -ge 1 ] || return 1
	xs-audit -s $AUDIT | head -n 20 | sed 's/^/  | /'
}

# xl shutdown reaches guest1's kernel through the store (control/shutdown,
# which it watches over its ring): it powers off, @releaseDomain fires and
# its nodes go.
step_shutdown() {
	d1=$(cat $ST/guest1)
	xenstore-watch @releaseDomain >$ST/released &
	w=$!
	wait_for 20 test -s $ST/released || return 1
	$XENBIN/xl shutdown -w guest1 || return 1
	wait_for 30 sh -c "[ \$(wc -l <$ST/released) -ge 2 ]" || return 1
	kill $w
	say "@releaseDomain fired"
	wait_for 20 sh -c "! xenstore-exists /local/domain/$d1" || {
		say "/local/domain/$d1 is still there"
		return 1
	}
}

# What the broker logged on the real host, all of it warnings and worse
# but the engine's killing, which the engine_kill step caused, and the
# takeover refused in step_takeover_refused.
step_broker_log() {
	grep xs-broker /var/log/messages | sed 's/^/  | /'
	! grep xs-broker /var/log/messages |
		grep -E 'daemon\.(warn|err|crit|alert|emerg)' |
		grep -v -e 'engine killed by signal SIGKILL' -e 'restart' \
			-e 'live update refused' |
		sed 's/^/  | unexpected: /' | grep .
}

# What dom0 knows when a step failed. Each command has its own timeout:
# a store that no longer answers must not hold up the rest.
diagnose() {
	echo "XT-DIAG begin"
	timeout 20 $XENBIN/xl list 2>&1
	echo "--- broker's log"
	tail -n 40 /var/log/messages 2>&1
	for f in /var/log/xen/console/*.log; do
		[ -f "$f" ] || continue
		echo "--- $f"
		tail -n 100 "$f"
	done
	if [ -s $AUDIT ]; then
		echo "--- the audit log: replies to no request, then its end"
		timeout 20 xs-audit -k reply $AUDIT 2>&1 | tail -n 10
		tail -n 30 $AUDIT
	fi
	echo "--- processes"
	ps -o pid,stat,args 2>&1 | grep -v '\[' | tail -n 30
	echo "--- dom0's kernel"
	dmesg | tail -n 30
	echo "XT-DIAG end"
}

# step NAME SECONDS [critical]: runs step_NAME in a child with a timeout.
run_step() {
	echo "XT-BEGIN $1"
	if timeout "$2" /xt/steps.sh step "$1" "$MODE" 2>&1; then
		echo "XT-PASS $1"
		return 0
	fi
	echo "XT-FAIL $1"
	diagnose
	return 1
}

if [ "${1:-}" = step ]; then
	"step_$2" "$3"
	exit
fi

MODE=$1
# xt.takeover: the broker step starts C xenstored, which the broker takes
# over once the guests run; then it is the broker's engine to check.
takeover=
grep -qw xt.takeover /proc/cmdline && takeover=1
run_step hypervisor 60 && run_step broker 60 || exit 1
[ -n "$takeover" ] || run_step sandbox 20
run_step dom0_ring 30
run_step init_dom0 30 && run_step guests 400 || exit 1
run_step guest_rw 120
if [ -n "$takeover" ]; then
	run_step takeover_refused 180 && run_step takeover 180 || exit 1
	run_step sandbox 20
fi
run_step guest_isolation 120
run_step engine_kill 120
run_step destroy 300
run_step audit 60
run_step shutdown 120
run_step broker_log 20
