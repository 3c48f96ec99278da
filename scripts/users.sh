#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Creates the system users split-xenstored runs as, if they are missing:
# xs-broker (the broker once it serves) and xs-engine (the engine). Two
# users, so that a subverted engine can neither signal nor trace the broker.
set -eu

for u in xs-broker xs-engine; do
	getent passwd "$u" >/dev/null && continue
	if [ "$(id -u)" != 0 ]; then
		SUDO=sudo
	else
		SUDO=
	fi
	echo "users: creating system user $u"
	$SUDO useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$u"
done
