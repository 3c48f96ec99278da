# SPDX-License-Identifier: GPL-2.0-only
"""What every advisory's test needs: a simulated host, the daemon under test
(ours, or Debian's C xenstored 4.17 as a check of the test itself), dom0 on
the socket, guests on their rings, and the checks that follow every attack.

Each test module imports the fixtures it uses from here; ``daemon`` is
parametrized over ``ours`` and ``c``. A test that C xenstored 4.17 (patched
for every advisory named here) fails tests the wrong thing.
"""

import os
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "tests", "xensim"))

import xensim as X  # noqa: E402,F401
import xsraw  # noqa: E402,F401
from xsraw import z  # noqa: E402,F401

XS_BUILD = os.path.abspath(os.environ.get("XS_BUILD",
                                          os.path.join(REPO, "build")))
BROKER = os.path.join(XS_BUILD, "bin", "xs-broker")
DEADLINE = 60.0


@pytest.fixture(scope="module")
def host():
    s = X.Sim(build=os.path.join(XS_BUILD, "xensim"))
    yield s
    s.close()


@pytest.fixture
def sim(host):
    yield host
    host.reset()


def start(sim, kind, *args):
    """The daemon of this kind, with the given options (C xenstored's
    option names: ours takes them too)."""
    if kind == "ours":
        return sim.start_daemon([BROKER, "-N"] + list(args),
                                timeout=DEADLINE)
    if not os.path.exists(X.XENSTORED):
        pytest.skip("no C xenstored")
    return sim.start_xenstored(list(args), timeout=DEADLINE)


# XS_XSA_KINDS=ours leaves C xenstored out: the sanitizer pass checks our
# daemon, and the test itself was checked against C xenstored already.
KINDS = os.environ.get("XS_XSA_KINDS", "ours,c").split(",")


@pytest.fixture(params=KINDS)
def kind(request):
    return request.param


def dom0(d):
    return xsraw.XsRaw(d.socket, DEADLINE)


def survived(d, *intact):
    """The daemon runs and answers, and each (path, value) written before
    the attack is still there."""
    assert d.alive(), d.stderr()[-3000:]
    with dom0(d) as c:
        c.write("/xsa/alive", "yes")
        assert c.read("/xsa/alive") == b"yes"
        for path, value in intact:
            assert c.read(path) == value, path


def wait_released(d, domid):
    """Until the daemon no longer counts domid as introduced."""
    with dom0(d) as c:
        deadline = time.monotonic() + DEADLINE
        while c.request(X.IS_DOMAIN_INTRODUCED,
                        z(str(domid))).payload != b"F\0":
            assert time.monotonic() < deadline, "dom%d introduced" % domid
            time.sleep(0.01)


def capacity(g, limit):
    """How many nodes the guest can still create, found by creating them
    (and removing them again); more than 4 * limit means no quota."""
    n = 0
    while True:
        m = g.request(X.WRITE, b"cap/%d\0x" % n)
        if m.is_error:
            assert m.strings[0] in ("EQUOTA", "ENOSPC"), m
            break
        n += 1
        assert n <= 4 * limit, "no node quota"
    if n:
        g.rm("cap")
    return n
