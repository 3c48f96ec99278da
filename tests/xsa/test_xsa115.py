# SPDX-License-Identifier: GPL-2.0-only
"""XSA-115: watch events were sent whatever the permissions of the node,
so a guest watching "/" saw every change to the store, and any guest
could watch the special @introduceDomain/@releaseDomain nodes. A guest's
watch must report only nodes it may read: checked by a guest watching
"/" and @releaseDomain while dom0 writes, removes and commits private
nodes and another domain comes and goes; nor may it ask whether a domain
is introduced."""

import time

from xsa_common import (DEADLINE, X, dom0, host, kind, sim,  # noqa: F401
                        start, survived)


def until_mark(spy, n):
    """The events spy gets before its n-th marker write's own event."""
    spy.write("mark", str(n))
    seen = []
    while True:
        ev = spy.wait_watch()
        if ev == ["/local/domain/5/mark", "root"]:
            return seen
        seen.append(ev)


def test_xsa115_watch_events_only_for_readable_nodes(sim, kind):
    d = start(sim, kind)
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    spy = sim.introduce(d, 5)
    with dom0(d) as c:
        # Given after the domain exists: C xenstored ignores permissions
        # for domains younger than the node (XSA-322).
        c.write("/xsa/public", "")
        c.set_perms("/xsa/public", ["n0", "r5"])
    spy.write("mark", "0")
    spy.watch("/", "root")
    # A guest may or may not be refused a special watch; it must not hear
    # of other domains through it either way.
    spy.request(X.WATCH, b"@releaseDomain\0rel\0")
    spy.request(X.WATCH, b"@introduceDomain\0intro\0")
    # Initial events, if any, come before the marker's.
    until_mark(spy, 1)
    other = sim.introduce(d, 6)
    other.write("secret", "s")
    # Nor may it ask whether a domain exists.
    m = spy.request(X.IS_DOMAIN_INTRODUCED, b"6\0")
    assert m.is_error and m.strings == ["EACCES"], m
    with dom0(d) as c:
        c.write("/xsa/private", "p")
        c.write("/xsa/gone", "g")
        c.rm("/xsa/gone")
        tid = c.tx_start()
        c.write("/xsa/intx", "t", tid)
        assert c.tx_end(tid) is None
        c.write("/xsa/public", "visible")
    sim.destroy(6)
    other.close()
    with dom0(d) as c:
        # Gone, and so @releaseDomain fired, once dom0 no longer finds it.
        deadline = time.monotonic() + DEADLINE
        while c.request(X.IS_DOMAIN_INTRODUCED, b"6\0").payload != b"F\0":
            assert time.monotonic() < deadline, "dom6 still introduced"
            time.sleep(0.01)
    seen = until_mark(spy, 2)
    assert ["/xsa/public", "root"] in seen, seen
    for path, token in seen:
        assert path == "/xsa/public", seen
    # Access taken away: the change may be told, later ones are not.
    with dom0(d) as c:
        c.set_perms("/xsa/public", ["n0"])
    until_mark(spy, 3)
    with dom0(d) as c:
        c.write("/xsa/public", "hidden")
    assert until_mark(spy, 4) == []
    survived(d, ("/xsa/keep", b"k"), ("/xsa/private", b"p"),
             ("/xsa/intx", b"t"))
    spy.close()
