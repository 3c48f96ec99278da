# SPDX-License-Identifier: GPL-2.0-only
"""XSA-414: when creating a node failed after its missing parents were
made (quota, size), C xenstored undid them through a dangling pointer and
could crash. Checked: a guest's writes that need many new parents but
fail on its node quota, or on the size of the leaf, leave no parent
behind and do not change what the guest may still create."""

from xsa_common import (X, capacity, dom0, host, kind, sim,  # noqa: F401
                        start, survived, z)

ENTRIES = 30
DEPTH = 40  # new nodes in one write, beyond the node quota


def test_xsa414_failed_creation_leaves_nothing(sim, kind):
    d = start(sim, kind, "-E", str(ENTRIES))
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    g = sim.introduce(d, 5)
    other = sim.introduce(d, 6)
    other.write("mine", "m")
    before = capacity(g, ENTRIES)
    assert 0 < before < DEPTH
    deep = "/".join("d%d" % i for i in range(DEPTH))
    for _ in range(3):
        m = g.request(X.WRITE, z(deep) + b"v")
        assert m.is_error, m
        # A leaf larger than a node may be, under new parents.
        m = g.request(X.WRITE, z("big/a/b/c") + b"x" * 3000)
        assert m.is_error, m
        for top in ("d0", "big"):
            m = g.request(X.READ, z(top))
            assert m.is_error and m.strings[0] == "ENOENT", (top, m)
        assert capacity(g, ENTRIES) == before
    assert other.read("mine") == b"m"
    survived(d, ("/xsa/keep", b"k"), ("/local/domain/6/mine", b"m"))
    g.close()
    other.close()
