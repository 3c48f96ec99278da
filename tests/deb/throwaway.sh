#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# In a mount namespace of its own (check.sh): an overlay of / on MNT, its
# changes in a tmpfs, and in_root.sh run there under chroot with the
# package and the policy files it compares against copied in.
#
# usage: throwaway.sh MNT DEB IN_ROOT SPAWNER_CAPS AUDIT_POLICY
set -eu

mnt=$1
mount -t tmpfs -o mode=0700 deb-check "$mnt"
mkdir "$mnt/upper" "$mnt/work" "$mnt/root"
mount -t overlay -o lowerdir=/,upperdir="$mnt/upper",workdir="$mnt/work" \
	deb-check "$mnt/root"
root=$mnt/root
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mkdir "$root/deb-check"
cp "$2" "$3" "$4" "$5" "$root/deb-check/"
chroot "$root" /bin/sh /deb-check/in_root.sh "/deb-check/$(basename "$2")" \
	/deb-check/spawner.caps /deb-check/audit.policy
