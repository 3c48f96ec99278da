# SPDX-License-Identifier: GPL-2.0-only
"""XSA-322: permissions name domains by domid, and a destroyed domain's
entries stayed in them (and its nodes stayed its own), so the next domain
given the same domid inherited its access. A guest is given read access
to one dom0 node and owns another; once it is destroyed, a new domain with
its domid may neither read nor write either."""

import time

from xsa_common import (DEADLINE, X, dom0, host, kind, sim,  # noqa: F401
                        start, survived, z)


def err(g, type_, payload):
    m = g.request(type_, payload)
    return m.strings[0] if m.is_error else None


def test_xsa322_domid_reuse_inherits_no_access(sim, kind):
    d = start(sim, kind)
    old = sim.introduce(d, 7)
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
        c.write("/xsa/shared", "for old 7")
        c.set_perms("/xsa/shared", ["n0", "r7"])
        c.write("/xsa/owned", "")
        c.set_perms("/xsa/owned", ["n7"])
    assert old.read("/xsa/shared") == b"for old 7"
    old.write("/xsa/owned", "by old 7")
    sim.destroy(7)
    old.close()
    with dom0(d) as c:
        deadline = time.monotonic() + DEADLINE
        while c.request(X.IS_DOMAIN_INTRODUCED, z("7")).payload != b"F\0":
            assert time.monotonic() < deadline, "dom7 still introduced"
            time.sleep(0.01)
    new = sim.introduce(d, 7)
    assert err(new, X.READ, b"/xsa/shared\0") == "EACCES"
    assert err(new, X.WRITE, b"/xsa/shared\0mine") == "EACCES"
    # The node it owned is gone (C xenstored) or dom0's (ours keeps it):
    # either way not the new domain's.
    assert err(new, X.READ, b"/xsa/owned\0") in ("EACCES", "ENOENT")
    assert err(new, X.WRITE, b"/xsa/owned\0mine") == "EACCES"
    assert err(new, X.SET_PERMS, b"/xsa/owned\0n7\0") in ("EACCES", "ENOENT")
    # Access given to the new domain is its own, of course.
    with dom0(d) as c:
        c.set_perms("/xsa/shared", ["n0", "r7"])
    assert new.read("/xsa/shared") == b"for old 7"
    survived(d, ("/xsa/keep", b"k"), ("/xsa/shared", b"for old 7"))
    new.close()
