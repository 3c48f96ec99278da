# SPDX-License-Identifier: GPL-2.0-only
"""XSA-419: nodes a guest created outside its home outlived it, owned by
dom0 (which has no quota), so a guest that wrote them, died and came back
with its id could fill the store without bound. Checked: the nodes a
guest owns outside its home go with it, each time it dies and comes back,
while dom0's node they hung under and another guest's nodes there stay."""

import time

from xsa_common import (DEADLINE, X, dom0, host, kind, sim,  # noqa: F401
                        start, survived, z)

ROUNDS = 3


def gone(c, path):
    """Polls until path is gone (the daemon learns of a death
    asynchronously); True if it went before the deadline."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if c.request(X.READ, z(path)).type == X.ERROR:
            return True
        c.request(X.READ, z("/xsa/keep"))
    return False


def test_xsa419_dead_guest_nodes_outside_home_go(sim, kind):
    d = start(sim, kind)
    other = sim.introduce(d, 6)
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
        c.mkdir("/xsa/pub")
        c.set_perms("/xsa/pub", ["n0", "b6"])
    other.write("/xsa/pub/six", "6")
    for rnd in range(ROUNDS):
        g = sim.introduce(d, 5)
        with dom0(d) as c:
            c.set_perms("/xsa/pub", ["n0", "b5", "b6"])
        for i in range(20):
            g.write("/xsa/pub/five/%d" % i, "x" * 100)
        g.close()
        sim.destroy(5)
        with dom0(d) as c:
            m = c.request(X.RELEASE, z("5"))
            assert m.type in (X.RELEASE, X.ERROR), m
            assert gone(c, "/xsa/pub/five"), rnd
            assert c.read("/xsa/pub/six") == b"6"
            assert c.directory("/xsa/pub") == ["six"]
    survived(d, ("/xsa/keep", b"k"), ("/xsa/pub/six", b"6"))
    other.close()
