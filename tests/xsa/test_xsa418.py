# SPDX-License-Identifier: GPL-2.0-only
"""XSA-418: C xenstored walked the tree recursively when it removed a
subtree, checked the store or removed a dead domain's nodes, so a guest
that made a deep enough tree exhausted its stack. Checked: a guest builds
a chain of 900 nodes (within its path length and node quotas), removes
it, builds it again and dies; the daemon walks each, survives, and
dom0's and another guest's nodes stay. Removing such a chain with watches
on it fires the events C xenstored fires, for work linear in its depth
(our engine counts its watch index lookups)."""

from xsa_common import (X, dom0, host, kind, sim, start,  # noqa: F401
                        survived, z)

DEPTH = 900


def test_xsa418_deep_tree_walks(sim, kind):
    d = start(sim, kind)
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    g = sim.introduce(d, 5)
    other = sim.introduce(d, 6)
    other.write("mine", "m")
    deep = "/".join(["a"] * DEPTH)
    g.write(deep, "bottom")
    assert g.read(deep) == b"bottom"
    with dom0(d) as c:
        c.ok(X.CONTROL, z("check"))
    g.rm("a")
    m = g.request(X.READ, z("a"))
    assert m.is_error and m.strings[0] == "ENOENT", m
    g.write(deep, "again")
    g.close()
    # The domain dies with its chain: the daemon removes it.
    sim.destroy(5)
    with dom0(d) as c:
        m = c.request(X.RELEASE, z("5"))
        assert m.type in (X.RELEASE, X.ERROR), m
        assert c.err(X.READ, z("/local/domain/5/a")) == "ENOENT"
        c.ok(X.CONTROL, z("check"))
    assert other.read("mine") == b"m"
    survived(d, ("/xsa/keep", b"k"), ("/local/domain/6/mine", b"m"))
    other.close()


def watch_probes(d):
    with dom0(d) as c:
        m = c.request(X.CONTROL, z("memreport"))
    for line in m.payload.rstrip(b"\0").decode().splitlines():
        k, _, v = line.rpartition(" ")
        if k == "watch index probes":
            return int(v)
    raise AssertionError(m)


def test_xsa418_removing_a_watched_deep_chain(sim, kind):
    d = start(sim, kind)
    g = sim.introduce(d, 5)
    chain = ["a"] * DEPTH
    deep = "/".join(chain)
    mid = "/".join(chain[:DEPTH // 2])
    tokens = {"a": "top", mid: "mid", deep: "bottom"}
    for remover in ("guest", "dom0"):
        g.write(deep, "bottom")
        for path, tok in tokens.items():
            g.watch(path, tok)
            assert g.wait_watch() == [path, tok]
        before = watch_probes(d) if kind == "ours" else 0
        if remover == "guest":
            g.rm("a")
        else:
            with dom0(d) as c:
                c.ok(X.RM, z("/local/domain/5/a"))
        if kind == "ours":
            # Each removed node is looked up once, not from the root.
            assert watch_probes(d) - before < 4 * DEPTH, remover
        g.write("sync", "")
        # One event each: the top's watchers, then the watches set on
        # each very node below it.
        got = sorted(g.wait_watch() for _ in tokens)
        assert got == sorted([p, t] for p, t in tokens.items()), remover
        g.write("sync", "")
        assert not g.watch_events, list(g.watch_events)
        for path, tok in tokens.items():
            g.unwatch(path, tok)
    survived(d)
    g.close()
