# SPDX-License-Identifier: GPL-2.0-only
"""XSA-484: RESET_WATCHES sent inside a transaction, which ends all of the
connection's transactions, left C xenstored's bookkeeping of them
inconsistent and tripped an assertion. Here a guest with every transaction
it may open sends it inside one of them: the daemon lives, and afterwards
the guest has no transaction and no watch left, and may open as many
transactions as before. A guest dropped for a bad request sent inside a
transaction leaves the daemon running too."""

import time

from xsa_common import (DEADLINE, X, dom0, host, kind, sim,  # noqa: F401
                        start, survived, z)

MAX_TX = 3


def tx_start(g):
    m = g.request(X.TRANSACTION_START, b"\0")
    return None if m.is_error else int(m.strings[0])


def open_all(g):
    """Opens transactions until the daemon refuses one."""
    tids = []
    for _ in range(4 * MAX_TX):
        t = tx_start(g)
        if t is None:
            return tids
        tids.append(t)
    raise AssertionError("no limit on transactions")


def test_xsa484_reset_watches_inside_a_transaction(sim, kind):
    d = start(sim, kind, "-t", str(MAX_TX))
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    other = sim.introduce(d, 6)
    other.write("mine", "m")
    g = sim.introduce(d, 5)
    g.write("data", "0")
    g.watch("data", "tok")
    assert g.wait_watch() == ["data", "tok"]
    most = None
    for _ in range(3):
        tids = open_all(g)
        # As many each time: none of the ended ones still counts.
        assert most is None or len(tids) == most
        most = len(tids)
        g.write("intx", "1", tx_id=tids[1])
        g.request(X.RESET_WATCHES, b"", tx_id=tids[0])
        # Every transaction is gone, its changes with it.
        for t in tids:
            m = g.request(X.TRANSACTION_END, b"T\0", tx_id=t)
            assert m.is_error and m.strings[0] == "ENOENT", (t, m)
        assert g.request(X.READ, b"intx\0").strings[0] == "ENOENT"
        # And so is the watch.
        g.write("data", "1")
        assert g.read("data") == b"1"
        assert not g.watch_events
        g.watch("data", "tok")
        assert g.wait_watch() == ["data", "tok"]
    # The other way there: a connection dropped for a bad request sent
    # inside a transaction, with others open.
    bad = sim.introduce(d, 7)
    tids = open_all(bad)
    bad.write("intx", "1", tx_id=tids[-1])
    bad.send(X.WRITE, b"intx\0y", tx_id=tids[-1], length=X.PAYLOAD_MAX + 1)
    deadline = time.monotonic() + DEADLINE
    while bad.error == 0:
        assert time.monotonic() < deadline, "dom7 not marked"
        bad.wait_event(0.05)
    bad.close()
    survived(d, ("/xsa/keep", b"k"), ("/local/domain/6/mine", b"m"),
             ("/local/domain/5/data", b"1"))
    with dom0(d) as c:
        assert c.err(X.READ, z("/local/domain/7/intx")) == "ENOENT"
    g.close()
    other.close()
