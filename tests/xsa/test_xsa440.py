# SPDX-License-Identifier: GPL-2.0-only
"""XSA-440: nodes a transaction deletes that are also deleted outside it
made C xenstored's node count for the guest go negative at commit, which
an assertion caught: a crash. Here a guest deletes its nodes inside a
transaction while they are deleted outside it (by itself, or by dom0),
and commits: the daemon lives, the commit fails or succeeds as a whole,
and the guest's node count is right: it may create exactly as many nodes
as before."""

from xsa_common import (X, capacity, dom0, host, kind, sim,  # noqa: F401
                        start, survived)

QUOTA = 20


def test_xsa440_nodes_deleted_inside_and_outside_a_transaction(sim, kind):
    d = start(sim, kind, "-E", str(QUOTA))
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    other = sim.introduce(d, 6)
    other.write("mine", "m")
    g = sim.introduce(d, 5)
    room = capacity(g, QUOTA)
    assert room > 8
    for i in range(6):
        for k in range(6):
            g.write("q/n%d" % k, "v")
        m = g.request(X.TRANSACTION_START, b"\0")
        assert not m.is_error, m
        t = int(m.strings[0])
        g.request(X.READ, b"q/n0\0", tx_id=t)
        m = g.request(X.RM, b"q\0", tx_id=t)
        assert not m.is_error, m
        if i % 2:
            with dom0(d) as c:
                c.rm("/local/domain/5/q")
        else:
            g.rm("q")
        end = g.request(X.TRANSACTION_END, b"T\0", tx_id=t)
        assert not end.is_error or end.strings[0] == "EAGAIN", end
        assert g.request(X.READ, b"q\0").strings[0] == "ENOENT"
        assert capacity(g, QUOTA) == room, i
    survived(d, ("/xsa/keep", b"k"), ("/local/domain/6/mine", b"m"))
    g.close()
    other.close()
