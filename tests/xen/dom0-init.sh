#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# dom0's init in `make xen-test`. With xt.root=tmpfs on the kernel's command
# line it first moves the root to a tmpfs (as an installed host has a real
# root), with xt.root=initramfs it stays on the initramfs (as diskless and
# rescue dom0s run). Then it sets up what Xen's tools need and runs the
# steps; the machine powers off whatever happens.
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

mount -t proc proc /proc
mode=initramfs
for a in $(cat /proc/cmdline); do
	case $a in
	xt.root=*) mode=${a#xt.root=} ;;
	esac
done
if [ "$mode" = tmpfs ] && [ ! -e /xt/on-tmpfs ]; then
	umount /proc
	mkdir -p /newroot
	mount -t tmpfs -o size=400m root /newroot
	for d in /*; do
		case $d in
		/newroot | /proc | /sys | /dev) mkdir -p "/newroot$d" ;;
		*) cp -a "$d" /newroot/ ;;
		esac
	done
	: >/newroot/xt/on-tmpfs
	exec switch_root /newroot /init
fi

mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs -o mode=755 run /run
mkdir -p /dev/pts /dev/shm /run/xen /run/xenstored
mount -t devpts devpts /dev/pts
echo "xt: dom0 up, root on $mode ($(awk '$2 == "/" { print $3 }' /proc/mounts | tail -n 1))"
syslogd -O /var/log/messages
/xt/steps.sh "$mode"
echo "xt: done"
sync
poweroff -f
