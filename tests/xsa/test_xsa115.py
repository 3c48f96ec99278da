# SPDX-License-Identifier: GPL-2.0-only
"""XSA-115: watch events were sent whatever the permissions of the node,
so a guest watching "/" saw every change to the store, and any guest
could watch the special @introduceDomain/@releaseDomain nodes. A guest's
watch must report only nodes it may read: checked by a guest watching
"/" and @releaseDomain while dom0 writes, removes and commits private
nodes and another domain comes and goes; nor may it ask whether a domain
is introduced."""

from xsa_common import (X, dom0, host, kind, sim, start,  # noqa: F401
                        survived)


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
    # Initial events, if any, are flushed by a round trip and a marker.
    spy.write("mark", "1")
    while spy.wait_watch() != ["/local/domain/5/mark", "root"]:
        pass
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
        # The domain is gone once dom0 no longer finds it.
        for _ in range(1000):
            m = c.request(X.IS_DOMAIN_INTRODUCED, b"6\0")
            if m.payload == b"F\0":
                break
    spy.write("mark", "2")
    seen = []
    while True:
        ev = spy.wait_watch()
        if ev == ["/local/domain/5/mark", "root"]:
            break
        seen.append(ev)
    assert ["/xsa/public", "root"] in seen, seen
    for path, token in seen:
        assert path == "/xsa/public", seen
    survived(d, ("/xsa/keep", b"k"), ("/xsa/private", b"p"),
             ("/xsa/intx", b"t"))
    spy.close()
