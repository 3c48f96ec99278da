#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# A guest's init in `make xen-test`. Everything it does goes through its
# kernel's xenbus driver (/dev/xen/xenbus) and so over its ring: dom0 drives
# it by writing "SEQ COMMAND" to its data/req, which it watches, and reads
# "SEQ RESULT" back from its data/ack.
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

i=0
while [ ! -e /dev/xen/xenbus ] && [ $i -lt 60 ]; do
	sleep 1
	i=$((i + 1))
done

# xl shutdown: the kernel runs /sbin/poweroff, and this init has no other
# way to hear of it.
mkdir -p /sbin
printf '#!/bin/sh\nexec /bin/busybox poweroff -f\n' >/sbin/poweroff
chmod 755 /sbin/poweroff

run() {
	case $1 in
	hello) echo ready ;;
	rw)
		# Its own nodes: written, then read back.
		if xenstore-write data/mine "$2" && v=$(xenstore-read data/mine); then
			echo "read $v"
		else
			echo failed
		fi
		;;
	peer)
		# Another guest's node: must be refused.
		if v=$(xenstore-read "/local/domain/$2/data/mine"); then
			echo "read $v"
		elif xenstore-write "/local/domain/$2/data/mine" intruder; then
			echo "wrote"
		else
			echo refused
		fi
		;;
	*) echo "unknown $1" ;;
	esac
}

serve() {
	/usr/bin/xenstore-watch data/req | while read -r _; do
		req=$(xenstore-read data/req 2>/dev/null) || req="0 hello"
		seq=${req%% *}
		# shellcheck disable=SC2086
		res=$(run ${req#* })
		xenstore-write data/ack "$seq $res"
	done
}

echo "xt-guest: $(xenstore-read name) serving"
# The watch fires once when set (req may not exist yet: that is "hello"),
# then on every write of dom0's. It is not meant to end: if it does, say
# so and watch again.
while :; do
	serve
	echo "xt-guest: the watch ended"
	ls -l /usr/bin
	sleep 5
done
