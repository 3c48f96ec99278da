# SPDX-License-Identifier: GPL-2.0-only
"""Simulated domUs against split-xenstored.

xs-broker runs in Xen mode under the simulated hypervisor
(tests/xensim/): it maps the guests' rings and binds their event channels
through libxensim.so, exactly as it would on Xen.  Guests talk over the
real ring layout (xensim.Guest), dom0 over the Unix socket (xsraw).

Every test starts its own daemon(s) in a fresh simulation; at the end
each daemon must still run with the engine it started with.
"""

import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "xensim"))

import xensim as X  # noqa: E402
import xsraw  # noqa: E402
from xsraw import z  # noqa: E402
from conftest import rss_kb, wait_until  # noqa: E402

XS_BUILD = os.path.abspath(os.environ.get("XS_BUILD",
                                          os.path.join(REPO, "build")))
BROKER = os.path.join(XS_BUILD, "bin", "xs-broker")
ENGINE = os.path.join(XS_BUILD, "bin", "xs-engine")
DUMP = os.path.join(XS_BUILD, "bin", "xs-dump")
XENSTORE_CONTROL = "/usr/lib/xen-4.17/bin/xenstore-control"
DEADLINE = 30.0

GET_FEATURE, SET_FEATURE, GET_QUOTA, SET_QUOTA = 23, 24, 25, 26


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return sorted(int(x) for x in f.read().split())
    except OSError:
        return None


def _engines(pid):
    """The engines of the broker pid: the children of its spawner."""
    kids = _children(pid)
    return _children(kids[0]) if kids and len(kids) == 1 else None


@pytest.fixture(scope="module")
def _host():
    s = X.Sim(build=os.path.join(XS_BUILD, "xensim"))
    yield s
    s.close()


@pytest.fixture
def sim(_host):
    """The module's simulated host, with no daemon and no domain but dom0
    at the start of each test (Sim.reset)."""
    s = _host
    s.engines = {}
    yield s
    problems = []
    for d in s.daemons:
        if d.stopped:
            continue
        if not d.alive():
            problems.append("%s died (%s):\n%s" % (
                " ".join(d.cmd), d.proc.returncode, d.stderr()[-3000:]))
        elif d in s.engines and _engines(d.proc.pid) != s.engines[d]:
            problems.append("engine of %s changed (crash/restart?):\n%s" % (
                " ".join(d.cmd), d.stderr()[-3000:]))
    s.reset()
    assert not problems, "\n".join(problems)


def ours(sim, *args):
    """split-xenstored in Xen mode under the simulated hypervisor."""
    d = sim.start_daemon([BROKER, "-N"] + list(args), timeout=DEADLINE)
    sim.engines[d] = _engines(d.proc.pid)
    return d


def dom0(d):
    return xsraw.XsRaw(d.socket, DEADLINE)


def gerr(g, type_, payload, tx_id=0):
    """The error name of a guest request that must fail."""
    m = g.request(type_, payload, tx_id=tx_id)
    assert m.type == X.ERROR, "expected an error for %d %r, got %r" % (
        type_, payload, m)
    return m.payload.rstrip(b"\0").decode()


def gok(g, type_, payload, tx_id=0):
    m = g.request(type_, payload, tx_id=tx_id)
    assert m.type == type_, "%d %r: %r" % (type_, payload, m)
    return m


def wait_for(cond, what, timeout=DEADLINE):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.01)


def memreport(d):
    """CONTROL memreport of our daemon as {name: int}."""
    with dom0(d) as c:
        m = c.request(xsraw.CONTROL, z("memreport"))
    assert m.type == xsraw.CONTROL, m
    out = {}
    for line in m.payload.rstrip(b"\0").decode().splitlines():
        k, _, v = line.rpartition(" ")
        out[k] = int(v)
    return out


class Events:
    """A dom0 connection holding watches; events read synchronously."""

    def __init__(self, d):
        self.c = dom0(d)

    def watch(self, path, token, depth=None):
        p = z(path, token) + (z(str(depth)) if depth is not None else b"")
        self.c.ok(xsraw.WATCH, p)

    def next(self):
        return self.c.wait_event(DEADLINE).strings

    def sync(self):
        """All events queued before now, via a marker watch round trip."""
        self.c.write("/sync-marker", "x")
        self.c.ok(xsraw.WATCH, z("/sync-marker", "SYNC"))
        out = []
        while True:
            ev = self.next()
            if ev[1] == "SYNC":
                self.c.ok(xsraw.UNWATCH, z("/sync-marker", "SYNC"))
                return out
            out.append(ev)

    def close(self):
        self.c.close()


# -- own home, other domains, privileged operations -------------------------


def test_own_home_relative_and_absolute(sim):
    d = ours(sim)
    g = sim.introduce(d, 5)
    assert g.server_features & X.FEATURE_RECONNECTION
    assert g.connection == 0 and g.error == 0
    assert g.get_domain_path(5) == "/local/domain/5"
    g.write("data/rel", "r")
    g.write("/local/domain/5/data/abs", "a")
    assert g.read("/local/domain/5/data/rel") == b"r"
    assert g.read("data/abs") == b"a"
    assert sorted(g.directory("data")) == ["abs", "rel"]
    assert sorted(g.directory("/local/domain/5/data")) == ["abs", "rel"]
    g.mkdir("dir")
    assert g.read("dir") == b""
    # Nodes a guest creates are its own.
    assert gok(g, X.GET_PERMS, b"data/rel\0").strings == ["n5"]
    gok(g, X.SET_PERMS, b"data/rel\0n5\0r0\0")
    assert gok(g, X.GET_PERMS, b"data/rel\0").strings == ["n5", "r0"]
    g.rm("data")
    assert gerr(g, X.READ, b"data/abs\0") == "ENOENT"
    with dom0(d) as c:
        assert c.read("/local/domain/5/dir") == b""
    g.close()


def test_broker_maps_rings_without_root_and_spawner_holds_none(sim):
    """With Xen, too, the broker serves guests as its own user, mapping a
    domain introduced after it dropped root; its spawner holds neither the
    event channel device, nor a ring, nor a client's or engine's socket:
    one socket, its control channel."""
    d = ours(sim)
    g = sim.introduce(d, 7)
    g.write("data", "x")
    assert g.read("data") == b"x"
    with open("/proc/%d/status" % d.proc.pid) as f:
        uid = [l.split()[1] for l in f if l.startswith("Uid:")][0]
    assert uid != "0"
    (spawner,) = _children(d.proc.pid)
    fds = "/proc/%d/fd" % spawner
    targets = [os.readlink(os.path.join(fds, fd)) for fd in os.listdir(fds)]
    assert len([t for t in targets if t.startswith("socket:")]) == 1, targets
    assert not [t for t in targets if "ring." in t or "/dev/xen" in t
                or sim.dir in t], targets
    with open("/proc/%d/maps" % spawner) as f:
        assert "ring." not in f.read()
    g.close()


