# SPDX-License-Identifier: GPL-2.0-only
"""XSA-326: a guest could make xenstored use unbounded memory in many ways;
the fix bounds each. Checked here, three bounds of C xenstored's fix: a
guest that sends requests but never takes its replies has at most its
outstanding quota executed and queued (and gets them all once it reads),
a transaction may touch at most its node quota, and the memory quota
bounds what a guest's nodes and watches hold. Beyond C xenstored, whose
transactions copy what they touch: our transactions start from a
snapshot, and what a guest's open transactions keep of the nodes others
replace since counts against its memory quota, past which they end with
EAGAIN."""

import pytest

from xsa_common import (X, dom0, host, kind, sim, start,  # noqa: F401
                        survived)

OUTSTANDING = 5
TX_NODES = 10
MEMORY = 50000


def test_xsa326_replies_not_taken_stop_the_guest(sim, kind):
    d = start(sim, kind, "-Q", "outstanding=%d" % OUTSTANDING)
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    g = sim.introduce(d, 5)
    big = b"B" * 900
    g.write("big", big)
    g.mkdir("w")
    # One reply that fills the response ring, then as many WRITEs as the
    # request ring takes; the guest reads nothing.
    msgs = [X.HDR.pack(X.READ, 1000, 0, 4) + b"big\0"]
    for i in range(1, 200):
        p = b"w/n%d\0v" % i
        msgs.append(X.HDR.pack(X.WRITE, 1000 + i, 0, len(p)) + p)
    sent = 0
    for m in msgs:
        if g.req_space() < len(m):
            break
        assert g.put(m) == len(m)
        g.notify()
        sent += 1
    assert sent > OUTSTANDING + 10, sent
    other = sim.introduce(d, 6)
    with dom0(d) as c:
        # Others are served meanwhile; round trips also give the daemon
        # every chance to go on reading the greedy ring.
        for i in range(30):
            c.write("/xsa/busy%d" % i, "v")
            other.write("n%d" % i, "v")
        done = len(c.directory("/local/domain/5/w"))
        # The quota, plus the replies the ring took: the big one and six
        # OK of 19 bytes in the 124 bytes left.
        assert done <= OUTSTANDING + 7, done
    for i in range(sent):
        m = g.recv()
        assert m.req_id == 1000 + i, (i, m)
    with dom0(d) as c:
        assert len(c.directory("/local/domain/5/w")) == sent - 1
    survived(d, ("/xsa/keep", b"k"), ("/local/domain/6/n29", b"v"))
    other.close()
    g.close()


def test_xsa326_transaction_node_quota(sim, kind):
    d = start(sim, kind, "-Q", "transaction-nodes=%d" % TX_NODES)
    g = sim.introduce(d, 5)
    tid = int(g.request(X.TRANSACTION_START, b"\0").strings[0])
    refused = None
    for i in range(3 * TX_NODES):
        m = g.request(X.WRITE, b"t/n%d\0v" % i, tx_id=tid)
        if m.is_error:
            refused = i
            break
    assert refused is not None and refused <= TX_NODES, refused
    g.request(X.TRANSACTION_END, b"F\0", tx_id=tid)
    g.write("after", "a")
    survived(d, ("/local/domain/5/after", b"a"))
    g.close()


def refused_after(g, make, limit):
    """How many requests make(i) succeed before one is refused."""
    for i in range(limit):
        if g.request(*make(i)).is_error:
            return i
    return None


