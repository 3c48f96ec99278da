# SPDX-License-Identifier: GPL-2.0-only
"""XSA-272: oxenstored did not charge nodes a guest created by WRITE to its
node quota, so a guest could fill the store without limit. With a quota of
20 nodes a guest writing new nodes, one at a time, several parents at
once or in a transaction, is refused before it owns more than 20, and may
create again once it removed some."""

from xsa_common import (X, dom0, host, kind, sim, start,  # noqa: F401
                        survived)

QUOTA = 20


def owned(c, top):
    """Number of nodes at and below top."""
    n, todo = 0, [top]
    while todo:
        p = todo.pop()
        n += 1
        todo.extend(p + "/" + k for k in c.directory(p))
    return n


def test_xsa272_writes_are_charged_to_the_node_quota(sim, kind):
    d = start(sim, kind, "-E", str(QUOTA))
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    g = sim.introduce(d, 5)
    refused = 0
    for i in range(3 * QUOTA):
        path = "a%d" % i if i % 2 else "b%d/c/d" % i
        if g.request(X.WRITE, path.encode() + b"\0v").is_error:
            refused += 1
    assert refused, "no write refused"
    with dom0(d) as c:
        assert owned(c, "/local/domain/5") <= QUOTA
    # Nor does a transaction create more: refused as it goes, or at commit.
    for name in g.directory("/local/domain/5"):
        g.rm(name)
    tid = int(g.request(X.TRANSACTION_START, b"\0").strings[0])
    for i in range(2 * QUOTA):
        g.request(X.WRITE, b"t%d\0v" % i, tx_id=tid)
    g.request(X.TRANSACTION_END, b"T\0", tx_id=tid)
    with dom0(d) as c:
        assert owned(c, "/local/domain/5") <= QUOTA
    # Removing gives room again.
    for name in g.directory("/local/domain/5")[:2]:
        g.rm(name)
    g.write("again", "v")
    with dom0(d) as c:
        assert owned(c, "/local/domain/5") <= QUOTA
    survived(d, ("/xsa/keep", b"k"), ("/local/domain/5/again", b"v"))
    g.close()
