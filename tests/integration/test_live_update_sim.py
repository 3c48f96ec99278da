# SPDX-License-Identifier: GPL-2.0-only
"""A daemon's live update under the simulated hypervisor.

Debian's C xenstored live-updates itself by exec: it dumps its state,
keeps its event channel handle's fd and its sockets open across the exec
and adopts them again (xenevtchn_fdopen), mapping each ring again by its
grant.  Under the simulator this works only if the simulated event
channels survive the exec as Xen's do.  The daemon is updated to the same
binary while guests and a dom0 socket client hold their connections and
watches; afterwards they carry on without reconnecting and the store is
the same.
"""

import os
import signal
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "xensim"))

import xensim as X  # noqa: E402
from test_xensim import build, sim  # noqa: E402,F401

GUESTS = (5, 6, 7)

pytestmark = pytest.mark.skipif(
    not all(os.access(p, os.X_OK) for p in (X.XENSTORED, X.XENSTORE_CONTROL)),
    reason="needs Debian's C xenstored and xenstore-control (xen-utils-4.17)")


def exec_args(pid):
    """The arguments pid was last exec'd with: C xenstored adds -U."""
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().decode().split("\0")


def dom0_request(w, type_, payload):
    m = w.request(type_, payload)
    assert not m.is_error, m
    return m


def populate(sim, d, w):
    """Guests with homes, data and a watch each; dom0 nodes with
    permissions; the socket client watching /tool and @releaseDomain."""
    guests = {}
    for domid in GUESTS:
        g = sim.introduce(d, domid)
        g.write("data/x", "v%d" % domid)
        g.watch("data", "tok%d" % domid)
        assert g.wait_watch() == ["data", "tok%d" % domid]
        guests[domid] = g
    dom0_request(w, X.WRITE, b"/tool/lu/a\0alpha")
    dom0_request(w, X.SET_PERMS, b"/tool/lu/a\0n0\0r5\0b6\0")
    for path, token in (("/tool", "t"), ("@releaseDomain", "rel")):
        w.watch(path, token)
        assert w.wait_event(path) == [path, token]
    return guests


def test_c_xenstored_live_update_keeps_guests_and_clients(sim):
    d = sim.start_xenstored()
    w = X.SockWatcher(d.socket)
    guests = populate(sim, d, w)
    before = X.store_snapshot(d.socket)
    pid = d.proc.pid

    d.live_update(X.XENSTORED)

    assert d.alive(), d.stderr()
    assert "-U" in exec_args(pid)
    assert not os.path.exists(os.path.join(d.rundir, "state_dump"))
    assert X.store_snapshot(d.socket) == before
    # Every guest's next request goes over the ring it had, both ways of
    # its event channel, and its watch fires on the next change.
    for domid, g in guests.items():
        assert g.read("data/x") == b"v%d" % domid
        g.write("data/after", "y")
        assert g.wait_watch() == ["data/after", "tok%d" % domid]
    # The socket client's connection and its watches were kept.
    dom0_request(w, X.WRITE, b"/local/domain/5/data/by-dom0\0z")
    assert guests[5].wait_watch() == ["data/by-dom0", "tok5"]
    dom0_request(w, X.WRITE, b"/tool/lu/b\0beta")
    assert w.wait_event("/tool/lu/b") == ["/tool/lu/b", "t"]
    # VIRQ_DOM_EXC, bound again after the exec, still reaches the daemon.
    sim.destroy(7)
    guests.pop(7).close()
    assert w.wait_event("@releaseDomain") == ["@releaseDomain", "rel"]

    w.close()
    for g in guests.values():
        g.close()


def wait_stopped(pid, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        with open("/proc/%d/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "T":
                return
        assert time.monotonic() < deadline, "pid %d did not stop" % pid
        time.sleep(0.01)


def wait_in_poll(pid, timeout=10.0):
    """Until pid sleeps in poll(), its work done."""
    deadline = time.monotonic() + timeout
    while True:
        with open("/proc/%d/wchan" % pid) as f:
            wchan = f.read()
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        if state == "S" and "poll" in wchan:
            return
        assert time.monotonic() < deadline, "pid %d never idle" % pid
        time.sleep(0.01)


def control_reply(c):
    while True:
        m = X._sock_recv(c.s)
        if m.type != X.WATCH_EVENT:
            return m


def guest_reply(g, req_id):
    while True:
        m = g.recv()
        if m.type == X.WATCH_EVENT:
            g.watch_events.append(m)
            continue
        assert m.req_id == req_id and not m.is_error, m
        return m


def test_events_pending_at_the_exec_survive_it(sim):
    """Events a daemon has not read when it execs are still pending on its
    handle afterwards, as on an open /dev/xen/evtchn: C xenstored reads
    one event per loop, so with all the guests notifying while it is
    stopped, the exec leaves all but one unread.  A lost one would leave
    its port masked and the guest unheard."""
    d = sim.start_xenstored()
    w = X.SockWatcher(d.socket)
    guests = populate(sim, d, w)
    pid = d.proc.pid
    ctl = X.SockWatcher(d.socket)
    m = ctl.request(X.CONTROL, b"live-update\0-f\0%s\0" %
                    X.XENSTORED.encode())
    assert m.payload == b"OK\0", m
    start = b"live-update\0-s\0-t\0" + b"60\0"
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_stopped(pid)
        ctl.s.sendall(X.HDR.pack(X.CONTROL, 99, 0, len(start)) + start)
        sent = {domid: g.send(X.WRITE, b"data/inflight\0x")
                for domid, g in guests.items()}
    finally:
        os.kill(pid, signal.SIGCONT)
    m = control_reply(ctl)
    assert m.payload == b"OK\0", (m, d.stderr())
    assert d.alive(), d.stderr()
    assert "-U" in exec_args(pid)
    for domid, g in guests.items():
        guest_reply(g, sent[domid])
    # Each guest's next request is the only thing that can wake the
    # daemon: a ring it looked at anyway, on a wake-up for another guest,
    # would hide a lost event.
    for domid, g in guests.items():
        wait_in_poll(pid)
        g.write("data/next", "y")
        assert g.read("data/next") == b"y"
    ctl.close()
    w.close()
    for g in guests.values():
        g.close()
