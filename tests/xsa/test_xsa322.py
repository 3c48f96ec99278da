# SPDX-License-Identifier: GPL-2.0-only
"""XSA-322: permissions name domains by domid, and a destroyed domain's
entries stayed in them (and its nodes stayed its own), so the next domain
given the same domid inherited its access. A guest is given read access
to one dom0 node and to the special node @releaseDomain, and owns another
node; once it is destroyed, a new domain with its domid may neither read
nor write either node, nor hear of other domains' deaths."""

import pytest

from xsa_common import (X, dom0, host, kind, sim, start,  # noqa: F401
                        survived, wait_released, z)


def err(g, type_, payload):
    m = g.request(type_, payload)
    return m.strings[0] if m.is_error else None


def releases_seen(sim, d, g):
    """@releaseDomain events g gets while another domain dies."""
    g.watch_events.clear()
    other = sim.introduce(d, 9)
    sim.destroy(9)
    other.close()
    wait_released(d, 9)
    # Events the death fired come before the reply to this.
    g.write("sync", "")
    seen = [m.strings for m in g.watch_events]
    g.watch_events.clear()
    return seen


def test_xsa322_domid_reuse_inherits_no_access(sim, kind):
    d = start(sim, kind)
    old = sim.introduce(d, 7)
    with dom0(d) as c:
        c.set_perms("@releaseDomain", ["n0", "r7"])
        c.write("/xsa/keep", "k")
        c.write("/xsa/shared", "for old 7")
        c.set_perms("/xsa/shared", ["n0", "r7"])
        c.write("/xsa/owned", "")
        c.set_perms("/xsa/owned", ["n7"])
    assert old.read("/xsa/shared") == b"for old 7"
    old.write("/xsa/owned", "by old 7")
    old.watch("@releaseDomain", "rel")
    assert old.wait_watch() == ["@releaseDomain", "rel"]
    assert releases_seen(sim, d, old) == [["@releaseDomain", "rel"]]
    sim.destroy(7)
    old.close()
    wait_released(d, 7)
    new = sim.introduce(d, 7)
    new.watch("@releaseDomain", "rel")
    assert new.wait_watch() == ["@releaseDomain", "rel"]
    assert releases_seen(sim, d, new) == []
    assert err(new, X.READ, b"/xsa/shared\0") == "EACCES"
    assert err(new, X.WRITE, b"/xsa/shared\0mine") == "EACCES"
    # The node it owned is gone, or dom0's where orphans are kept: either
    # way not the new domain's.
    assert err(new, X.READ, b"/xsa/owned\0") in ("EACCES", "ENOENT")
    assert err(new, X.WRITE, b"/xsa/owned\0mine") == "EACCES"
    assert err(new, X.SET_PERMS, b"/xsa/owned\0n7\0") in ("EACCES", "ENOENT")
    # Access given to the new domain is its own, of course.
    with dom0(d) as c:
        c.set_perms("/xsa/shared", ["n0", "r7"])
    assert new.read("/xsa/shared") == b"for old 7"
    survived(d, ("/xsa/keep", b"k"), ("/xsa/shared", b"for old 7"))
    new.close()


def test_xsa322_stub_domain_gets_nothing_of_a_reused_target_domid(sim, kind):
    """A stub domain (SET_TARGET) outlives its target: the domain next given
    the target's domid is not its target."""
    if kind == "c":
        pytest.skip("C xenstored 4.17 keeps a dead target while its stub "
                    "domain lives, and exits when its domid is introduced "
                    "again")
    d = start(sim, kind)
    target = sim.introduce(d, 7)
    stub = sim.introduce(d, 8)
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
        c.ok(X.SET_TARGET, z("8", "7"))
    target.write("data", "old")
    assert stub.read("/local/domain/7/data") == b"old"
    sim.destroy(7)
    target.close()
    wait_released(d, 7)
    new = sim.introduce(d, 7)
    new.write("data", "new")
    assert err(stub, X.READ, b"/local/domain/7/data\0") == "EACCES"
    assert err(stub, X.WRITE, b"/local/domain/7/data\0evil") == "EACCES"
    assert err(stub, X.MKDIR, b"/local/domain/7/more\0") == "EACCES"
    survived(d, ("/xsa/keep", b"k"), ("/local/domain/7/data", b"new"))
    new.close()
    stub.close()
