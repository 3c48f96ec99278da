# SPDX-License-Identifier: GPL-2.0-only
"""socket_ro's clients are untrusted: each connection has the quotas of a
guest for what it can make the engine hold (watches, open transactions,
the memory of both, what its open transactions keep of replaced nodes),
while dom0 and the guests are served as before. C xenstored 4.17 treats
them as dom0, without a bound."""

import os
import signal

from test_guests import (SET_QUOTA, _engines, _host, dom0, gerr,  # noqa: F401
                         gok, memreport, ours, sim)
from conftest import wait_until
import xensim as X
import xsraw
from xsraw import z

MEMORY = 50000


def ro(d):
    return xsraw.XsRaw(os.path.join(d.rundir, "socket_ro"), 30.0)


def refused_after(c, make, limit, served_err=()):
    """How many requests make(i) are served (answered or refused with one
    of served_err) before one is refused, and the error of the refusal."""
    for i in range(limit):
        m = c.request(*make(i))
        err = m.payload.rstrip(b"\0").decode()
        if m.type == xsraw.ERROR and err not in served_err:
            return i, err
    return None, None


def served(d, g):
    """dom0 and the guest g are served."""
    with dom0(d) as c:
        c.write("/ro-bounds/alive", "yes")
        assert c.read("/ro-bounds/alive") == b"yes"
    g.write("alive", "yes")
    assert g.read("alive") == b"yes"


def test_ro_watch_quota_per_connection(sim):
    d = ours(sim, "-W", "4")
    g = sim.introduce(d, 5)
    with ro(d) as r, ro(d) as r2:
        # As a guest's: the quota plus one go through.
        n, err = refused_after(r, lambda i: (xsraw.WATCH, z("/w%d" % i, "t")),
                               100)
        assert (n, err) == (5, "E2BIG")
        r.unwatch("/w0", "t")
        r.watch("/w9", "t")
        # Another connection counts its own; dom0 and guests theirs.
        for i in range(5):
            r2.watch("/w%d" % i, "t")
        with dom0(d) as c:
            for i in range(20):
                c.watch("/w%d" % i, "t")
        for i in range(5):
            g.watch("w%d" % i, "t")
        served(d, g)
    g.close()


def test_ro_transaction_quota(sim):
    d = ours(sim, "-t", "3")
    g = sim.introduce(d, 5)
    with ro(d) as r:
        n, err = refused_after(r, lambda i: (xsraw.TRANSACTION_START, b"\0"),
                               100)
        assert (n, err) == (4, "ENOSPC")
        with dom0(d) as c:
            ts = [c.tx_start() for _ in range(12)]
            for t in ts:
                assert c.tx_end(t, commit=False) is None
        gok(g, X.TRANSACTION_START, b"\0")
        served(d, g)
    g.close()


def test_ro_memory_quota_bounds_watches_and_read_notes(sim):
    d = ours(sim, "-Q", "memory=%d" % MEMORY)
    g = sim.introduce(d, 5)
    before = memreport(d)["memory in use"]
    with ro(d) as r:
        n, err = refused_after(
            r, lambda i: (xsraw.WATCH, z("/w%d" % i, "T" * 2000)), 1000)
        assert n is not None and n <= MEMORY // 2000, n
        assert err == "ENOMEM"
        # Its watches used its budget: a transaction's read notes, each
        # kept to be checked at commit, share it.
        r.unwatch("/w0", "T" * 2000)
        tid = r.tx_start()
        n, err = refused_after(
            r, lambda i: (xsraw.READ, z("/r%d/%s" % (i, "x" * 1900)), tid),
            1000, ("ENOENT",))
        assert n is not None and n <= 2, n
        assert err == "ENOMEM"
        grown = memreport(d)["memory in use"] - before
        assert grown < 4 * MEMORY, grown
        served(d, g)
    g.close()


