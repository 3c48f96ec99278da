# SPDX-License-Identifier: GPL-2.0-only
"""A host running Debian's C xenstored moves to split-xenstored without a
reboot: ``xenstore-control live-update xs-broker`` (broker/takeover.c).

Under the simulated hypervisor, C xenstored serves guests over their rings
and dom0 over its socket, with watches set; its live update execs xs-broker
with -U, which must take the socket, every connection and every ring (by
the event channel ports bound in the handle C xenstored leaves open) and
the store. Then every guest and client goes on with its next request
without reconnecting, every watch fires on the next change, and the store
is the same. A stream the broker cannot take runs C xenstored again.
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "xensim"))

import xensim as X  # noqa: E402
from conftest import wait_until  # noqa: E402

XS_BUILD = os.path.abspath(os.environ.get("XS_BUILD",
                                          os.path.join(REPO, "build")))
BROKER = os.path.join(XS_BUILD, "bin", "xs-broker")

pytestmark = pytest.mark.skipif(
    not (os.path.exists(X.XENSTORED) and os.path.exists(X.XENSTORE_CONTROL)),
    reason="needs Debian's xen-utils-4.17 (make deps installs it)")


def _z(*parts):
    return b"".join(p.encode() + b"\0" for p in parts)


def broker_cmdline(*extra):
    """The broker's options: C xenstored's would do, but the test run's
    own (the sanitizer build's --engine-as-limit 0) must go along."""
    words = ["-N", "--live-update-fallback", X.XENSTORED]
    words += os.environ.get("XS_EXTRA", "").split()
    return " ".join(words + list(extra))


@pytest.fixture
def host():
    sim = X.Sim()
    d = sim.start_xenstored()
    guests = {domid: sim.introduce(d, domid) for domid in (5, 6)}
    yield sim, d, guests
    for g in guests.values():
        g.close()
    sim.close()


def prepare(sim, d, guests):
    """Nodes, permissions and watches on both sides of the update."""
    w = X.SockWatcher(d.socket)
    assert not w.request(X.WRITE, _z("/tool/lu") + b"before").is_error
    assert not w.request(X.SET_PERMS,
                         _z("/tool/lu", "n0", "r5")).is_error
    w.watch("/tool/lu", "dom0-tok")
    assert w.wait_event() == ["/tool/lu", "dom0-tok"]
    for domid, g in guests.items():
        g.write("data/x", "v%d" % domid)
        g.watch("data", "tok%d" % domid)
        assert g.wait_watch()[1] == "tok%d" % domid
    return w


def check_after(sim, d, guests, w, before):
    assert X.store_snapshot(d.socket) == before
    # The socket client that lived through it: its next request, and its
    # watch.
    assert w.request(X.READ, _z("/tool/lu")).payload == b"before"
    assert not w.request(X.WRITE, _z("/tool/lu") + b"after").is_error
    assert w.wait_event("/tool/lu") == ["/tool/lu", "dom0-tok"]
    for domid, g in guests.items():
        # The guest's next request on the same ring, then its watch; the
        # reply came with an event (a guest finds a reply without one only
        # when its wait times out: a channel the update lost).
        seen = g.events
        assert g.read("data/x") == b"v%d" % domid
        assert g.events > seen or g.wait_event(30.0)
        g.write("data/x", "w%d" % domid)
        ev = g.wait_watch()
        assert ev[1] == "tok%d" % domid, ev
    # The permission C xenstored kept: dom5 may read /tool/lu.
    assert guests[5].read("/tool/lu") == b"after"
    with pytest.raises(X.Error):
        guests[6].read("/tool/lu")


def test_c_xenstored_to_broker(host):
    sim, d, guests = host
    w = prepare(sim, d, guests)
    before = X.store_snapshot(d.socket)
    pid = d.proc.pid
    d.live_update(BROKER, ["-c", broker_cmdline()])
    # The same process, now the broker, with its spawner and engine.
    assert d.alive()
    with open("/proc/%d/comm" % pid) as f:
        assert f.read().strip() == "xs-broker", d.stderr()
    assert "live update: 5 connections taken over" in d.stderr(), d.stderr()
    assert not os.path.exists(os.path.join(d.rundir, "state_dump"))
    check_after(sim, d, guests, w, before)
    # A guest introduced afterwards is served like any other.
    g7 = sim.introduce(d, 7)
    g7.write("data/y", "7")
    assert g7.read("data/y") == b"7"
    g7.close()
    w.close()


def test_bytes_in_flight_carry_over(host):
    """What C xenstored had read but not yet handled goes on: half a
    request from a socket client and half one in a guest's ring, each
    finished after the update, are answered as whole requests; then a
    domain taken over is released as any other."""
    sim, d, guests = host
    w = prepare(sim, d, guests)
    rel = X.SockWatcher(d.socket)
    rel.watch("@releaseDomain", "rel")
    rel.wait_event()
    # dom0: a header and part of its payload; C xenstored reads them
    # before it handles the update request, which comes later.
    msg = X.HDR.pack(X.WRITE, 77, 0, 13) + b"/tool/half\0hi"
    w.s.sendall(msg[:20])
    g = guests[5]
    gmsg = X.HDR.pack(X.READ, 78, 0, 7) + b"data/x\0"
    g.write_all(gmsg[:10])
    g.notify()
    wait_until(lambda: g.ring.req_cons == g.ring.req_prod,
               what="C xenstored to read the guest's half request")
    d.live_update(BROKER, ["-c", broker_cmdline()])
    wait_until(lambda: "connections taken over" in d.stderr(),
               what="the takeover")
    w.s.sendall(msg[20:])
    m = X._sock_recv(w.s)
    while m.type == X.WATCH_EVENT:  # a watch may fire once afresh
        m = X._sock_recv(w.s)
    assert (m.type, m.req_id) == (X.WRITE, 77), m
    g.write_all(gmsg[10:])
    g.notify()
    m = g.recv()
    while m.type == X.WATCH_EVENT:
        m = g.recv()
    assert (m.type, m.req_id, m.payload) == (X.READ, 78, b"v5"), m
    assert w.request(X.READ, _z("/tool/half")).payload == b"hi"
    # The domain goes: @releaseDomain, and the broker lets its ring go.
    sim.destroy(6)
    assert rel.wait_event() == ["@releaseDomain", "rel"]
    wait_until(lambda: w.request(X.IS_DOMAIN_INTRODUCED,
                                 _z("6")).payload == b"F\0",
               what="domain 6 to be forgotten")
    rel.close()
    w.close()


def test_refused_stream_runs_c_xenstored_again(host):
    """An engine that cannot restore the stream (here: one that is not an
    engine at all) leaves C xenstored to take its own stream back."""
    sim, d, guests = host
    w = prepare(sim, d, guests)
    before = X.store_snapshot(d.socket)
    d.live_update(BROKER, ["-c", broker_cmdline("--engine", "/bin/false")])
    wait_until(lambda: "takes the store back" in d.stderr(),
               what="the broker's refusal")
    with open("/proc/%d/comm" % d.proc.pid) as f:
        assert f.read().strip() == "xenstored"
    check_after(sim, d, guests, w, before)
    w.close()