def test_eacces_elsewhere_and_privileged_ops(sim):
    d = ours(sim)
    g5 = sim.introduce(d, 5)
    g6 = sim.introduce(d, 6)
    g6.write("secret", "s")
    with dom0(d) as c:
        c.write("/dom0node", "x")
    for p in (b"/local/domain/6/secret\0", b"/dom0node\0",
              b"/local/domain/0\0", b"/\0"):
        assert gerr(g5, X.READ, p) == "EACCES", p
        assert gerr(g5, X.GET_PERMS, p) == "EACCES", p
    for t, p in ((X.WRITE, b"/local/domain/6/secret\0mine"),
                 (X.WRITE, b"/local/domain/6/new\0x"),
                 (X.WRITE, b"/newtop\0x"),
                 (X.MKDIR, b"/local/domain/6/d\0"),
                 (X.RM, b"/local/domain/6/secret\0"),
                 (X.SET_PERMS, b"/local/domain/6/secret\0n5\0"),
                 (X.DIRECTORY, b"/local/domain/6\0")):
        assert gerr(g5, t, p) == "EACCES", (t, p)
    assert g6.read("secret") == b"s"
    gfn, port = sim.create(7)
    priv = [(X.INTRODUCE, b"7\0%d\0%d\0" % (gfn, port)),
            (X.RELEASE, b"6\0"),
            (X.RESUME, b"6\0"),
            (X.SET_TARGET, b"5\0" b"6\0"),
            (X.CONTROL, b"print\0hello\0"),
            (X.CONTROL, b"memreport\0"),
            (GET_QUOTA, b""),
            (GET_QUOTA, b"5\0nodes\0"),
            (SET_QUOTA, b"nodes\0" b"100000\0"),
            (SET_QUOTA, b"5\0nodes\0" b"100000\0"),
            (SET_FEATURE, b"7\0" b"1\0")]
    for t, p in priv:
        assert gerr(g5, t, p) == "EACCES", (t, p)
    # Nothing of it happened.
    with dom0(d) as c:
        assert c.request(xsraw.IS_DOMAIN_INTRODUCED, z("7")).payload == b"F\0"
        assert c.request(xsraw.IS_DOMAIN_INTRODUCED, z("6")).payload == b"T\0"
    assert g6.read("secret") == b"s"
    g5.close()
    g6.close()


# -- watches over the ring ---------------------------------------------------


def test_watches_over_the_ring(sim):
    d = ours(sim)
    g = sim.introduce(d, 5)
    g.watch("data", "rel")
    assert g.wait_watch() == ["data", "rel"]
    g.watch("/local/domain/5/other", "abs")
    assert g.wait_watch() == ["/local/domain/5/other", "abs"]
    g.write("data/own", "1")
    assert g.wait_watch() == ["data/own", "rel"]
    with dom0(d) as c:
        c.write("/local/domain/5/data/by-dom0", "2")
        c.write("/local/domain/5/other/x", "3")
        c.rm("/local/domain/5/data")
    assert g.wait_watch() == ["data/by-dom0", "rel"]
    assert g.wait_watch() == ["/local/domain/5/other/x", "abs"]
    assert g.wait_watch() == ["data", "rel"]
    g.unwatch("data", "rel")
    g.write("data/after", "4")
    g.write("other", "5")
    assert g.wait_watch() == ["/local/domain/5/other", "abs"]
    assert not g.watch_events
    assert gerr(g, X.UNWATCH, b"data\0rel\0") == "ENOENT"
    assert gerr(g, X.WATCH, b"/local/domain/5/other\0abs\0") == "EEXIST"
    # A watch on a node the guest may not read fires no event for it.
    g.watch("/local/domain/0/hidden", "hid")
    ev = g.wait_watch()
    assert ev == ["/local/domain/0/hidden", "hid"]
    with dom0(d) as c:
        c.write("/local/domain/0/hidden", "x")
    g.write("other", "6")  # an event after the hidden one, if any
    assert g.wait_watch() == ["/local/domain/5/other", "abs"]
    assert not g.watch_events
    g.close()


# -- quotas per domain -------------------------------------------------------


def fill(g, prefix, limit):
    """Creates nodes until an error; returns (created, error)."""
    for i in range(limit):
        m = g.request(X.WRITE, b"%s/n%d\0v" % (prefix.encode(), i))
        if m.is_error:
            return i, m.payload.rstrip(b"\0").decode()
    return limit, None


def test_node_quota_per_domain(sim):
    d = ours(sim, "-E", "20")
    g5 = sim.introduce(d, 5)
    g6 = sim.introduce(d, 6)
    n, err = fill(g5, "q", 40)
    assert err == "ENOSPC", (n, err)
    assert 15 <= n < 20, n
    # Writing an existing node is no new node; rm frees one.
    g5.write("q/n0", "again")
    g5.rm("q/n1")
    g5.write("q/n1", "back")
    assert gerr(g5, X.WRITE, b"q/more\0x") == "ENOSPC"
    # dom0 and another guest are unaffected.
    with dom0(d) as c:
        for i in range(60):
            c.write("/local/domain/0/many/n%d" % i, "v")
        c.write("/local/domain/5/by-dom0", "dom0 owns this")
    n6, err6 = fill(g6, "q", 10)
    assert (n6, err6) == (10, None)
    g5.close()
    g6.close()


def test_watch_and_transaction_quota(sim):
    d = ours(sim, "-W", "4", "-t", "3")
    g = sim.introduce(d, 5)
    g2 = sim.introduce(d, 6)
    # As C xenstored: refused once a domain has more than the quota, so
    # the quota plus one go through.
    for i in range(5):
        g.watch("w%d" % i, "t")
    assert gerr(g, X.WATCH, b"w9\0t\0") == "E2BIG"
    g.unwatch("w0", "t")
    g.watch("w9", "t")
    g.watch_events.clear()
    tids = [int(gok(g, X.TRANSACTION_START, b"\0").strings[0])
            for _ in range(4)]
    assert len(set(tids)) == 4
    assert gerr(g, X.TRANSACTION_START, b"\0") == "ENOSPC"
    gok(g, X.TRANSACTION_END, b"F\0", tx_id=tids[0])
    gok(g, X.TRANSACTION_START, b"\0")
    # Other domains keep their own counts; dom0 has no such quota.
    for i in range(4):
        g2.watch("w%d" % i, "t")
    with dom0(d) as c:
        for i in range(20):
            c.watch("/w%d" % i, "t")
        ts = [c.tx_start() for _ in range(12)]
        for t in ts:
            assert c.tx_end(t, commit=False) is None
    g.close()
    g2.close()


# -- domains coming and going ------------------------------------------------


