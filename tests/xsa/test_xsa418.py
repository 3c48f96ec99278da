# SPDX-License-Identifier: GPL-2.0-only
"""XSA-418: C xenstored walked the tree recursively when it removed a
subtree, checked the store or removed a dead domain's nodes, so a guest
that made a deep enough tree exhausted its stack. Checked: a guest builds
a chain of 900 nodes (within its path length and node quotas), removes
it, builds it again and dies; the daemon walks each, survives, and
dom0's and another guest's nodes stay."""

from xsa_common import (X, dom0, host, kind, sim, start,  # noqa: F401
                        survived, z)

DEPTH = 900


def test_xsa418_deep_tree_walks(sim, kind):
    d = start(sim, kind)
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    g = sim.introduce(d, 5)
    other = sim.introduce(d, 6)
    other.write("mine", "m")
    deep = "/".join(["a"] * DEPTH)
    g.write(deep, "bottom")
    assert g.read(deep) == b"bottom"
    with dom0(d) as c:
        c.ok(X.CONTROL, z("check"))
    g.rm("a")
    m = g.request(X.READ, z("a"))
    assert m.is_error and m.strings[0] == "ENOENT", m
    g.write(deep, "again")
    g.close()
    # The domain dies with its chain: the daemon removes it.
    sim.destroy(5)
    with dom0(d) as c:
        m = c.request(X.RELEASE, z("5"))
        assert m.type in (X.RELEASE, X.ERROR), m
        assert c.err(X.READ, z("/local/domain/5/a")) == "ENOENT"
        c.ok(X.CONTROL, z("check"))
    assert other.read("mine") == b"m"
    survived(d, ("/xsa/keep", b"k"), ("/local/domain/6/mine", b"m"))
    other.close()
