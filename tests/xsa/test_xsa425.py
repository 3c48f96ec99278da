# SPDX-License-Identifier: GPL-2.0-only
"""XSA-425: a RELEASE of a domain whose connection was busy (a guest's
soft reset or kexec, which the toolstack follows with RELEASE and a new
INTRODUCE) crashed C xenstored through a connection freed under its loop.
Here a guest leaves 30 requests unread, is released and introduced again,
a dozen times, on the same event channel and on a rebuilt domain: the
daemon lives, nothing of the old connection survives the RELEASE, and
each new connection is served like a fresh one."""

import pytest

from xsa_common import (X, dom0, host, kind, sim, start,  # noqa: F401
                        survived, z)

DOMID = 5
ROUNDS = 12
BIG = "v" * 100


def make_home(d):
    with dom0(d) as c:
        c.write("/local/domain/%d" % DOMID, "")
        c.set_perms("/local/domain/%d" % DOMID, ["n%d" % DOMID])
        c.write("/local/domain/%d/big" % DOMID, BIG)


def flood(g):
    """Thirty READs whose replies do not fit the ring, none read; returns
    once the daemon answered some (the rest are queued or unread)."""
    for _ in range(30):
        g.send(X.READ, b"big\0")
    g.notify()
    while g.rsp_avail() == 0:
        r = g.ring
        assert g.wait_event(), "no reply to the flood: ring %d/%d %d/%d" % (
            r.req_cons, r.req_prod, r.rsp_cons, r.rsp_prod)


def fresh_guest(sim, d, new_port, gfn_port):
    """The domain after its soft reset, introduced again: on a new event
    channel in a rebuilt domain, or on the same one."""
    if new_port:
        sim.destroy(DOMID)
        gfn_port = sim.create(DOMID)
    make_home(d)
    X.introduce(d.socket, DOMID, *gfn_port)
    g = sim.guest(DOMID)
    # As Linux's xenbus does when it attaches: stale replies are skipped.
    g.set_indexes(rsp_cons=g.ring.rsp_prod, notify=False)
    return g, gfn_port


@pytest.mark.parametrize("new_port", [False, True], ids=["same", "new"])
def test_xsa425_release_of_a_busy_connection(sim, kind, new_port):
    d = start(sim, kind)
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    other = sim.introduce(d, 6)
    other.write("mine", "m")
    gfn_port = sim.create(DOMID)
    make_home(d)
    X.introduce(d.socket, DOMID, *gfn_port)
    g = sim.guest(DOMID)
    for i in range(ROUNDS):
        flood(g)
        # The old kernel's last request, half written when it was reset.
        g.put(X.HDR.pack(X.READ, 999, 0, 40) + b"big\0")
        with dom0(d) as c:
            c.ok(X.RELEASE, z(str(DOMID)))
            assert c.request(X.IS_DOMAIN_INTRODUCED,
                             z(str(DOMID))).payload == b"F\0"
        g.close()
        g, gfn_port = fresh_guest(sim, d, new_port, gfn_port)
        # Request ids the old connection never used: a stale reply shows.
        g._req_id = 1000 * (i + 1)
        g.write("round", str(i))
        assert g.read("round") == str(i).encode()
        # A burst as big as the flood is answered whole: nothing the old
        # connection had outstanding counts against the new one.
        ids = [g.send(X.READ, b"big\0") for _ in range(30)]
        for req_id in ids:
            m = g.recv()
            assert (m.req_id, m.payload) == (req_id, BIG.encode()), m
        assert not g.watch_events
        assert other.read("mine") == b"m"
    g.close()
    other.close()
    survived(d, ("/xsa/keep", b"k"), ("/local/domain/6/mine", b"m"),
             ("/local/domain/%d/round" % DOMID, str(ROUNDS - 1).encode()))
