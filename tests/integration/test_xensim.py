# SPDX-License-Identifier: GPL-2.0-only
"""The simulated hypervisor (tests/xensim/) against Debian's daemons.

Debian's C xenstored and oxenstored run under libxensim.so; a simulated
guest talks to them over the real ring layout, dom0 over the Unix socket.
A fake server (libxensim.so loaded through ctypes, playing the daemon's
side) checks the event channel semantics and the guest's ring handling
deterministically.  The libraries come from $XS_BUILD/xensim (the
Makefile builds them); when they are missing they are built into a
temporary directory with tests/xensim/build.sh.
"""

import ctypes
import errno
import fcntl
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "xensim"))

import xensim as X  # noqa: E402

NEED = ("libxensim.so", "libxsguest.so", "xensim")


@pytest.fixture(scope="module")
def build():
    b = X.build_dir()
    if all(os.path.exists(os.path.join(b, n)) for n in NEED):
        yield b
        return
    b = tempfile.mkdtemp(prefix="xensim-build-")
    subprocess.run([os.path.join(REPO, "tests", "xensim", "build.sh"), b],
                   check=True)
    yield b
    shutil.rmtree(b, ignore_errors=True)


@pytest.fixture
def sim(build):
    s = X.Sim(build=build)
    yield s
    for d in s.daemons:
        assert d.stopped or d.alive(), "daemon died:\n" + d.stderr()
    s.close()