def test_xsa326_memory_quota_bounds_nodes_and_watches(sim, kind):
    d = start(sim, kind, "-Q", "memory=%d" % MEMORY)
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    g = sim.introduce(d, 5)
    n = refused_after(g, lambda i: (X.WRITE, b"n%d\0" % i + b"v" * 1000),
                      4 * MEMORY // 1000)
    assert n is not None and n <= MEMORY // 1000, n
    for i in range(n):
        g.rm("n%d" % i)
    w = refused_after(g, lambda i: (X.WATCH, b"w%d\0" % i + b"T" * 2000 +
                                    b"\0"), 4 * MEMORY // 2000)
    assert w is not None and w <= MEMORY // 2000, w
    g.write("after", "a")
    survived(d, ("/xsa/keep", b"k"), ("/local/domain/5/after", b"a"))
    g.close()


def kept_bytes(d):
    """What our engine's snapshots alone keep (CONTROL memreport)."""
    with dom0(d) as c:
        m = c.request(X.CONTROL, b"memreport\0")
    for line in m.payload.rstrip(b"\0").decode().splitlines():
        k, _, v = line.rpartition(" ")
        if k == "retired node bytes":
            return int(v)
    raise AssertionError(m)


def test_xsa326_open_transactions_pay_for_what_they_keep(sim, kind):
    nodes, size = 400, 4000  # 1.6 MB of dom0's, to be replaced
    d = start(sim, kind, "-Q", "memory=%d" % MEMORY)
    value = b"v" * size
    with dom0(d) as c:
        for i in range(nodes):
            c.ok(X.WRITE, b"/xsa/big/n%d\0" % i + value)
    g = sim.introduce(d, 5)
    tids = []
    while True:
        m = g.request(X.TRANSACTION_START, b"\0")
        if m.is_error:
            break
        tids.append(int(m.strings[0]))
        g.request(X.READ, b"/local/domain/5\0", tx_id=tids[-1])
    assert len(tids) >= 10, tids
    with dom0(d) as c:
        # dom0 replaces all it wrote, twice over; every write succeeds.
        for i in range(2 * nodes):
            c.ok(X.WRITE, b"/xsa/big/n%d\0" % (i % nodes) + value[1:])
            if kind == "ours" and i % 50 == 0:
                assert kept_bytes(d) <= MEMORY, i
        c.ok(X.RM, b"/xsa/big\0")
    if kind == "ours":
        assert kept_bytes(d) == 0
        for tid in tids:
            m = g.request(X.READ, b"/local/domain/5\0", tx_id=tid)
            assert m.is_error and m.strings[0] == "EAGAIN", m
            m = g.request(X.TRANSACTION_END, b"T\0", tx_id=tid)
            assert m.is_error and m.strings[0] == "EAGAIN", m
    else:
        for tid in tids:
            g.request(X.TRANSACTION_END, b"F\0", tx_id=tid)
    # Its transactions are over: it may start new ones.
    tid = int(g.request(X.TRANSACTION_START, b"\0").strings[0])
    g.write("after", "a", tx_id=tid)
    assert not g.request(X.TRANSACTION_END, b"T\0", tx_id=tid).is_error
    survived(d, ("/local/domain/5/after", b"a"))
    g.close()


def test_xsa326_transaction_reads_count_against_memory(sim, kind):
    """A transaction notes each path it read, absent ones too, to check
    them at commit: those notes count against the memory quota with its
    changes, or ten transactions of a thousand 2 KB paths each would hold
    20 MB for one guest."""
    if kind == "c":
        pytest.skip("C xenstored keeps nothing of a read of an absent node")
    d = start(sim, kind, "-Q", "memory=%d" % MEMORY)
    g = sim.introduce(d, 5)
    tid = int(g.request(X.TRANSACTION_START, b"\0").strings[0])
    long_name = b"x" * 1900
    refused = None
    for i in range(4 * MEMORY // 1900):
        m = g.request(X.READ, b"r%d/%s\0" % (i, long_name), tx_id=tid)
        assert m.is_error, m
        if m.strings[0] != "ENOENT":
            refused = (i, m.strings[0])
            break
    assert refused is not None and refused[0] <= MEMORY // 1900, refused
    g.request(X.TRANSACTION_END, b"F\0", tx_id=tid)
    g.write("after", "a")
    survived(d, ("/local/domain/5/after", b"a"))
    g.close()


def domains_known(d):
    with dom0(d) as c:
        m = c.request(X.CONTROL, b"memreport\0")
    for line in m.payload.rstrip(b"\0").decode().splitlines():
        k, _, v = line.rpartition(" ")
        if k == "domains":
            return int(v)
    raise AssertionError(m)


def test_xsa326_entries_for_absent_domains_leave_no_records(sim, kind):
    """Permission entries a guest writes may name any domain id; only
    domains that exist get a record of the store's, so naming thousands of
    ids across its nodes costs the guest its node quota, and the store
    nothing more."""
    if kind == "c":
        pytest.skip("our engine's count of the domains it knows")
    d = start(sim, kind)
    g = sim.introduce(d, 5)
    before = domains_known(d)
    for i in range(200):
        g.write("p%d" % i, "")
        perms = b"".join(b"r%d\0" % (1000 + 5 * i + j) for j in range(5))
        m = g.request(X.SET_PERMS, b"p%d\0n5\0" % i + perms)
        assert not m.is_error, m
    assert domains_known(d) == before
    survived(d)
    g.close()
