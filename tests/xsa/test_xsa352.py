# SPDX-License-Identifier: GPL-2.0-only
"""XSA-352: oxenstored let a guest make another domain the owner of its
nodes, handing its quota usage to that domain (or to dom0, which has
none). Checked: a guest's SET_PERMS that names another owner, dom0 or a
second guest, is refused and the node keeps its owner, and the second
guest's node quota is untouched."""

from xsa_common import (X, dom0, host, kind, sim, start,  # noqa: F401
                        survived, z)


def node_room(g, prefix):
    """How many nodes the guest can still create (then removed)."""
    n = 0
    while n < 2000:
        m = g.request(X.WRITE, z("%s/%d" % (prefix, n)) + b"v")
        if m.is_error:
            break
        n += 1
    g.rm(prefix)
    return n


def test_xsa352_guest_cannot_give_nodes_away(sim, kind):
    d = start(sim, kind)
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    bad = sim.introduce(d, 5)
    other = sim.introduce(d, 6)
    room = node_room(other, "probe")
    for i in range(20):
        bad.write("give/%d" % i, "x")
    for owner in (b"n6", b"n0", b"b6"):
        m = bad.request(X.SET_PERMS, z("give") + owner + b"\0")
        assert m.is_error, (owner, m)
        m = bad.request(X.SET_PERMS, z("give/0") + owner + b"\0r5\0")
        assert m.is_error, (owner, m)
    with dom0(d) as c:
        assert c.get_perms("/local/domain/5/give")[0] == "n5"
        assert c.get_perms("/local/domain/5/give/0")[0] == "n5"
    # Giving read access while keeping ownership is allowed.
    m = bad.request(X.SET_PERMS, z("give/1") + b"n5\0r6\0")
    assert not m.is_error, m
    assert other.read("/local/domain/5/give/1") == b"x"
    assert node_room(other, "probe") == room
    survived(d, ("/xsa/keep", b"k"), ("/local/domain/5/give/0", b"x"))
    bad.close()
    other.close()