def test_hundred_domains_introduced_and_destroyed(sim):
    d = ours(sim)
    w = Events(d)
    w.watch("@introduceDomain", "intro")
    w.watch("@releaseDomain", "rel")
    w.watch("@releaseDomain", "rel1", depth=1)
    assert sorted(map(tuple, w.sync())) == sorted([
        ("@introduceDomain", "intro"), ("@releaseDomain", "rel"),
        ("@releaseDomain", "rel1")])
    for i in range(100):
        domid = 10 + i
        gfn, port = sim.create(domid)
        w.c.write("/local/domain/%d" % domid, "")
        w.c.set_perms("/local/domain/%d" % domid, ["n%d" % domid])
        w.c.ok(xsraw.INTRODUCE, z(str(domid), str(gfn), str(port)))
        assert w.next() == ["@introduceDomain", "intro"]
        sim.destroy(domid)
        got = sorted([tuple(w.next()), tuple(w.next())])
        assert got == [("@releaseDomain", "rel"),
                       ("@releaseDomain/%d" % domid, "rel1")], (domid, got)
    # Each exactly once: nothing else came meanwhile.
    assert w.sync() == []
    with w.c as c:
        for domid in (10, 60, 109):
            assert c.request(xsraw.IS_DOMAIN_INTRODUCED,
                             z(str(domid))).payload == b"F\0"
            assert c.err(xsraw.READ, z("/local/domain/%d" % domid)) == \
                "ENOENT"
    m = memreport(d)
    assert m["connections"] <= 2, m


def test_domid_reuse_inherits_nothing(sim):
    d = ours(sim)
    c = dom0(d)
    w = Events(d)
    w.watch("@releaseDomain", "rel")
    w.next()
    old = sim.introduce(d, 7)
    old.write("data/x", "old")
    c.write("/shared", "for old 7")
    c.set_perms("/shared", ["n0", "r7"])
    c.write("/owned-by-7", "")
    c.set_perms("/owned-by-7", ["n7"])
    assert old.read("/shared") == b"for old 7"
    old.write("/owned-by-7", "written by old 7")
    sim.destroy(7)
    assert w.next() == ["@releaseDomain", "rel"]
    old.close()
    assert c.err(xsraw.READ, z("/local/domain/7/data/x")) == "ENOENT"
    assert c.err(xsraw.READ, z("/local/domain/7")) == "ENOENT"
    new = sim.introduce(d, 7)
    assert gerr(new, X.READ, b"data/x\0") == "ENOENT"
    assert gerr(new, X.READ, b"/shared\0") == "EACCES"
    assert gerr(new, X.WRITE, b"/shared\0mine") == "EACCES"
    assert gerr(new, X.READ, b"/owned-by-7\0") == "EACCES"
    assert gerr(new, X.WRITE, b"/owned-by-7\0mine") == "EACCES"
    assert gerr(new, X.SET_PERMS, b"/owned-by-7\0n7\0") == "EACCES"
    # Permissions given to the new domain work, of course.
    c.set_perms("/shared", ["n0", "r7"])
    assert new.read("/shared") == b"for old 7"
    new.close()
    w.close()
    c.close()


def death_leaves(sim, d, keep):
    c = dom0(d)
    w = Events(d)
    w.watch("@releaseDomain", "rel")
    w.next()
    g = sim.introduce(d, 5)
    g.write("data/a", "1")
    g.write("data/b/c", "2")
    c.write("/elsewhere", "")
    c.set_perms("/elsewhere", ["n0", "w5"])
    g.write("/elsewhere/by5", "x")
    g.watch("data", "tok")
    g.wait_watch()
    tid = int(gok(g, X.TRANSACTION_START, b"\0").strings[0])
    g.write("data/intx", "t", tx_id=tid)
    before = memreport(d)
    sim.destroy(5)
    assert w.next() == ["@releaseDomain", "rel"]
    assert w.sync() == []
    g.close()
    after = memreport(d)
    assert after["watches"] == before["watches"] - 1, (before, after)
    assert after["open transactions"] == \
        before["open transactions"] - 1, (before, after)
    return c


def test_death_removes_nodes_watches_transactions(sim):
    d = ours(sim)
    c = death_leaves(sim, d, keep=False)
    for p in ("/local/domain/5", "/local/domain/5/data/a",
              "/elsewhere/by5"):
        assert c.err(xsraw.READ, z(p)) == "ENOENT", p
    assert c.read("/elsewhere") == b""
    c.close()


def test_death_with_keep_orphans(sim):
    d = ours(sim, "-K")
    c = death_leaves(sim, d, keep=True)
    assert c.read("/local/domain/5/data/a") == b"1"
    assert c.read("/local/domain/5/data/b/c") == b"2"
    assert c.read("/elsewhere/by5") == b"x"
    for p in ("/local/domain/5/data/a", "/elsewhere/by5"):
        assert c.get_perms(p)[0] == "n0", (p, c.get_perms(p))
    c.err(xsraw.READ, z("/local/domain/5/data/intx"))
    # A new domain 5 does not own them.
    g = sim.introduce(d, 5)
    assert gerr(g, X.READ, b"/elsewhere/by5\0") == "EACCES"
    g.close()
    c.close()


def test_shutdown_fires_once_and_resume_rearms(sim):
    d = ours(sim)
    w = Events(d)
    w.watch("@releaseDomain", "rel")
    w.watch("@releaseDomain", "one", depth=1)
    w.sync()
    g = sim.introduce(d, 5)
    sim.introduce(d, 6).close()
    sim.shutdown(5, X.SHUTDOWN_suspend)
    assert sorted(map(tuple, [w.next(), w.next()])) == [
        ("@releaseDomain", "rel"), ("@releaseDomain/5", "one")]
    # More domain exceptions: domain 5 is still shut down, no new event.
    sim.create(20)
    sim.shutdown(20)
    sim.destroy(20)
    assert w.sync() == []
    assert g.read("/local/domain/5") == b""  # still served
    # RESUME re-arms it: the next exception reports it again.
    with dom0(d) as c:
        c.ok(xsraw.RESUME, z("5"))
        assert c.err(xsraw.RESUME, z("20")) == "ENOENT"
    sim.create(21)
    sim.shutdown(21)
    assert sorted(map(tuple, [w.next(), w.next()])) == [
        ("@releaseDomain", "rel"), ("@releaseDomain/5", "one")]
    assert w.sync() == []
    # Its death reports it once more, then never again.
    sim.dying(5)
    sim.destroy(5)
    assert sorted(map(tuple, [w.next(), w.next()])) == [
        ("@releaseDomain", "rel"), ("@releaseDomain/5", "one")]
    sim.destroy(21)
    assert w.sync() == []
    g.close()
    w.close()


# -- malicious rings ---------------------------------------------------------


def contained(sim, d, bad, w):
    """Others are served, the bad domain's death is reported."""
    good = sim.introduce(d, 30 + bad.domid)
    good.write("ok", "1")
    assert good.read("ok") == b"1"
    with dom0(d) as c:
        c.write("/still", "ok")
        assert c.read("/still") == b"ok"
    sim.destroy(bad.domid)
    bad.close()
    assert w.next() == ["@releaseDomain", "rel"]
    assert w.sync() == []
    assert d.alive()
    good.close()


