# SPDX-License-Identifier: GPL-2.0-only
"""XSA-481: a path such as "/local/domain/" made C xenstored's path check
fail without an error number, and the request then tripped an assertion.
Here a guest sends such paths with every request that takes one: each gets
an error reply of its own, and the guest, and everyone else, is still
served in order afterwards."""

from xsa_common import (X, dom0, host, kind, sim, start,  # noqa: F401
                        survived)

# Not paths at all: each request naming one is refused.
INVALID = (b"/local/domain/", b"/local/domain//", b"/local/domain/5/",
           b"/local//domain/5", b"/local/domain/ 5", b"local/domain/")
# Paths, though no domain's: each gets its answer, whatever it is.
ODD = (b"/local/domain/x", b"/local/domain/-1",
       b"/local/domain/99999999999999999999", b"/")


def requests(p):
    return ((X.READ, p + b"\0"), (X.WRITE, p + b"\0v"),
            (X.MKDIR, p + b"\0"), (X.RM, p + b"\0"),
            (X.DIRECTORY, p + b"\0"), (X.GET_PERMS, p + b"\0"),
            (X.SET_PERMS, p + b"\0n5\0"),
            (X.WATCH, p + b"\0tok\0"), (X.UNWATCH, p + b"\0tok\0"))


def test_xsa481_invalid_domain_paths(sim, kind):
    d = start(sim, kind)
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    other = sim.introduce(d, 6)
    other.write("mine", "m")
    g = sim.introduce(d, 5)
    g.write("data", "0")
    for p in INVALID + ODD:
        for t, payload in requests(p):
            # request() checks that the reply is this request's.
            m = g.request(t, payload)
            if p in INVALID:
                assert m.is_error, (p, t, m)
        assert g.read("data") == b"0"
    survived(d, ("/xsa/keep", b"k"), ("/local/domain/6/mine", b"m"),
             ("/local/domain/5/data", b"0"))
    g.close()
    other.close()
