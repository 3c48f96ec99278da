# SPDX-License-Identifier: GPL-2.0-only
"""XSA-325: C xenstored freed a misbehaving guest's connection, and with
it its record of the domain, at once: @releaseDomain fired while the
domain still ran and never when it really died, so its backends never let
go of it. A guest that breaks its ring (request or response indexes) must
stay known to the daemon until it dies: still introduced, no
@releaseDomain, its nodes kept; and its death is announced and cleaned
up as anyone's."""

import time

from xsa_common import (DEADLINE, X, dom0, host, kind, sim,  # noqa: F401
                        start, survived, z)


def wait_for(cond, what):
    deadline = time.monotonic() + DEADLINE
    while not cond():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.01)


def events_until_marker(w, n):
    """Events before the n-th marker write, which the watcher sees last."""
    w.write("/xsa/marker/%d" % n, "")
    out = []
    while True:
        ev = w.wait_event().strings
        if ev == ["/xsa/marker/%d" % n, "mark"]:
            return out
        if ev[1] == "mark":
            continue
        out.append(ev)


def test_xsa325_bad_guest_stays_known_until_it_dies(sim, kind):
    d = start(sim, kind)
    w = dom0(d)
    w.write("/xsa/keep", "k")
    w.watch("@releaseDomain", "rel")
    w.watch("/xsa/marker", "mark")
    assert ["@releaseDomain", "rel"] in events_until_marker(w, 0)
    req = sim.introduce(d, 5)
    rsp = sim.introduce(d, 6)
    req.write("data", "5")
    rsp.write("data", "6")
    # Requests claimed beyond the ring, and replies taken beyond it.
    req.set_indexes(req_prod=req.ring.req_cons + 3000)
    rsp.set_indexes(rsp_cons=rsp.ring.rsp_prod + 5000, notify=False)
    rsp.send(X.READ, b"data\0")
    wait_for(lambda: req.error and rsp.error, "the rings' error fields")
    assert events_until_marker(w, 1) == []
    for domid in (5, 6):
        assert w.request(X.IS_DOMAIN_INTRODUCED, z(str(domid))).payload \
            == b"T\0"
        assert w.read("/local/domain/%d/data" % domid) == b"%d" % domid
    for n, (domid, g) in enumerate(((5, req), (6, rsp))):
        sim.destroy(domid)
        g.close()
        ev = w.wait_event().strings
        assert ev == ["@releaseDomain", "rel"], ev
        wait_for(lambda: w.request(X.IS_DOMAIN_INTRODUCED,
                                   z(str(domid))).payload == b"F\0",
                 "dom%d released" % domid)
        assert w.request(X.READ, b"/local/domain/%d/data\0" % domid).is_error
    # The domids serve new domains.
    again = sim.introduce(d, 5)
    again.write("data", "new")
    survived(d, ("/xsa/keep", b"k"), ("/local/domain/5/data", b"new"))
    again.close()
    w.close()