def xs(d, *args):
    r = subprocess.run(list(args), env=d.env(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=20)
    assert r.returncode == 0, "%s: %s" % (args, r.stderr.decode())
    return r.stdout.decode().rstrip("\n")


def introduce_guest(sim, d, domid):
    # The toolstack's steps with the command line tools; sim.introduce()
    # does the same over a raw socket.
    gfn, port = sim.create(domid)
    xs(d, "xenstore-write", "/local/domain/%d" % domid, "")
    xs(d, "xenstore-chmod", "/local/domain/%d" % domid, "n%d" % domid)
    X.introduce(d.socket, domid, gfn, port)
    return sim.guest(domid)


def start(sim, daemon):
    return sim.start_xenstored() if daemon == "c" else sim.start_oxenstored()


def lifecycle(sim, d):
    xs(d, "xenstore-write", "/dom0test", "hello")
    assert xs(d, "xenstore-read", "/dom0test") == "hello"

    g = introduce_guest(sim, d, 5)
    assert g.get_domain_path(5) == "/local/domain/5"
    g.write("data/x", "1")
    assert g.read("data/x") == b"1"
    assert xs(d, "xenstore-read", "/local/domain/5/data/x") == "1"

    # A guest watch fires over the ring, for its own and for dom0's writes.
    g.watch("data", "tok")
    assert g.wait_watch() == ["data", "tok"]
    xs(d, "xenstore-write", "/local/domain/5/data/y", "2")
    assert g.wait_watch() == ["data/y", "tok"]
    g.write("data/z", "3")
    assert g.wait_watch() == ["data/z", "tok"]

    w = X.SockWatcher(d.socket)
    try:
        w.watch("@releaseDomain", "rel")
        assert w.wait_event() == ["@releaseDomain", "rel"]
        # shutdown: reported through VIRQ_DOM_EXC and xc_domain_getinfo*.
        g2 = introduce_guest(sim, d, 6)
        g2.write("data/a", "b")
        sim.shutdown(6, X.SHUTDOWN_poweroff)
        assert w.wait_event("@releaseDomain") == ["@releaseDomain", "rel"]
        sim.dying(6)
        sim.destroy(6)
        g2.close()
        assert w.wait_event("@releaseDomain") == ["@releaseDomain", "rel"]
        # destroy without warning
        sim.destroy(5)
        assert w.wait_event("@releaseDomain") == ["@releaseDomain", "rel"]
    finally:
        w.close()
    g.close()
    assert 5 not in sim.domains()
    assert xs(d, "xenstore-read", "/dom0test") == "hello"


def test_c_xenstored(sim):
    d = sim.start_xenstored()
    lifecycle(sim, d)


def test_oxenstored(sim):
    d = sim.start_oxenstored()
    lifecycle(sim, d)
    # The compiled-in /var/run/xenstored/socket went to the run dir.
    assert os.path.exists(os.path.join(d.rundir, "socket"))


def test_oxenstored_ring_reconnection(sim):
    d = sim.start_oxenstored()
    g = sim.introduce(d, 11)
    assert g.server_features & X.FEATURE_RECONNECTION
    g.write("a", "1")
    g.watch("a", "t")
    assert g.wait_watch() == ["a", "t"]
    g.reconnect()
    assert g.connection == 0
    assert g.read("a") == b"1"
    g.write("a", "2")  # the watch went with the reconnection
    assert g.read("a") == b"2"
    assert not g.watch_events
    g.close()


def wait_for(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.01)


@pytest.mark.parametrize("daemon", ["c", "ocaml"])
def test_malicious_guests(sim, daemon):
    d = start(sim, daemon)
    bad_len = sim.introduce(d, 12)
    bad_idx = sim.introduce(d, 13)
    greedy = sim.introduce(d, 14)
    bad_len.send(X.WRITE, b"x", length=X.PAYLOAD_MAX + 1)
    bad_idx.set_indexes(req_prod=bad_idx.ring.req_cons + 3000)
    assert bad_idx.req_space() == 0
    for _ in range(30):  # never reads the replies
        greedy.send(X.READ, b"/local/domain/14\0")
    if daemon == "c":  # C xenstored reports through the error field
        wait_for(lambda: bad_len.error == 3 and bad_idx.error == 2)
    good = sim.introduce(d, 15)
    good.write("ok", "1")
    assert good.read("ok") == b"1"
    assert greedy.rsp_avail() > 0
    assert d.alive()
    for g in (bad_len, bad_idx, greedy, good):
        g.close()
    # oxenstored may sit out SIGTERM while it waits for the rest of the
    # oversized packet; do not wait for it.
    d.stop(timeout=0.5)


@pytest.mark.parametrize("daemon", ["c", "ocaml"])
def test_ring_wraps_and_big_replies(sim, daemon):
    d = start(sim, daemon)
    g = sim.introduce(d, 7)
    # Many requests: far more than 1024 bytes go through req[] and rsp[].
    for i in range(150):
        g.write("data/n%d" % i, "v%d-" % i + "x" * (i % 40))
    for i in range(0, 150, 7):
        assert g.read("data/n%d" % i) == ("v%d-" % i + "x" * (i % 40)).encode()
    assert len(g.directory("data")) == 150
    # A reply larger than the ring arrives in pieces.
    big = "".join(chr(ord("a") + i % 26) for i in range(2000))
    g.write("data/big", big)
    assert g.read("data/big") == big.encode()
    assert g.events > 10
    g.close()


# -- fake server: libxensim.so through ctypes, playing the daemon's side ----


class FakeServer:
    def __init__(self, build, sim_dir, domid, port):
        os.environ["XENSIM_DIR"] = sim_dir
        lib = ctypes.CDLL(os.path.join(build, "libxensim.so"), use_errno=True)
        P, I, U = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32
        for name, res, args in (
                ("xenevtchn_open", P, [P, U]),
                ("xenevtchn_fdopen", P, [P, I, U]),
                ("xenevtchn_close", I, [P]),
                ("xenevtchn_fd", I, [P]),
                ("xenevtchn_bind_interdomain", I, [P, U, U]),
                ("xenevtchn_notify", I, [P, U]),
                ("xenevtchn_pending", I, [P]),
                ("xenevtchn_unmask", I, [P, U]),
                ("xengnttab_open", P, [P, U]),
                ("xengnttab_map_grant_ref", P, [P, U, U, I]),
                ("xengnttab_unmap", I, [P, P, U])):
            f = getattr(lib, name)
            f.restype, f.argtypes = res, args
        self.lib = lib
        self.h = lib.xenevtchn_open(None, 0)
        assert self.h
        self.local = lib.xenevtchn_bind_interdomain(self.h, domid, port)
        assert self.local > 0
        self.gt = lib.xengnttab_open(None, 0)
        assert lib.xengnttab_map_grant_ref(self.gt, domid, 2, 3) is None
        self.addr = lib.xengnttab_map_grant_ref(self.gt, domid, 1, 3)
        assert self.addr
        self.ring = X.Ring.from_address(self.addr)

    def readable(self, timeout):
        fd = self.lib.xenevtchn_fd(self.h)
        return bool(select.select([fd], [], [], timeout)[0])

    def take_event(self, timeout=10.0):
        assert self.readable(timeout), "no event"
        p = self.lib.xenevtchn_pending(self.h)
        assert p == self.local
        return p

    def wait(self):
        self.take_event()
        self.lib.xenevtchn_unmask(self.h, self.local)

    def notify(self):
        assert self.lib.xenevtchn_notify(self.h, self.local) == 0

    def read_req(self, n):
        out = b""
        while len(out) < n:
            r = self.ring
            avail = (r.req_prod - r.req_cons) & 0xffffffff
            if not avail:
                self.wait()
                continue
            take = min(avail, n - len(out))
            base = ctypes.addressof(r)
            for i in range(take):
                out += ctypes.string_at(base + (r.req_cons + i) % 1024, 1)
            r.req_cons = (r.req_cons + take) & 0xffffffff
            self.notify()
        return out

    def write_rsp(self, data, chunk=1024):
        pieces = 0
        while data:
            r = self.ring
            space = 1024 - ((r.rsp_prod - r.rsp_cons) & 0xffffffff)
            if not space:
                self.wait()
                continue
            n = min(space, len(data), chunk)
            base = ctypes.addressof(r) + 1024
            for i in range(n):
                ctypes.memmove(base + (r.rsp_prod + i) % 1024, data[i:i + 1], 1)
            r.rsp_prod = (r.rsp_prod + n) & 0xffffffff
            data = data[n:]
            pieces += 1
            self.notify()
        return pieces

    def close(self):
        self.lib.xengnttab_unmap(self.gt, self.addr, 1)
        self.lib.xenevtchn_close(self.h)


def test_event_channel_semantics(sim, build):
    gfn, port = sim.create(9)
    srv = FakeServer(build, sim.dir, 9, port)
    g = sim.guest(9)
    try:
        assert not srv.readable(0)
        g.notify()
        g.notify()
        assert srv.take_event() == srv.local
        # Masked until unmask: a notification meanwhile is held back ...
        g.notify()
        assert not srv.readable(0.05)
        srv.lib.xenevtchn_unmask(srv.h, srv.local)
        # ... and delivered by the unmask.
        srv.take_event()
        srv.lib.xenevtchn_unmask(srv.h, srv.local)
        assert not srv.readable(0.05)
        # The other direction.
        assert not g.wait_event(0)
        srv.notify()
        assert g.wait_event(5)
        # Grant ref other than GNTTAB_RESERVED_XENSTORE and foreign gfn.
        assert srv.lib.xengnttab_map_grant_ref(srv.gt, 9, 7, 3) is None
        # Destroy: the guest-side port goes; the server's becomes unbound.
        assert 9 in sim.domains()
    finally:
        g.close()
        srv.close()
    sim.destroy(9)
    assert 9 not in sim.domains()


XENEVTCHN_NO_CLOEXEC = 1


def test_event_channel_handle_kept_across_exec(sim, build):
    """A handle opened with XENEVTCHN_NO_CLOEXEC keeps its fd across exec
    (C xenstored's live update); xenevtchn_fdopen adopts it again with
    every port bound on it, and refuses an fd that is no handle of this
    simulation."""
    gfn, port = sim.create(12)
    srv = FakeServer(build, sim.dir, 12, port)
    lib = srv.lib
    g = sim.guest(12)
    kept = lib.xenevtchn_open(None, XENEVTCHN_NO_CLOEXEC)
    try:
        assert fcntl.fcntl(lib.xenevtchn_fd(srv.h), fcntl.F_GETFD) & \
            fcntl.FD_CLOEXEC
        assert kept
        assert not fcntl.fcntl(lib.xenevtchn_fd(kept), fcntl.F_GETFD) & \
            fcntl.FD_CLOEXEC
        fd = lib.xenevtchn_fd(srv.h)
        assert lib.xenevtchn_fdopen(None, fd, 1) is None
        assert ctypes.get_errno() == errno.EINVAL
        # The port bound before, through the adopted handle (which shares
        # srv's fd, closed once by srv.close()): an event pending at the
        # adoption, the mask, then both directions.
        g.notify()
        h = lib.xenevtchn_fdopen(None, fd, 0)
        assert h and lib.xenevtchn_fd(h) == fd
        assert srv.readable(5)
        assert lib.xenevtchn_pending(h) == srv.local
        g.notify()
        assert not srv.readable(0.05)
        assert lib.xenevtchn_unmask(h, srv.local) == 0
        assert lib.xenevtchn_pending(h) == srv.local
        assert lib.xenevtchn_unmask(h, srv.local) == 0
        assert lib.xenevtchn_notify(h, srv.local) == 0
        assert g.wait_event(5)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as other:
            other.bind(b"\0xensim-test-not-a-handle-%d" % os.getpid())
            assert lib.xenevtchn_fdopen(None, other.fileno(), 0) is None
            assert ctypes.get_errno() == errno.EINVAL
        r, w = os.pipe()
        os.close(w)
        assert lib.xenevtchn_fdopen(None, r, 0) is None
        assert ctypes.get_errno() == errno.EBADF
        os.close(r)
    finally:
        g.close()
        lib.xenevtchn_close(kept)
        srv.close()
    sim.destroy(12)


def test_guest_ring_protocol(sim, build):
    """Free-running indexes across 2^32, requests and a reply bigger than
    the ring, against the fake server."""
    gfn, port = sim.create(10)
    srv = FakeServer(build, sim.dir, 10, port)
    start = 0xffffff00
    for f in ("req_cons", "req_prod", "rsp_cons", "rsp_prod"):
        setattr(srv.ring, f, start)
    g = sim.guest(10)
    try:
        total = 0
        for i in range(40):
            payload = b"data/k%d\0" % i + b"v" * 60
            g.send(X.WRITE, payload, req_id=i + 1)
            hdr = srv.read_req(16)
            t, rid, tx, n = struct.unpack("<IIII", hdr)
            assert (t, rid, tx, n) == (X.WRITE, i + 1, 0, len(payload))
            assert srv.read_req(n) == payload
            total += 16 + n
        assert total > 2048
        assert srv.ring.req_prod == (start + total) & 0xffffffff
        assert srv.ring.req_prod < start  # wrapped around 2^32

        # 3000 bytes of reply through a 1024-byte ring, 300 at a time.
        body = bytes(range(256)) * 11 + b"end"
        msg = struct.pack("<IIII", X.READ, 77, 0, len(body)) + body
        res = {}
        t = threading.Thread(target=lambda: res.update(m=g.recv(10)))
        t.start()
        pieces = srv.write_rsp(msg, chunk=300)
        t.join(20)
        assert not t.is_alive()
        assert pieces >= 10
        m = res["m"]
        assert (m.type, m.req_id, m.payload) == (X.READ, 77, body)
        assert g.rsp_avail() == 0

        # Malicious helpers reach the shared page as they are.
        g.set_indexes(req_prod=srv.ring.req_cons + 5000, notify=False)
        assert g.req_space() == 0
        assert (srv.ring.req_prod - srv.ring.req_cons) & 0xffffffff == 5000
    finally:
        g.close()
        srv.close()
