# SPDX-License-Identifier: GPL-2.0-only
"""XSA-323: oxenstored checked the length of a guest's relative path before
prefixing its home, so a guest could create nodes whose full path was too
long for anyone, dom0 included, to read, list or remove. The limit must
apply to the path as stored: a guest's relative and absolute spellings
of a path are accepted or refused alike, and whatever it created dom0 can
read, list and remove."""

from xsa_common import (X, dom0, host, kind, sim, start,  # noqa: F401
                        survived)

HOME = "/local/domain/5/"
ABS_PATH_MAX = 3072


def long_path(top, length):
    """A relative path of exactly length characters, in 100-character
    components (a single huge name would hit the node size quota)."""
    p = (top + "/" + ("a" * 99 + "/") * 40)[:length].rstrip("/")
    return p + "b" * (length - len(p))


def result(g, path):
    m = g.request(X.WRITE, path.encode() + b"\0v")
    return m.is_error


def test_xsa323_path_limit_applies_to_the_stored_path(sim, kind):
    d = start(sim, kind)
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    g = sim.introduce(d, 5)
    created = []
    for length in (2000, 2048, 2049, 2100, 3072 - len(HOME) + 1, 3500):
        rel = long_path("r%d" % length, length)
        refused = result(g, rel)
        assert result(g, HOME + long_path("a%d" % length, length)) == \
            refused, length
        if not refused:
            created.append(HOME + rel)
    assert created, "no long path accepted"
    with dom0(d) as c:
        for path in created:
            assert len(path) <= ABS_PATH_MAX, len(path)
            assert c.read(path) == b"v"
            parent, name = path.rsplit("/", 1)
            assert name in c.directory(parent)
            top = path[:path.index("/", len(HOME))]
            c.rm(top)
        # Nothing refused was stored anyway.
        left = [n for n in c.directory(HOME.rstrip("/")) if n[0] in "ra"]
        assert sorted(left) == sorted(
            "a" + p[len(HOME) + 1:].split("/")[0] for p in created), left
    survived(d, ("/xsa/keep", b"k"))
    g.close()