def test_ro_open_transactions_pay_for_what_they_keep(sim):
    """A read-only client's open transaction pins what dom0 replaces since
    it began: past its memory quota it ends with EAGAIN, as a guest's."""
    nodes, size = 100, 4000
    d = ours(sim, "-Q", "memory=%d" % MEMORY)
    g = sim.introduce(d, 5)
    value = b"v" * size
    with dom0(d) as c:
        for i in range(nodes):
            c.ok(xsraw.WRITE, b"/ro-bounds/big/n%d\0" % i + value)
    with ro(d) as r:
        tid = r.tx_start()
        assert r.read("/ro-bounds/big/n0", tx_id=tid) == value
        with dom0(d) as c:
            for i in range(2 * nodes):
                c.ok(xsraw.WRITE, b"/ro-bounds/big/n%d\0" % (i % nodes) +
                     value[1:])
                if i % 20 == 0:
                    kept = memreport(d)["retired node bytes"]
                    assert kept <= MEMORY, (i, kept)
        assert r.err(xsraw.READ, z("/ro-bounds/big/n0"), tx_id=tid) == "EAGAIN"
        assert r.err(xsraw.TRANSACTION_END, z("T"), tx_id=tid) == "EAGAIN"
        # Its transaction is over: it may start another.
        tid = r.tx_start()
        assert r.read("/ro-bounds/big/n0", tx_id=tid) == value[1:]
        assert r.tx_end(tid) is None
        served(d, g)
    g.close()


READONLY_CONN_MAX = 128  # broker/listen.c


def test_ro_connections_bounded(sim):
    """Each socket_ro connection may hold its quotas' worth: the broker
    serves so many at once, and closes the next ones at accept while dom0,
    the guests and the clients it serves go on."""
    d = ours(sim)
    g = sim.introduce(d, 5)
    clients = []
    try:
        for i in range(READONLY_CONN_MAX):
            clients.append(ro(d))
            clients[-1].watch("/ro-bounds/w", "t")
        extra = ro(d)
        assert extra.expect_closed() == []
        extra.close()
        served(d, g)
        assert clients[-1].read("/ro-bounds/alive") == b"yes"
        # One leaves: another may come, once the broker saw it leave.
        clients.pop(0).close()

        def admitted():
            c = ro(d)
            try:
                assert c.read("/ro-bounds/alive") == b"yes"
                return c
            except (xsraw.Closed, ConnectionResetError, BrokenPipeError):
                c.close()
                return None
        clients.append(wait_until(admitted, what="a new socket_ro client"))
    finally:
        for c in clients:
            c.close()
    g.close()


def test_ro_watches_kept_over_a_lower_quota_and_a_restart(sim):
    """Watches admitted under the quotas of their time are the store's
    state: a new engine restores them all, even past a quota lowered
    since, and refuses only new ones."""
    d = ours(sim)
    g = sim.introduce(d, 5)
    with ro(d) as r:
        for i in range(10):
            r.watch("/ro-bounds/w%d" % i, "t")
        g.watch("w", "t")
        g.watch("v", "t")
        g.watch("u", "t")
        with dom0(d) as c:
            c.ok(SET_QUOTA, b"watches\0" b"1\0")
            # Enough journal that a snapshot, quotas first, replaces it.
            for i in range(400):
                c.write("/ro-bounds/big", "%d" % i + "v" * 4000)
        old = _engines(d.proc.pid)
        os.kill(old[0], signal.SIGKILL)
        wait_until(lambda: _engines(d.proc.pid) not in (None, [], old),
                   what="a new engine")
        sim.engines[d] = _engines(d.proc.pid)
        r.events.clear()
        with dom0(d) as c:
            c.write("/ro-bounds/w9", "x")
        assert r.wait_event().payload == z("/ro-bounds/w9", "t")
        assert r.err(xsraw.WATCH, z("/ro-bounds/x", "t")) == "E2BIG"
        assert gerr(g, X.WATCH, b"x\0t\0") == "E2BIG"
        served(d, g)
        assert sim.engines[d] == _engines(d.proc.pid)
    g.close()
