# SPDX-License-Identifier: GPL-2.0-only
"""XSA-512: on a ring reconnection oxenstored dropped a guest's watches
from its own table but not from the global one, so a guest reconnecting
over and over piled up watches without end. Here a guest sets as many
watches as it may, then reconnects its ring (or, where the daemon offers
no reconnection, resets its watches), many times over: every watch goes
with it (none fires afterwards), the guest may set as many again each
time, and dom0's watch on the same node is untouched."""

from xsa_common import (DEADLINE, X, dom0, host, kind, sim,  # noqa: F401
                        start, survived)

MAX_WATCHES = 8
ROUNDS = 20


def set_all(g):
    """Sets watches on data until one is refused; returns how many."""
    n = 0
    while True:
        m = g.request(X.WATCH, b"data\0t%d\0" % n)
        if m.is_error:
            return n
        assert g.wait_watch() == ["data", "t%d" % n]
        n += 1
        assert n <= 4 * MAX_WATCHES, "no watch quota"


def test_xsa512_watches_go_with_a_ring_reconnection(sim, kind):
    d = start(sim, kind, "-W", str(MAX_WATCHES))
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    g = sim.introduce(d, 5)
    g.write("data", "0")
    # dom0 watches the node too.
    other = X.SockWatcher(d.socket, DEADLINE)
    other.watch("/local/domain/5/data", "other")
    assert other.wait_event() == ["/local/domain/5/data", "other"]
    most = None
    for i in range(ROUNDS):
        n = set_all(g)
        assert most is None or n == most, (i, n, most)
        most = n
        if i % 2 and g.server_features & X.FEATURE_RECONNECTION:
            g.reconnect()
        else:
            # What a guest without the reconnection feature does (C
            # xenstored 4.17 offers none): it drops every watch it had.
            m = g.request(X.RESET_WATCHES, b"")
            assert not m.is_error, m
        g.write("data", str(i))
        assert g.read("data") == str(i).encode()
        assert not g.watch_events, (i, g.watch_events)
        assert other.wait_event() == ["/local/domain/5/data", "other"]
    assert most > 1
    survived(d, ("/xsa/keep", b"k"),
             ("/local/domain/5/data", str(ROUNDS - 1).encode()))
    g.close()
    other.close()
