#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Builds the simulated hypervisor into OUTDIR (default build/xensim):
#   libxensim.so   the LD_PRELOAD stand-in for the Xen libraries
#   libxsguest.so  the guest simulator (used by xensim.py through ctypes)
#   xensim         the control tool
# CC and CFLAGS come from the environment.  Sanitizer flags are dropped
# for the two shared libraries: they are loaded into programs that have no
# sanitizer runtime (Debian's xenstored, oxenstored, python3).
set -eu
OUT=${1:-build/xensim}
CC=${CC:-cc}
CFLAGS=${CFLAGS:--O2 -g}
HERE=$(cd "$(dirname "$0")" && pwd)
WARN="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter"
LIBFLAGS=$(printf '%s\n' $CFLAGS | grep -v -e '^-fsanitize' -e '^-fno-sanitize' | tr '\n' ' ')
mkdir -p "$OUT"
$CC $WARN $LIBFLAGS -fPIC -shared -o "$OUT/libxensim.so" \
	"$HERE/preload.c" "$HERE/core.c" -ldl
$CC $WARN $LIBFLAGS -fPIC -shared -o "$OUT/libxsguest.so" \
	"$HERE/guest.c" "$HERE/core.c"
$CC $WARN $CFLAGS -o "$OUT/xensim" "$HERE/ctl.c" "$HERE/core.c"
