#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Builds what `make xen-test` boots, into OUTDIR (default build/xen), from
# this machine's own Debian packages and the project's binaries in BINDIR:
#   xen          Debian's Xen 4.17, gunzipped for QEMU's multiboot loader
#   vmlinuz      Debian's kernel: dom0's and the guests'
#   dom0.cpio.gz dom0's root: busybox, xs-broker, xs-engine, xs-audit, xl,
#                xen-init-dom0, xenconsoled, xenstore-utils, the Xen
#                modules, the guests' kernel (as an ELF) and root, and the
#                test steps
#   guest.cpio.gz a guest's root: busybox and xenstore-utils
set -eu
OUT=${1:-build/xen}
BINDIR=${2:-build/bin}
HERE=$(cd "$(dirname "$0")" && pwd)
XENBIN=/usr/lib/xen-4.17/bin

die() {
	echo "xen-test build: $*" >&2
	exit 1
}

# The newest of Debian's kernels with its modules beside it.
KVER=$(ls /boot | sed -n 's/^vmlinuz-//p' | sort -V |
	while read -r v; do [ -d "/lib/modules/$v" ] && echo "$v"; done |
	tail -n 1)
[ -n "$KVER" ] ||
	die "no kernel in /boot and /lib/modules (scripts/deps.sh installs it)"
[ -f /boot/xen-4.17-amd64.gz ] || die "no /boot/xen-4.17-amd64.gz"
[ -x /bin/busybox ] || die "no busybox"

# Copies each file to the same path under ROOT, with the libraries it loads.
install_with_libs() {
	root=$1
	shift
	for f in "$@"; do
		mkdir -p "$root$(dirname "$f")"
		cp -L "$f" "$root$f"
		ldd "$f" 2>/dev/null | awk '
			$2 == "=>" && $3 ~ /^\// { print $3 }
			$1 ~ /^\// { print $1 }' |
			while read -r lib; do
				[ -e "$root$lib" ] && continue
				mkdir -p "$root$(dirname "$lib")"
				cp -L "$lib" "$root$lib"
			done
	done
}

# busybox, with a link for each of its applets that the root lacks.
install_busybox() {
	root=$1
	mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin"
	cp /bin/busybox "$root/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
	done
}

# xenstore-utils: one binary that acts on the name it is called by.
install_xenstore_utils() {
	root=$1
	install_with_libs "$root" /usr/bin/xenstore
	for t in read write exists list ls rm chmod watch; do
		ln -sf xenstore "$root/usr/bin/xenstore-$t"
	done
}

mkcpio() {
	(cd "$1" && find . | cpio -o -H newc --quiet) | gzip -1 >"$2.tmp"
	mv "$2.tmp" "$2"
}

rm -rf "$OUT/dom0root" "$OUT/guestroot"
mkdir -p "$OUT"

# A guest's root.
G=$OUT/guestroot
mkdir -p "$G/proc" "$G/sys" "$G/dev" "$G/tmp"
install_busybox "$G"
install_xenstore_utils "$G"
install -m 755 "$HERE/guest-init.sh" "$G/init"
mkcpio "$G" "$OUT/guest.cpio.gz"

# dom0's root.
D=$OUT/dom0root
mkdir -p "$D/proc" "$D/sys" "$D/dev" "$D/tmp" "$D/run" "$D/etc/xen" \
	"$D/var/lib/xen" "$D/var/log/xen/console" "$D/boot" "$D/xt/modules"
ln -s ../run "$D/var/run"
install_busybox "$D"
install_xenstore_utils "$D"
install_with_libs "$D" "$XENBIN/xl" "$XENBIN/xen-init-dom0" \
	"$XENBIN/xenconsoled" "$XENBIN/xenstore-control" "$XENBIN/xenstored" \
	/usr/bin/choom
# xl's threads load it at run time (pthread_cancel): ldd cannot see it.
install_with_libs "$D" /lib/x86_64-linux-gnu/libgcc_s.so.1
mkdir -p "$D/usr/sbin"
for b in xs-broker xs-engine; do
	install_with_libs "$D" "$(readlink -f "$BINDIR/$b")"
	cp "$BINDIR/$b" "$D/usr/sbin/$b"
done
install_with_libs "$D" "$(readlink -f "$BINDIR/xs-audit")"
cp "$BINDIR/xs-audit" "$D/usr/bin/xs-audit"
for m in xen-privcmd xenfs xen-evtchn xen-gntdev xen-gntalloc; do
	f=$(find "/lib/modules/$KVER/kernel/drivers/xen" -name "$m.ko*" | head -n 1)
	[ -n "$f" ] || die "no module $m for $KVER"
	cp "$f" "$D/xt/modules/"
done
python3 "$HERE/vmlinux.py" "/boot/vmlinuz-$KVER" "$D/boot/vmlinux"
cp "$OUT/guest.cpio.gz" "$D/boot/guest.cpio.gz"
# The broker serves as its own user, the engine as another (scripts/users.sh).
printf 'root:x:0:0:root:/:/bin/sh\nxs-broker:x:101:101::/nonexistent:/bin/false\nxs-engine:x:102:102::/nonexistent:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$D/etc/passwd"
printf 'root:x:0:\nxs-broker:x:101:\nxs-engine:x:102:\nnogroup:x:65534:\n' >"$D/etc/group"
cp "$HERE/xl.conf" "$D/etc/xen/xl.conf"
for g in guest1 guest2; do
	sed "s/@NAME@/$g/" "$HERE/guest.cfg" >"$D/etc/xen/$g.cfg"
done
install -m 755 "$HERE/dom0-init.sh" "$D/init"
install -m 755 "$HERE/dom0-steps.sh" "$D/xt/steps.sh"
mkcpio "$D" "$OUT/dom0.cpio.gz"

cp "/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
gzip -dc /boot/xen-4.17-amd64.gz >"$OUT/xen.tmp"
mv "$OUT/xen.tmp" "$OUT/xen"
rm -rf "$D" "$G"
