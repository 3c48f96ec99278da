# SPDX-License-Identifier: GPL-2.0-only
"""XSA-233: a guest with a stub domain (SET_TARGET) has two parents for
its connection; when both died together, C xenstored unlinked the
connection twice and freed it while still in use. Here a stub domain
holding a watch and a transaction on its target's nodes dies together with
the target: the daemon must clean up both, tell dom0 once they are gone,
and serve the same domids afresh."""

import time

from xsa_common import (DEADLINE, X, dom0, host, kind, sim,  # noqa: F401
                        start, survived, z)


def introduced(c, domid):
    return c.request(X.IS_DOMAIN_INTRODUCED, z(str(domid))).payload


def wait_gone(c, domid):
    deadline = time.monotonic() + DEADLINE
    while introduced(c, domid) != b"F\0":
        assert time.monotonic() < deadline, "dom%d still introduced" % domid
        time.sleep(0.01)


def test_xsa233_target_and_stub_domain_die_together(sim, kind):
    d = start(sim, kind)
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    target = sim.introduce(d, 7)
    stub = sim.introduce(d, 8)
    target.write("data", "t")
    with dom0(d) as c:
        c.ok(X.SET_TARGET, z("8", "7"))
    # The stub domain acts for its target.
    assert stub.read("/local/domain/7/data") == b"t"
    stub.write("/local/domain/7/bystub", "s")
    stub.watch("/local/domain/7", "tok")
    tid = int(stub.request(X.TRANSACTION_START, b"\0").strings[0])
    stub.write("/local/domain/7/intx", "x", tx_id=tid)
    w = dom0(d)
    w.watch("@releaseDomain", "rel")
    w.wait_event()
    sim.destroy(8)
    sim.destroy(7)
    stub.close()
    target.close()
    with dom0(d) as c:
        wait_gone(c, 7)
        wait_gone(c, 8)
        m = w.wait_event()
        assert m.strings == ["@releaseDomain", "rel"], m
    w.close()
    # The same domids, new domains: served, and nothing of the old ones.
    again = sim.introduce(d, 7)
    stub = sim.introduce(d, 8)
    again.write("data", "new")
    assert stub.request(X.READ, b"/local/domain/7/data\0").is_error
    assert again.request(X.READ, b"intx\0").is_error
    survived(d, ("/xsa/keep", b"k"), ("/local/domain/7/data", b"new"))
    again.close()
    stub.close()
