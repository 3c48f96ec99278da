# SPDX-License-Identifier: GPL-2.0-only
"""XSA-415: a write in a transaction that failed after its missing
parents were made (its leaf too large) was not undone in the
transaction, and committing anyway left nodes whose parents did not
exist. Checked: whatever the commit answers, every node of the failed
write that exists is listed by its parent, the leaf does not exist, the
store's own check passes and the guest's node quota is intact."""

from xsa_common import (X, capacity, dom0, host, kind, sim,  # noqa: F401
                        start, survived, z)

ENTRIES = 30
HOME = "/local/domain/5"
PARTS = ["big", "a", "b", "c", "leaf"]


def no_orphans(c):
    path = HOME
    for i, p in enumerate(PARTS):
        child = path + "/" + p
        if c.request(X.READ, z(child)).type != X.READ:
            # Nothing below a missing node either.
            for j in range(i + 1, len(PARTS)):
                deeper = "/".join([HOME] + PARTS[:j + 1])
                assert c.request(X.READ, z(deeper)).type == X.ERROR, deeper
            return
        assert p in c.directory(path), child
        assert p != "leaf", child
        path = child


def test_xsa415_failed_write_in_transaction_leaves_no_orphans(sim, kind):
    d = start(sim, kind, "-E", str(ENTRIES))
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    g = sim.introduce(d, 5)
    before = capacity(g, ENTRIES)
    assert before > len(PARTS)
    for _ in range(3):
        m = g.request(X.TRANSACTION_START, b"\0")
        assert not m.is_error, m
        tid = int(m.payload.rstrip(b"\0"))
        g.write("ok", "1", tx_id=tid)
        m = g.request(X.WRITE, z("/".join(PARTS)) + b"x" * 3000, tx_id=tid)
        assert m.is_error, m
        g.request(X.TRANSACTION_END, b"T\0", tx_id=tid)
        with dom0(d) as c:
            no_orphans(c)
            c.ok(X.CONTROL, z("check"))
        for top in ("big", "ok"):
            if g.request(X.READ, z(top)).type == X.READ:
                g.rm(top)
        assert capacity(g, ENTRIES) == before
    survived(d, ("/xsa/keep", b"k"))
    g.close()
