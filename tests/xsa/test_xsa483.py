# SPDX-License-Identifier: GPL-2.0-only
"""XSA-483: oxenstored kept a destroyed domain's node count, so a new
domain given the same domid started with its predecessor's nodes counted
against its quota. Here a guest fills its node quota, is destroyed (released
by the toolstack, or dying) and its home removed, and a new domain
with the same domid is introduced, a few times over: each may
create exactly as many nodes as the first."""

import time

from xsa_common import (DEADLINE, X, dom0, host, kind, sim,  # noqa: F401
                        start, survived, z)

QUOTA = 20
DOMID = 7


def fill(g):
    """Creates nodes until the quota refuses one; returns how many."""
    n = 0
    while True:
        m = g.request(X.WRITE, b"fill/%d\0x" % n)
        if m.is_error:
            assert m.strings[0] in ("EQUOTA", "ENOSPC"), m
            return n
        n += 1
        assert n <= 4 * QUOTA, "no node quota"


def wait_released(d):
    deadline = time.monotonic() + DEADLINE
    with dom0(d) as c:
        while c.request(X.IS_DOMAIN_INTRODUCED,
                        z(str(DOMID))).payload != b"F\0":
            assert time.monotonic() < deadline, "dom%d not released" % DOMID
            time.sleep(0.02)


def test_xsa483_domid_reuse_starts_with_no_nodes_counted(sim, kind):
    d = start(sim, kind, "-E", str(QUOTA))
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    other = sim.introduce(d, 6)
    other.write("mine", "m")
    first = None
    for i in range(4):
        g = sim.introduce(d, DOMID)
        room = fill(g)
        assert first is None or room == first, (i, room, first)
        first = room
        g.close()
        if i % 2:
            # The domain dies: the daemon learns it from the hypervisor.
            sim.destroy(DOMID)
            wait_released(d)
            with dom0(d) as c:
                c.rm("/local/domain/%d" % DOMID)
        else:
            with dom0(d) as c:
                c.ok(X.RELEASE, z(str(DOMID)))
                c.rm("/local/domain/%d" % DOMID)
            sim.destroy(DOMID)
    assert first > 2
    survived(d, ("/xsa/keep", b"k"), ("/local/domain/6/mine", b"m"))
    other.close()
