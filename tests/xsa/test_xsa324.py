# SPDX-License-Identifier: GPL-2.0-only
"""XSA-324: a watch with a very long token made C xenstored build watch
events larger than the 4096-byte payload limit, whose error path then
crashed it. An event that does not fit must be dropped: a guest watches
with a 4000-byte token, a long child of the watched node changes, and
the guest gets no oversized message, its ring stays in step and the
events that fit still arrive."""

from xsa_common import (X, dom0, host, kind, sim, start,  # noqa: F401
                        survived)

TOKEN = "T" * 4000


def test_xsa324_oversized_watch_event_is_dropped(sim, kind):
    d = start(sim, kind)
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    g = sim.introduce(d, 5)
    g.write("w", "")
    # Relative watch: events name the path as "w/...".
    g.watch("w", TOKEN)
    assert g.wait_watch() == ["w", TOKEN]
    long_child = "w/" + "c" * 200
    g.write(long_child, "x")
    g.write("w", "fits")
    # An oversized event would come first (recv takes up to 64 KiB).
    ev = g.wait_watch()
    assert ev == ["w", TOKEN], ev[0][:50]
    # Nothing else queued: a plain round trip comes back as the reply.
    assert g.read("w") == b"fits"
    assert not g.watch_events
    survived(d, ("/xsa/keep", b"k"), ("/local/domain/5/" + long_child, b"x"))
    g.close()


def test_xsa324_only_what_does_not_fit_is_dropped(sim, kind):
    """The longest token a WATCH can carry: the events on the node itself
    fit exactly, as the guest names it (relative), and arrive; a child's
    do not and are dropped."""
    d = start(sim, kind)
    g = sim.introduce(d, 5)
    g.write("w", "")
    token = "T" * (X.PAYLOAD_MAX - len("w\0") - 1)
    g.watch("w", token)
    assert g.wait_watch() == ["w", token]
    g.write("w/c", "")
    g.write("w", "again")
    assert g.wait_watch() == ["w", token]
    assert g.read("w") == b"again"
    assert not g.watch_events
    survived(d, ("/local/domain/5/w/c", b""))
    g.close()
