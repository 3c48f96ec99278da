# SPDX-License-Identifier: GPL-2.0-only
"""XSA-417: a permission entry naming a domain id that no domain holds
must not grant anything to a domain created later with that id; C
xenstored ignores such an entry from the moment it is written. An entry
naming a domain that exists but is not yet introduced (the toolstack
writes a guest's home before INTRODUCE) must keep working."""

from xsa_common import (X, dom0, host, kind, sim, start,  # noqa: F401
                        survived, wait_released, z)


def test_xsa417_entry_for_an_unknown_domain_grants_nothing_later(sim, kind):
    d = start(sim, kind)
    with dom0(d) as c:
        # No domain 8 exists when dom0 writes this.
        c.write("/xsa/secret", "s")
        c.set_perms("/xsa/secret", ["n0", "r8", "b7"])
        # An ignored entry is shown as it was written.
        assert c.get_perms("/xsa/secret") == ["n0", "r8", "b7"]
        # Domain 9 exists, not yet introduced: its entry must hold.
        gfn, port = sim.create(9)
        c.write("/xsa/shared", "x")
        c.set_perms("/xsa/shared", ["n0", "r9"])
        c.write("/local/domain/9", "")
        c.set_perms("/local/domain/9", ["n9"])
        X.introduce(d.socket, 9, gfn, port)
    known = sim.guest(9)
    late = sim.introduce(d, 8)
    later = sim.introduce(d, 7)
    for g in (late, later):
        m = g.request(X.READ, z("/xsa/secret"))
        assert m.is_error and m.strings[0] == "EACCES", m
    m = later.request(X.WRITE, z("/xsa/secret") + b"w")
    assert m.is_error, m
    assert known.read("/xsa/shared") == b"x"
    known.write("mine", "m")
    survived(d, ("/xsa/secret", b"s"), ("/xsa/shared", b"x"),
             ("/local/domain/9/mine", b"m"))
    late.close()
    later.close()
    known.close()


def test_xsa417_entry_for_a_domain_that_died_unintroduced_lapses(sim, kind):
    """An entry written while its domain existed, not yet introduced,
    holds for that domain only: once it dies, a later domain with its id
    gets nothing from it."""
    d = start(sim, kind)
    with dom0(d) as c:
        sim.create(9)
        c.write("/xsa/prepared", "for the first 9")
        c.set_perms("/xsa/prepared", ["n0", "b9"])
        c.write("/xsa/owned", "")
        c.set_perms("/xsa/owned", ["n9"])
    sim.destroy(9)
    # The daemon sees every death at the next domain event: one it must
    # act on shows when the first was seen too.
    sim.introduce(d, 10).close()
    sim.destroy(10)
    wait_released(d, 10)
    new = sim.introduce(d, 9)
    for path in (b"/xsa/prepared", b"/xsa/owned"):
        m = new.request(X.READ, path + b"\0")
        assert m.is_error and m.strings[0] == "EACCES", m
        m = new.request(X.WRITE, path + b"\0mine")
        assert m.is_error and m.strings[0] == "EACCES", m
    survived(d, ("/xsa/prepared", b"for the first 9"))
    new.close()