def test_bad_ring_indexes(sim):
    d = ours(sim)
    w = Events(d)
    w.watch("@releaseDomain", "rel")
    w.next()
    bad = sim.introduce(d, 12)
    bad.write("before", "1")
    bad.set_indexes(req_prod=bad.ring.req_cons + 3000)
    wait_for(lambda: bad.error == 2, "error field XENSTORE_ERROR_RINGIDX")
    cons = bad.ring.req_cons
    # Not served any more, even with sane indexes again.
    bad.set_indexes(req_prod=cons)
    bad.send(X.READ, b"before\0")
    contained(sim, d, bad, w)
    assert bad.ring is None


def test_bad_response_indexes(sim):
    d = ours(sim)
    w = Events(d)
    w.watch("@releaseDomain", "rel")
    w.next()
    bad = sim.introduce(d, 13)
    bad.set_indexes(rsp_cons=bad.ring.rsp_prod + 5000, notify=False)
    bad.send(X.READ, b"/local/domain/13\0")
    wait_for(lambda: bad.error == 2, "error field XENSTORE_ERROR_RINGIDX")
    contained(sim, d, bad, w)


def test_oversized_header(sim):
    d = ours(sim)
    w = Events(d)
    w.watch("@releaseDomain", "rel")
    w.next()
    bad = sim.introduce(d, 14)
    bad.send(X.WRITE, b"x", length=X.PAYLOAD_MAX + 1)
    wait_for(lambda: bad.error == 3, "error field XENSTORE_ERROR_PROTO")
    contained(sim, d, bad, w)


def put_while_room(g, msgs):
    """Puts each message in g's request ring while it fits, notifying
    after each, reading nothing; returns how many went."""
    sent = 0
    for m in msgs:
        if g.req_space() < len(m):
            break
        assert g.put(m) == len(m)
        g.notify()
        sent += 1
    return sent


def greedy_guest(sim, d, domid, limit):
    """A guest that sends requests and never takes a reply: one READ whose
    900-byte reply fills the response ring, then WRITEs.  Only requests
    the daemon executed create nodes; dom0 counts them.  Then dom0 and
    another guest must still be served, and once the guest takes its
    replies every request completes, in order."""
    greedy = sim.introduce(d, domid)
    big = b"B" * 900
    greedy.write("big", big)
    greedy.mkdir("w")
    msgs = [X.HDR.pack(X.READ, 1000, 0, 4) + b"big\0"]
    for i in range(1, 200):
        p = b"w/n%d\0v" % i
        msgs.append(X.HDR.pack(X.WRITE, 1000 + i, 0, len(p)) + p)
    sent = put_while_room(greedy, msgs)
    assert sent > limit + 10, sent
    other = sim.introduce(d, domid + 1)
    with dom0(d) as c:
        for i in range(50):
            c.write("/busy/n%d" % i, "v")
            other.write("n%d" % i, "v")
            assert other.read("n%d" % i) == b"v"
        done = len(c.directory("/local/domain/%d/w" % domid))
        # the outstanding quota, plus the replies the ring took: the big
        # one and six OK of 19 bytes in the 124 bytes left
        assert done <= limit + 7, (done, limit)
        for i in range(sent):
            m = greedy.recv()
            assert m.req_id == 1000 + i, (i, m)
            assert m.type == (X.READ if i == 0 else X.WRITE), (i, m)
            assert m.payload == (big if i == 0 else b"OK\0"), (i, m)
        assert len(c.directory("/local/domain/%d/w" % domid)) == sent - 1
    assert greedy.read("big") == big
    other.close()
    return greedy


def test_guest_not_reading_replies_is_throttled(sim):
    d = ours(sim, "-Q", "outstanding=5")
    w = Events(d)
    w.watch("@releaseDomain", "rel")
    w.next()
    greedy = greedy_guest(sim, d, 15, 5)
    contained(sim, d, greedy, w)


def test_default_outstanding_quota(sim):
    d = ours(sim)
    greedy_guest(sim, d, 17, 20).close()


def test_requests_past_the_quota_stay_in_the_ring(sim):
    """What a guest sends beyond its outstanding quota stays in its ring,
    as C xenstored leaves it: the guest finds its ring full, and the broker
    holds none of it."""
    d = ours(sim, "-Q", "outstanding=5")
    g = sim.introduce(d, 15)
    g.write("big", b"B" * 900)
    msgs = [X.HDR.pack(X.READ, 1000, 0, 4) + b"big\0"]
    for i in range(1, 30):
        p = b"w%02d\0vvv" % i
        msgs.append(X.HDR.pack(X.WRITE, 1000 + i, 0, len(p)) + p)
    sent = put_while_room(g, msgs)
    with dom0(d) as c:
        # Turns of the broker's loop enough to read all it would.
        for i in range(50):
            c.write("/busy/n%d" % i, "v")
        done = [n for n in c.directory("/local/domain/15") if n[0] == "w"]
    left = (g.ring.req_prod - g.ring.req_cons) & 0xffffffff
    # The quota, plus what replies the response ring took (the big one
    # and a few OK): the rest is in the ring, none in the broker.
    assert len(done) < sent - 1, (len(done), sent)
    assert left == sum(len(m) for m in msgs[len(done) + 1:sent]), left
    for i in range(sent):
        assert g.recv().req_id == 1000 + i
    g.close()


def test_watcher_not_reading_events_is_capped(sim, tmp_path):
    """A guest watches its node with 64 watches of 4 KB tokens, lets another
    guest write it, and reads nothing: the broker keeps at most 1 MiB of its
    events and drops the others (C xenstored charges them to the guest's
    memory quota), recording the run in the audit log as one record with
    its count; without the cap, the 200 writes would queue 50 MB. Once the
    guest reads, events flow again."""
    log = str(tmp_path / "audit.log")
    d = ours(sim, "--audit-log", log)
    a = sim.introduce(d, 21)
    b = sim.introduce(d, 22)
    home = "/local/domain/21/w"
    a.write(home, "x")
    assert not a.request(X.SET_PERMS, z(home, "n21", "b22")).is_error
    tok = "T" * 4000
    for i in range(64):
        a.watch(home, tok + "%02d" % i)
    before = rss_kb(d.proc.pid)
    for n in range(200):
        b.write(home, "v%d" % n)
    assert "does not read its watch events" in d.stderr()
    assert rss_kb(d.proc.pid) - before < 16 * 1024
    with dom0(d) as c:
        c.write("/other", "served")
        assert c.read("/other") == b"served"

    got = len(a.watch_events)
    while True:
        try:
            m = a.recv(timeout=2.0)
        except OSError:
            break
        assert m.type == X.WATCH_EVENT, m
        got += 1
    # The initial events, then what 1 MiB held: far fewer than 64 * 201.
    assert 64 <= got <= 64 + (1 << 20) // 4000 + 64, got
    a.watch_events.clear()
    b.write(home, "again")
    for i in range(64):
        path, token = a.wait_watch(timeout=DEADLINE)
        assert path == home and token.startswith(tok), path
    dropped = re.findall(r"dropped (\d+) watch events it did not read",
                         d.stderr())
    assert len(dropped) == 1, d.stderr()[-2000:]
    assert got + int(dropped[0]) == 64 * 201

    def recs():
        with open(log) as f:
            return [json.loads(line) for line in f]
    (run,) = wait_for(lambda: [r for r in recs()
                               if r.get("result", "").startswith("dropped")]
                      or None, "dropped events in the audit log")
    assert run["kind"] == "watch_event" and run["domid"] == 21
    assert run["count"] == int(dropped[0]) and run["bytes_out"] == 0
    a.close()
    b.close()


