# SPDX-License-Identifier: GPL-2.0-only
"""XSA-72: a guest could make the daemon build a reply larger than the
4096-byte payload limit (a directory of many long names), which oxenstored
wrote into the ring and so broke it. The reply must be an error instead:
a guest listing a readable directory too big for one reply gets an error
of legal size, its ring stays in step, and dom0 still lists it."""

from xsa_common import (X, dom0, host, kind, sim, start,  # noqa: F401
                        survived)


def test_xsa072_oversized_reply_is_an_error(sim, kind):
    d = start(sim, kind)
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
        # The node size quota keeps a guest's own directories small; one
        # it may read is as good.
        names = ["n%02d-" % i + "x" * 100 for i in range(60)]
        for n in names:
            c.write("/xsa/big/" + n, "")
        c.set_perms("/xsa/big", ["n0", "r5"])
    g = sim.introduce(d, 5)
    m = g.request(X.DIRECTORY, b"/xsa/big\0")
    assert m.is_error, m
    assert len(m.payload) <= X.PAYLOAD_MAX, len(m.payload)
    # The ring is still in step: the next reply is the one asked for.
    g.write("after", "a")
    assert g.read("after") == b"a"
    with dom0(d) as c:
        m = c.request(X.DIRECTORY, b"/xsa/big\0")
        # dom0's socket has no ring to break; any answer but a crash
        # will do, and a listing must be complete.
        if m.type == X.DIRECTORY:
            assert sorted(m.strings) == sorted(names)
    survived(d, ("/xsa/keep", b"k"), ("/local/domain/5/after", b"a"))
    g.close()
