# SPDX-License-Identifier: GPL-2.0-only
"""XSA-421: a node created and deleted again in one transaction made C
xenstored's commit stop half way, with the nodes written but not counted:
a guest could create as many nodes as it liked. Here a guest commits such
transactions, past its node quota: each commit is whole or nothing, the
guest never owns more nodes than its quota, and once it removes them it
may create exactly as many as before."""

from xsa_common import (X, capacity, dom0, host, kind, sim,  # noqa: F401
                        start, survived)

QUOTA = 20


def tx_start(g):
    m = g.request(X.TRANSACTION_START, b"\0")
    assert not m.is_error, m
    return int(m.strings[0])


def test_xsa421_node_created_and_deleted_in_a_transaction(sim, kind):
    d = start(sim, kind, "-E", str(QUOTA))
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    other = sim.introduce(d, 6)
    other.write("mine", "m")
    g = sim.introduce(d, 5)
    room = capacity(g, QUOTA)
    assert room > 2
    for i in range(2 * QUOTA):
        t = tx_start(g)
        results = [g.request(X.WRITE, b"t/new%d\0v" % i, tx_id=t),
                   g.request(X.WRITE, b"t/tmp/a\0v", tx_id=t),
                   g.request(X.RM, b"t/tmp\0", tx_id=t)]
        end = g.request(X.TRANSACTION_END, b"T\0", tx_id=t)
        with dom0(d) as c:
            names = c.directory("/local/domain/5/t")
        # Whole or nothing: new<i> is there if it was written and
        # committed, and the node created and deleted never is.
        assert "tmp" not in names, (i, names)
        done = not end.is_error and not results[0].is_error
        assert ("new%d" % i in names) == done, (i, results, end, names)
        assert len(names) <= room, (i, names)
    g.rm("t")
    assert capacity(g, QUOTA) == room
    survived(d, ("/xsa/keep", b"k"), ("/local/domain/6/mine", b"m"))
    g.close()
    other.close()