# -- reconnection, fairness ---------------------------------------------------


def test_ring_reconnection(sim):
    d = ours(sim)
    g = sim.introduce(d, 5)
    g.write("a", "1")
    g.watch("a", "t")
    assert g.wait_watch() == ["a", "t"]
    tid = int(gok(g, X.TRANSACTION_START, b"\0").strings[0])
    g.write("intx", "1", tx_id=tid)
    before = memreport(d)
    g.reconnect()
    assert g.connection == 0
    assert g.error == 0
    assert g.server_features & X.FEATURE_RECONNECTION
    after = memreport(d)
    assert after["watches"] == before["watches"] - 1, (before, after)
    assert after["open transactions"] == before["open transactions"] - 1
    assert g.read("a") == b"1"
    g.write("a", "2")
    assert g.read("a") == b"2"
    assert not g.watch_events
    assert gerr(g, X.READ, b"intx\0") == "ENOENT"
    assert gerr(g, X.TRANSACTION_END, b"T\0", tx_id=tid) == "ENOENT"
    # The new connection holds watches again.
    g.watch("a", "t")
    assert g.wait_watch() == ["a", "t"]
    g.close()


def test_reconnection_storm_is_throttled(sim, tmp_path):
    """A guest that asks to reconnect its ring over and over, without
    waiting, gets 10 reconnections a second: its log lines and the
    connection ids it uses (never reused) stay few. Then it reconnects and
    is served as before."""
    log = str(tmp_path / "audit.log")
    d = ours(sim, "--audit-log", log)
    g = sim.introduce(d, 5)
    g.write("a", "1")
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < 2.0:
        g.ring.connection = 1
        g.notify()
        n += 1
    elapsed = time.monotonic() - t0
    g.reconnect(timeout=DEADLINE)
    assert g.read("a") == b"1"
    err = d.stderr()
    assert "domain 5: reconnects more than 10 times a second" in err
    assert err.count("domain 5: reconnecting") <= elapsed + 3, err[-2000:]

    def recs():
        with open(log) as f:
            return [r for r in map(json.loads, f) if r.get("domid") == 5]
    # Records are in order: once the last READ's is there, all are.
    wait_for(lambda: any(r.get("type") == "READ" for r in recs()),
             "the READ's record")
    got = [r for r in recs() if r["kind"] == "conn_open"]
    # The first connection, then at most 10 a second (and the last one).
    assert 2 <= len(got) <= 1 + 10 * (int(elapsed) + 2) + 1, (len(got), n)
    assert n > 10 * len(got), (n, len(got))
    g.close()


def test_reintroduction_with_a_bad_channel(sim):
    """INTRODUCE of an introduced domain with a channel that cannot be
    bound: EINVAL, the domain stays introduced (in the engine and the
    broker alike) but unserved, and a good INTRODUCE serves it again."""
    d = ours(sim)
    g = sim.introduce(d, 8)
    g.write("a", "1")
    gfn = 0
    with dom0(d) as c:
        m = c.request(xsraw.INTRODUCE, z("8", str(gfn), "999"))
        assert m.is_error and m.strings == ["EINVAL"], m
        m = c.request(xsraw.IS_DOMAIN_INTRODUCED, z("8"))
        assert m.payload == b"T\0", m
    assert "domain 8: cannot bind event channel 999" in d.stderr()
    X.introduce(d.socket, 8, gfn, g.port)
    g2 = sim.guest(8, DEADLINE)
    assert g2.read("a") == b"1"
    with dom0(d) as c:
        assert not c.request(xsraw.RELEASE, z("8")).is_error
    g2.close()
    g.close()


def test_fairness_flooding_guest(sim):
    d = ours(sim)
    flood = sim.introduce(d, 5)
    other = sim.introduce(d, 6)
    stop = threading.Event()
    stats = {"replies": 0, "error": None}

    def run():
        try:
            depth = 16
            pending = 0
            i = 0
            while not stop.is_set() or pending:
                while pending < depth and not stop.is_set():
                    flood.send(X.WRITE, b"f/n%d\0%s" % (i % 50, b"x" * 100))
                    i += 1
                    pending += 1
                m = flood.recv(DEADLINE)
                assert m.type == X.WRITE, m
                pending -= 1
                stats["replies"] += 1
        except BaseException as e:  # reported by the main thread
            stats["error"] = e

    t = threading.Thread(target=run)
    t.start()
    try:
        wait_for(lambda: stats["replies"] > 100 or stats["error"],
                 "the flood to start")
        with dom0(d) as c:
            for i in range(100):
                c.write("/dom0/n%d" % i, "v")
                assert c.read("/dom0/n%d" % i) == b"v"
                other.write("n%d" % i, "v")
                assert other.read("n%d" % i) == b"v"
    finally:
        stop.set()
        t.join(DEADLINE)
    assert not t.is_alive()
    assert stats["error"] is None, stats["error"]
    assert stats["replies"] > 100
    flood.close()
    other.close()


def _writes(pid):
    """write(2)-like calls pid made so far: the broker's frames to the
    engine (its replies to rings and notifications are not writes)."""
    with open("/proc/%d/io" % pid) as f:
        return int(dict(l.split(": ") for l in f.read().splitlines())["syscw"])


def _wait_stopped(pid):
    def stopped():
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "T"
    wait_for(stopped, "the broker to stop")


EPOLL_WAIT = 232  # x86_64


def _stop_idle(pid):
    """Stops pid while it sleeps in epoll_wait (not while it polls with a
    zero timeout, yields or works, as it does for a while after requests:
    then some rings are read without their events)."""
    for _ in range(500):
        os.kill(pid, signal.SIGSTOP)
        _wait_stopped(pid)
        with open("/proc/%d/syscall" % pid) as f:
            sc = f.read().split()
        if sc[0] == str(EPOLL_WAIT) and int(sc[4], 16) != 0:
            return
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.01)
    pytest.fail("the broker never went to sleep")


