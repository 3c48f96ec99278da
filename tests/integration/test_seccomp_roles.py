# SPDX-License-Identifier: GPL-2.0-only
"""Each role's seccomp filter, the real one, against the calls a subverted
process would make first.

tests/tools/seccomp_probe loads the broker's filter as xs-broker does (or
builds the engine's whole sandbox as xs-engine does) in a child, makes one
call, and prints what the role's report named and how the child ended.
A forbidden call must be named in the report and kill the process with
SIGSYS; the calls each role does make must go through.
"""
import os
import subprocess

import pytest

from conftest import REFERENCE, XS_BUILD

pytestmark = pytest.mark.skipif(
    REFERENCE or os.geteuid() != 0,
    reason="our filters; the engine's sandbox needs root to be built")

PROBE = os.path.join(XS_BUILD, "tests", "seccomp_probe")
# The sanitizer build's broker also allows what LeakSanitizer's check at
# exit needs (policy/broker-sanitizer.seccomp); release builds do not.
SANITIZER_ALLOWS = ("open", "ptrace") if "build-san" in XS_BUILD else ()

# The call each class makes, as the report names it.
FORBIDDEN = {
    "exec": "execve",
    "open": "openat",
    "socket": "socket",
    "ptrace": "ptrace",
    "mount": "mount",
    "ioctl": "ioctl",
    "kill": "kill",
    # Any hypercall dom0 may make: domain information is the spawner's.
    "hypercall": "ioctl",
}


def probe(role, call):
    r = subprocess.run([PROBE, role, call], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    out = dict(line.split(": ", 1) for line in r.stdout.splitlines())
    return out["report"], out["end"]


@pytest.mark.parametrize("role", ["broker", "engine"])
@pytest.mark.parametrize("call", sorted(FORBIDDEN))
def test_forbidden_call_is_reported_and_fatal(role, call):
    if role == "broker" and call in SANITIZER_ALLOWS:
        pytest.skip("LeakSanitizer's call, allowed in this build only")
    report, end = probe(role, call)
    assert (report, end) == (FORBIDDEN[call], "signal SYS")


@pytest.mark.parametrize("role", ["broker", "engine"])
def test_a_call_the_role_makes_goes_through(role):
    assert probe(role, "allowed") == ("-", "exit 0")


def test_broker_makes_event_channel_requests():
    # Allowed by request number: the fd is no event channel, so the kernel
    # answers ENOTTY and the probe exits normally.
    assert probe("broker", "xen-ioctl") == ("-", "exit 0")


def test_engine_makes_no_ioctl_at_all():
    assert probe("engine", "xen-ioctl") == ("ioctl", "signal SYS")


def test_broker_syslog_reconnect_is_refused_not_fatal():
    # glibc's syslog() opens a new socket when /dev/log went away: the
    # broker must lose that line, not its life.
    assert probe("broker", "unix-socket") == ("-", "exit 13")
