# SPDX-License-Identifier: GPL-2.0-only
"""XSA-330: RESET_WATCHES left oxenstored's watches behind in a second
index, so a guest that filled its watch quota, reset and filled it again
grew the daemon without bound. Checked: after each reset the guest's
whole watch quota is free again, and none of its old watches fires."""

from xsa_common import (X, dom0, host, kind, sim, start,  # noqa: F401
                        survived, z)

ROUNDS = 3
LIMIT = 1000  # far above the default watch quota (128)


def fill_watches(g, rnd):
    """Watches until the quota refuses one; returns how many it took."""
    for i in range(LIMIT):
        m = g.request(X.WATCH, z("/xsa/w%d/%d" % (rnd, i), "t%d" % rnd))
        if m.is_error:
            return i
    raise AssertionError("no watch quota")


def test_xsa330_reset_watches_frees_them(sim, kind):
    d = start(sim, kind)
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    g = sim.introduce(d, 5)
    with dom0(d) as c:
        c.mkdir("/xsa/mark")
        c.set_perms("/xsa/mark", ["n0", "r5"])
    counts = []
    for rnd in range(ROUNDS):
        counts.append(fill_watches(g, rnd))
        m = g.request(X.RESET_WATCHES, b"")
        assert not m.is_error, m
        g.watch_events.clear()
    assert counts[0] > 0 and counts == [counts[0]] * ROUNDS, counts
    # None of the reset watches fires: the first event the guest sees
    # after dom0 wrote under all of them is that of a watch set after.
    with dom0(d) as c:
        for rnd in range(ROUNDS):
            c.write("/xsa/w%d/0" % rnd, "x")
        g.watch("/xsa/mark", "after")
        assert g.wait_watch() == ["/xsa/mark", "after"]
        c.write("/xsa/mark", "m")
    assert g.wait_watch() == ["/xsa/mark", "after"]
    survived(d, ("/xsa/keep", b"k"), ("/xsa/mark", b"m"))
    g.close()