def test_guests_signalling_together_share_one_engine_frame(sim):
    """Requests of guests whose events are pending together are all taken
    in one wake-up and reach the engine in one frame, and each guest gets
    its reply. (At most 8: the simulator queues 10 events per process.)"""
    d = ours(sim)
    gs = [sim.introduce(d, 40 + i) for i in range(8)]
    for i, g in enumerate(gs):
        g.write("x", "v%d" % i)
    _stop_idle(d.proc.pid)
    try:
        for g in gs:
            g.send(X.READ, b"x\0")
        before = _writes(d.proc.pid)
    finally:
        os.kill(d.proc.pid, signal.SIGCONT)
    for i, g in enumerate(gs):
        m = g.recv()
        assert m.type == X.READ and m.payload == b"v%d" % i, (i, m)
    assert _writes(d.proc.pid) - before == 1
    for i, g in enumerate(gs):
        assert g.read("x") == b"v%d" % i
        g.close()


def test_guest_waiting_for_its_reply_wakes_once_per_request(sim):
    """The event that says a request was taken waits for its reply and
    goes with it: a sequential guest gets one event per request, not two."""
    d = ours(sim)
    g = sim.introduce(d, 50)
    g.write("x", "v")
    before = g.events
    for _ in range(100):
        assert g.read("x") == b"v"
    # Not all 100 merge on a loaded machine (an event waits 1 ms at most).
    assert g.events - before < 150, g.events - before
    g.close()


def _engine(sim, d):
    (pid,) = sim.engines[d]
    return pid


def test_engine_stopped_and_continued_lives_on(sim):
    """SIGSTOP and SIGCONT (a debugger, job control) resume the engine's
    poll() through restart_syscall, which its seccomp filter allows."""
    d = ours(sim)
    g = sim.introduce(d, 53)
    engine = _engine(sim, d)
    os.kill(engine, signal.SIGSTOP)
    time.sleep(0.1)
    os.kill(engine, signal.SIGCONT)
    g.write("x", "v")
    assert g.read("x") == b"v"
    g.close()


def test_taken_request_signalled_while_the_engine_is_slow(sim):
    """The engine owes the reply but does not run: the guest still learns
    within a few milliseconds that its request left the ring."""
    d = ours(sim)
    g = sim.introduce(d, 51)
    g.write("x", "v")
    engine = _engine(sim, d)
    os.kill(engine, signal.SIGSTOP)
    try:
        while g.wait_event(0.05):  # none left over from the write
            pass
        g.put(X.HDR.pack(X.READ, 77, 0, 2) + b"x\0")
        g.notify()
        assert g.wait_event(2.0), "no event for the request taken"
        assert g.req_space() == X.RING_SIZE
        assert g.rsp_avail() == 0
    finally:
        os.kill(engine, signal.SIGCONT)
    m = g.recv()
    assert (m.type, m.req_id, m.payload) == (X.READ, 77, b"v")
    g.close()


def test_guest_waiting_for_room_is_woken_while_replies_are_owed(sim):
    """A request larger than the ring, behind one the engine has not
    answered yet: each time the ring is full and the broker empties it, the
    guest is woken at once to write the rest."""
    d = ours(sim)
    g = sim.introduce(d, 52)
    g.write("x", "v")
    engine = _engine(sim, d)
    big = b"b" * 2000  # twice the ring, within the node size quota
    os.kill(engine, signal.SIGSTOP)
    try:
        g.put(X.HDR.pack(X.READ, 90, 0, 2) + b"x\0")
        g.notify()
        t0 = time.monotonic()
        g.write_all(X.HDR.pack(X.WRITE, 91, 0, 4 + len(big)) + b"big\0" +
                    big, timeout=DEADLINE)
        took = time.monotonic() - t0
    finally:
        os.kill(engine, signal.SIGCONT)
    assert took < DEADLINE
    m1, m2 = g.recv(), g.recv()
    assert (m1.req_id, m1.type, m2.req_id, m2.type) == (90, X.READ, 91, X.WRITE), (m1, m2)
    assert g.read("big") == big
    g.close()


