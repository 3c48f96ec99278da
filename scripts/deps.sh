#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Installs the Debian 12 packages the build, the daemon and the tests need.
# Only what is missing is installed, so repeated runs are quick and quiet.
set -eu

PKGS="make gcc clang-14 libclang-rt-14-dev clang-format pkg-config \
 libxen-dev libseccomp-dev libcap-ng-dev libprotobuf-c-dev protobuf-c-compiler \
 libcmocka-dev libyajl-dev nettle-dev libzstd-dev python3 python3-pytest python3-pyxs xenstore-utils xen-utils-4.17 \
 xen-doc procps gnuplot-nox protobuf-compiler python3-protobuf mandoc \
 libsystemd-dev debhelper lintian devscripts blhc logrotate"
# make xen-test boots Debian's Xen under QEMU: "deps.sh xen" adds what it
# needs, which nothing else does.
if [ "${1:-}" = xen ]; then
	PKGS="$PKGS qemu-system-x86 xen-hypervisor-4.17-amd64 linux-image-amd64 \
 busybox-static cpio"
fi

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# xen-utils-4.17 complains that it finds no hypervisor; the install still succeeds.
$SUDO apt-get install -y -qq --no-install-recommends $missing