def test_guests_pausing_between_requests_are_always_woken(sim):
    """Ports stay masked while the broker looks at busy rings and are
    unmasked before it sleeps: guests that pause at random between
    requests (now while it looks, now while it sleeps) never wait for a
    reply or an event they need."""
    d = ours(sim)
    gs = [sim.introduce(d, 60 + i) for i in range(6)]
    errors = []

    def run(i, g):
        rnd = random.Random(i)
        try:
            for k in range(150):
                if rnd.random() < 0.3:
                    time.sleep(rnd.random() * 0.002)
                if k % 5 == 0:
                    g.write("k", "%d" % k)
                assert g.read("k") == b"%d" % (k - k % 5), k
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    ts = [threading.Thread(target=run, args=(i, g))
          for i, g in enumerate(gs)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(DEADLINE * 2)
    assert not any(t.is_alive() for t in ts)
    assert not errors, errors[0]
    for g in gs:
        g.close()


# -- domain requests over the socket -----------------------------------------


def test_domain_requests(sim):
    d = ours(sim)
    c = dom0(d)
    w = Events(d)
    w.watch("@releaseDomain", "rel")
    w.next()
    assert c.request(xsraw.IS_DOMAIN_INTRODUCED, z("0")).payload == b"T\0"
    assert c.request(xsraw.IS_DOMAIN_INTRODUCED, z("8")).payload == b"F\0"
    assert c.request(xsraw.GET_DOMAIN_PATH, z("8")).payload == \
        b"/local/domain/8\0"
    g8 = sim.introduce(d, 8)
    g9 = sim.introduce(d, 9)
    assert c.request(xsraw.IS_DOMAIN_INTRODUCED, z("8")).payload == b"T\0"
    assert g9.get_domain_path(8) == "/local/domain/8"
    g9.write("data/x", "nine")
    g9.write("private", "p")
    g9.request(X.SET_PERMS, b"private\0n9\0")
    assert gerr(g8, X.READ, b"/local/domain/9/data/x\0") == "EACCES"
    c.ok(xsraw.SET_TARGET, z("8", "9"))
    # 8 acts as 9's owner, 9 gains nothing on 8.
    assert g8.read("/local/domain/9/data/x") == b"nine"
    assert g8.read("/local/domain/9/private") == b"p"
    g8.write("/local/domain/9/data/x", "from 8")
    assert g9.read("data/x") == b"from 8"
    g8.request(X.SET_PERMS, b"/local/domain/9/private\0n9\0r8\0")
    assert c.get_perms("/local/domain/9/private") == ["n9", "r8"]
    g8.write("mine", "8")
    assert gerr(g9, X.READ, b"/local/domain/8/mine\0") == "EACCES"
    # Arguments beyond the second are ignored, as by C xenstored.
    c.ok(xsraw.SET_TARGET, z("8", "9", "10"))
    assert c.err(xsraw.SET_TARGET, z("44", "9")) == "ENOENT"
    # RELEASE: the guest's connection and nodes go, @releaseDomain fires.
    g9.watch("data", "t")
    g9.wait_watch()
    before = memreport(d)
    c.ok(xsraw.RELEASE, z("9"))
    assert w.next() == ["@releaseDomain", "rel"]
    assert c.request(xsraw.IS_DOMAIN_INTRODUCED, z("9")).payload == b"F\0"
    assert c.err(xsraw.RELEASE, z("9")) == "ENOENT"
    assert c.err(xsraw.READ, z("/local/domain/9/data/x")) == "ENOENT"
    after = memreport(d)
    assert after["connections"] == before["connections"] - 1
    assert after["watches"] == before["watches"] - 1
    # 8 lost its target with 9's incarnation.
    assert g8.read("mine") == b"8"
    # The released domain may be introduced again and served afresh.
    g9.close()
    g9 = sim.guest(9)
    gfn, port = sim.domains()[9][2:4]
    c.write("/local/domain/9", "")
    c.set_perms("/local/domain/9", ["n9"])
    c.ok(xsraw.INTRODUCE, z("9", str(gfn), str(port)))
    g9.close()
    g9 = sim.guest(9)
    assert g9.read("/local/domain/9") == b""
    g9.close()
    g8.close()
    w.close()
    c.close()


def test_set_feature_reaches_the_ring(sim):
    """SET_FEATURE before INTRODUCE decides what the guest's ring
    advertises; a domain nobody set keeps every feature, and a released one
    gets them all back."""
    d = ours(sim)
    c = dom0(d)
    c.ok(SET_FEATURE, z("7", "1"))
    assert c.request(GET_FEATURE, z("7")).payload == b"1\0"
    g7 = sim.introduce(d, 7)
    assert g7.server_features == X.FEATURE_RECONNECTION
    assert c.err(SET_FEATURE, z("7", "3")) == "EBUSY"
    g8 = sim.introduce(d, 8)
    assert g8.server_features == 3
    assert c.request(GET_FEATURE, z("8")).payload == b"3\0"
    # The feature set lasts for the domain's incarnation, reconnection
    # included.
    g7.reconnect()
    assert g7.server_features == X.FEATURE_RECONNECTION
    g7.write("data", "x")
    c.ok(xsraw.RELEASE, z("7"))
    assert c.request(GET_FEATURE, z("7")).payload == b"3\0"
    g7.close()
    g8.close()
    c.close()


def test_guest_traffic_is_audited(sim, tmp_path):
    """The broker records a guest's ring traffic like a socket client's:
    its domid, the ring transport, its requests and their results, its
    watch events, and the connection's end when the domain dies."""
    log = tmp_path / "audit.jsonl"
    d = ours(sim, "--audit-log", str(log))
    g = sim.introduce(d, 5)
    g.write("data/x", b"secret")
    assert gerr(g, X.READ, b"/local/domain/0/nope\0") in ("EACCES", "ENOENT")
    g.watch("data", "tok")
    g.wait_watch()
    sim.destroy(5)

    def records():
        with open(log, "rb") as f:
            return [json.loads(line) for line in f.read().decode().splitlines()]

    def complete():
        rs = records()
        return rs if any(r["kind"] == "conn_close" and r.get("domid") == 5
                         for r in rs) else None

    rs = wait_until(complete, timeout=DEADLINE, what="the ring's close record")
    mine = [r for r in rs if r.get("domid") == 5]
    opened = [r for r in mine if r["kind"] == "conn_open"]
    assert opened and opened[0]["transport"] == "ring"
    writes = [r for r in mine if r["kind"] == "request" and r["type"] == "WRITE"]
    # A reply's record names its request's.
    replies = {r["req"]: r for r in rs if r["kind"] == "reply"}
    # The path as the guest sent it.
    assert writes and writes[0]["path"] == "data/x"
    assert replies[writes[0]["seq"]]["result"] == "OK"
    # The value is a secret by default: its length and hash only.
    assert writes[0]["value"]["len"] == 6 and "secret" not in json.dumps(rs)
    reads = [r for r in mine if r["kind"] == "request" and r["type"] == "READ"]
    assert reads and replies[reads[0]["seq"]]["result"] in ("EACCES", "ENOENT")
    assert any(r["kind"] == "watch_event" and r.get("token") == "tok"
               for r in mine)


# -- the engine dies; guests stay ---------------------------------------------


def test_guest_ring_survives_engine_death(sim):
    """A guest's ring connection, its watches, its quota books and its
    domain's introduction outlive the engine: the broker keeps the ring,
    the next engine recovers the store and fires each watch afresh."""
    d = ours(sim)
    g = sim.introduce(d, 5)
    g.watch("data", "tok")
    assert g.wait_watch() == ["data", "tok"]
    for i in range(50):
        g.write("data/n%d" % i, "v%d" % i)
        assert g.wait_watch() == ["data/n%d" % i, "tok"]
    old = _engines(d.proc.pid)
    os.kill(old[0], signal.SIGKILL)
    # The first request after the death waits for the new engine.
    assert gok(g, X.READ, b"data/n7\0").payload == b"v7"
    new = wait_for(lambda: (lambda k: k if k and k != old else None)(
        _engines(d.proc.pid)), "a new engine")
    sim.engines[d] = new  # replaced on purpose
    # The recovered watch fires once afresh, then on every change again.
    assert g.wait_watch() == ["data", "tok"]
    g.write("data/after", "x")
    assert g.wait_watch() == ["data/after", "tok"]
    with dom0(d) as c:
        assert c.request(xsraw.IS_DOMAIN_INTRODUCED, z("5")).payload == b"T\0"
        c.write("/local/domain/5/data/by-dom0", "y")
    assert g.wait_watch() == ["data/by-dom0", "tok"]
    assert memreport(d)["domains"] >= 2
    g.close()


def replace_engine(sim, d, how):
    """Kills the engine (the broker starts another) or live-updates it
    with a copy of its binary; the new engine becomes the daemon's."""
    old = _engines(d.proc.pid)
    if how == "kill":
        os.kill(old[0], signal.SIGKILL)
    else:
        tmp = tempfile.mkdtemp(prefix="xsit-lu-")
        try:
            copy = os.path.join(tmp, "xs-engine-next")
            shutil.copy(ENGINE, copy)
            os.chmod(copy, 0o755)
            r = subprocess.run([XENSTORE_CONTROL, "live-update", copy],
                               env=d.env(), capture_output=True, text=True,
                               timeout=DEADLINE)
            assert r.returncode == 0, r.stdout + r.stderr + d.stderr()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    sim.engines[d] = wait_for(
        lambda: (lambda k: k if k and k != old else None)(
            _engines(d.proc.pid)), "a new engine")


@pytest.mark.parametrize("how", ["kill", "live-update"])
def test_idle_domain_keeps_its_home_with_a_new_engine(sim, how):
    """A domain introduced but silent before the engine was replaced is
    still the owner of its home after the recovery: its incarnation came
    back with the store, not a fresh one that makes its permissions look
    older."""
    if how == "live-update" and not os.access(XENSTORE_CONTROL, os.X_OK):
        pytest.skip("no %s" % XENSTORE_CONTROL)
    d = ours(sim)
    g5 = sim.introduce(d, 5)
    g6 = sim.introduce(d, 6)
    g5.write("data/a", "x")
    replace_engine(sim, d, how)
    assert g5.read("data/a") == b"x"
    g6.write("data/b", "y")
    assert g6.read("data/b") == b"y"
    g5.write("data/c", "z")
    with dom0(d) as c:
        assert c.get_perms("/local/domain/6") == ["n6"]
        assert c.read("/local/domain/6/data/b") == b"y"
    g5.close()
    g6.close()


def node_perms(stream, path):
    """(mode, flags, domid) of each entry of a node in a migration stream;
    flags 1: the entry was meant for an earlier domain with the id."""
    off = 16
    while off + 8 <= len(stream):
        rtype, rlen = struct.unpack_from("<II", stream, off)
        body = stream[off + 8:off + 8 + rlen]
        off += 8 + ((rlen + 7) & ~7)
        if rtype != 5:  # NODE_DATA
            continue
        plen, _, _, nperm = struct.unpack_from("<HHHH", body, 8)
        perms = [struct.unpack_from("<cBH", body, 16 + 4 * i)
                 for i in range(nperm)]
        p = body[16 + 4 * nperm:16 + 4 * nperm + plen - 1]
        if p == path:
            return [(m.decode(), f, i) for m, f, i in perms]
    return None


def test_dump_keeps_the_home_of_an_idle_domain(sim, tmp_path):
    """xs-dump recovers the store from the engine's state as a
    new engine would: the home the toolstack gave a domain before
    INTRODUCE is the domain's in the dump too, not an entry for an earlier
    domain with its id."""
    d = ours(sim)
    g = sim.introduce(d, 6)
    path = str(tmp_path / "store.xs")
    r = subprocess.run([DUMP, path], env=d.env(),
                       capture_output=True, timeout=DEADLINE)
    assert r.returncode == 0, r.stderr.decode()
    with open(path, "rb") as f:
        assert node_perms(f.read(), b"/local/domain/6") == [("n", 0, 6)]
    g.close()


def mixed_step(rnd, conn, opened, prefix, tid_of):
    """One random request of a guest or dom0, in a transaction or not."""
    p = z(prefix + rnd.choice(["a", "a/b", "a/b/c", "a/d", "e", "e/f"]))
    tid = rnd.choice(opened) if opened and rnd.random() < 0.7 else 0
    op = rnd.random()
    if op < 0.1 and len(opened) < 5:
        m = conn.request(X.TRANSACTION_START, b"\0")
        if m.type == X.TRANSACTION_START:
            opened.append(tid_of(m))
    elif op < 0.2 and opened:
        t = opened.pop(rnd.randrange(len(opened)))
        conn.request(X.TRANSACTION_END,
                     b"T\0" if rnd.random() < 0.7 else b"F\0", tx_id=t)
    elif op < 0.6:
        conn.request(X.WRITE, p + b"x" * rnd.randrange(50), tx_id=tid)
    elif op < 0.75:
        conn.request(X.RM, p, tx_id=tid)
    elif op < 0.85:
        conn.request(X.SET_PERMS, p + b"n5\0r0\0", tx_id=tid)
    else:
        conn.request(X.READ, p, tx_id=tid)


def test_replaced_nodes_are_counted_while_kept_and_only_then(sim):
    """Guests' and dom0's transactions, committed, aborted, failing and
    overlapping, with changes outside them: the engine counts the nodes
    that left the store while snapshots keep them, none in the store
    (CONTROL check), and none once every transaction is over."""
    d = ours(sim)
    g = sim.introduce(d, 5)
    c = dom0(d)
    rnd = random.Random(5)
    opened = {"g": [], "c": []}
    for step in range(800):
        if rnd.random() < 0.5:
            mixed_step(rnd, g, opened["g"], "",
                       lambda m: int(m.strings[0]))
        else:
            mixed_step(rnd, c, opened["c"],
                       rnd.choice(["/local/domain/5/", "/d/"]),
                       lambda m: int(m.payload.rstrip(b"\0")))
        if step % 100 == 0:
            assert c.request(xsraw.CONTROL, z("check")).payload == b"OK\0"
    for t in opened["g"]:
        g.request(X.TRANSACTION_END, b"F\0", tx_id=t)
    for t in opened["c"]:
        c.request(X.TRANSACTION_END, b"F\0", tx_id=t)
    assert c.request(xsraw.CONTROL, z("check")).payload == b"OK\0"
    assert memreport(d)["retired node bytes"] == 0
    c.close()
    g.close()


def test_a_commit_that_fails_to_apply_keeps_nothing_retired(sim):
    """A commit applied on the store and taken back (the node quota, used
    up meanwhile) leaves the store's nodes as they were: not counted as
    kept for transactions."""
    d = ours(sim, "-E", "6")
    g = sim.introduce(d, 5)
    c = dom0(d)
    other = int(gok(g, X.TRANSACTION_START, b"\0").strings[0])
    tid = int(gok(g, X.TRANSACTION_START, b"\0").strings[0])
    for i in range(3):
        g.write("t/n%d" % i, "v", tx_id=tid)
    g.write("o", "x")
    g.write("p", "x")
    assert gerr(g, X.TRANSACTION_END, b"T\0", tx_id=tid) == "ENOSPC"
    assert c.request(xsraw.CONTROL, z("check")).payload == b"OK\0"
    gok(g, X.TRANSACTION_END, b"F\0", tx_id=other)
    assert memreport(d)["retired node bytes"] == 0
    c.close()
    g.close()


def test_a_commit_adopted_as_the_store_counts_what_it_replaced(sim):
    """A transaction with nothing committed since its start becomes the
    store as it is: what it removed, and made again differently, lives on
    for another open transaction and is counted until that one ends."""
    d = ours(sim)
    g = sim.introduce(d, 5)
    c = dom0(d)
    g.write("a/y", "Y" * 1500)
    g.write("a/z/w", "W" * 1500)
    other = int(gok(g, X.TRANSACTION_START, b"\0").strings[0])
    tid = int(gok(g, X.TRANSACTION_START, b"\0").strings[0])
    g.rm("a", tx_id=tid)
    g.write("a/x", "x", tx_id=tid)
    gok(g, X.TRANSACTION_END, b"T\0", tx_id=tid)
    assert memreport(d)["retired node bytes"] >= 3000
    assert c.request(xsraw.CONTROL, z("check")).payload == b"OK\0"
    gok(g, X.TRANSACTION_END, b"F\0", tx_id=other)
    assert memreport(d)["retired node bytes"] == 0
    c.close()
    g.close()
