# SPDX-License-Identifier: GPL-2.0-only
"""Python side of the simulated hypervisor (tests/xensim/).

``Sim`` owns one state directory ($XENSIM_DIR): it creates, shuts down,
marks dying and destroys domains, starts daemons under the preload
(``libxensim.so``) and attaches ``Guest`` objects, which play a domU over
the real ring layout through ctypes bindings of ``libxsguest.so`` -- the
same C code and protocol as any C user of guest.h.

The build directory is found from $XENSIM_BUILD, else $XS_BUILD/xensim,
else build/xensim of this checkout.  Typical use::

    sim = Sim()                              # fresh temporary state dir
    d = sim.start_xenstored()                # Debian's C xenstored, or
    d = sim.start_daemon([broker, "-N"])     # anything under the preload
    gfn, port = sim.create(5)
    introduce(d.socket, 5, gfn, port)        # as dom0, over the socket
    g = sim.guest(5)                         # attach after INTRODUCE
    g.write("data/x", "1"); assert g.read("data/x") == b"1"
    sim.destroy(5)
    before = store_snapshot(d.socket)        # {path: (value, perms)}
    d.live_update()                          # xenstore-control live-update
    assert store_snapshot(d.socket) == before
    d.stop(); sim.close()
"""

import ctypes
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections import deque

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

XENSTORED = "/usr/lib/xen-4.17/bin/xenstored"
XENSTORE_CONTROL = "/usr/lib/xen-4.17/bin/xenstore-control"
OXENSTORED = "/usr/lib/xen-4.17/bin/oxenstored"

HDR = struct.Struct("<IIII")
RING_SIZE = 1024
PAYLOAD_MAX = 4096

# xsd_sockmsg_type
CONTROL, DIRECTORY, READ, GET_PERMS, WATCH, UNWATCH = 0, 1, 2, 3, 4, 5
TRANSACTION_START, TRANSACTION_END, INTRODUCE, RELEASE = 6, 7, 8, 9
GET_DOMAIN_PATH, WRITE, MKDIR, RM, SET_PERMS, WATCH_EVENT = 10, 11, 12, 13, 14, 15
ERROR, IS_DOMAIN_INTRODUCED, RESUME, SET_TARGET = 16, 17, 18, 19
RESET_WATCHES, DIRECTORY_PART = 21, 22

VIRQ_DOM_EXC = 3
SHUTDOWN_poweroff, SHUTDOWN_reboot, SHUTDOWN_suspend, SHUTDOWN_crash = 0, 1, 2, 3

FEATURE_RECONNECTION = 1
FEATURE_ERROR = 2


def build_dir():
    d = os.environ.get("XENSIM_BUILD")
    if d:
        return os.path.abspath(d)
    b = os.environ.get("XS_BUILD")
    if b:
        return os.path.join(os.path.abspath(b), "xensim")
    return os.path.join(REPO, "build", "xensim")


class Error(Exception):
    pass


class Msg:
    """One xenstore message: header fields and raw payload."""

    __slots__ = ("type", "req_id", "tx_id", "payload")

    def __init__(self, type_, req_id, tx_id, payload):
        self.type = type_
        self.req_id = req_id
        self.tx_id = tx_id
        self.payload = payload

    @property
    def is_error(self):
        return self.type == ERROR

    @property
    def strings(self):
        parts = self.payload.split(b"\0")
        if parts and parts[-1] == b"":
            parts.pop()
        return [p.decode("latin-1") for p in parts]

    def __repr__(self):
        return "Msg(type=%d, req_id=%d, tx_id=%d, payload=%r)" % (
            self.type, self.req_id, self.tx_id, self.payload)


class Ring(ctypes.Structure):
    """struct xenstore_domain_interface (xen/io/xs_wire.h)."""
    _fields_ = [
        ("req", ctypes.c_char * RING_SIZE),
        ("rsp", ctypes.c_char * RING_SIZE),
        ("req_cons", ctypes.c_uint32),
        ("req_prod", ctypes.c_uint32),
        ("rsp_cons", ctypes.c_uint32),
        ("rsp_prod", ctypes.c_uint32),
        ("server_features", ctypes.c_uint32),
        ("connection", ctypes.c_uint32),
        ("error", ctypes.c_uint32),
    ]


class SockMsg(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint32), ("req_id", ctypes.c_uint32),
                ("tx_id", ctypes.c_uint32), ("len", ctypes.c_uint32)]


_LIBS = {}


def _lib(build=None):
    path = os.path.join(build or build_dir(), "libxsguest.so")
    lib = _LIBS.get(path)
    if lib:
        return lib
    lib = ctypes.CDLL(path, use_errno=True)
    P, I, U32, U64, SZ = (ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32,
                          ctypes.c_uint64, ctypes.c_size_t)
    sigs = {
        "xsg_attach": (P, [ctypes.c_char_p, U32]),
        "xsg_detach": (None, [P]),
        "xsg_ring": (P, [P]),
        "xsg_port": (U32, [P]),
        "xsg_fd": (I, [P]),
        "xsg_notify": (I, [P]),
        "xsg_wait": (I, [P, I]),
        "xsg_events": (U64, [P]),
        "xsg_req_space": (SZ, [P]),
        "xsg_rsp_avail": (SZ, [P]),
        "xsg_put": (SZ, [P, ctypes.c_char_p, SZ]),
        "xsg_get": (SZ, [P, ctypes.c_char_p, SZ]),
        "xsg_write_all": (I, [P, ctypes.c_char_p, SZ, I]),
        "xsg_read_all": (I, [P, ctypes.c_char_p, SZ, I]),
        "xsg_send": (I, [P, U32, U32, U32, ctypes.c_char_p, U32, I]),
        "xsg_recv": (I, [P, ctypes.POINTER(SockMsg), ctypes.c_char_p, SZ, I]),
        "xsg_reconnect": (I, [P, I]),
        "xsg_dom_create": (I, [ctypes.c_char_p, U32, ctypes.POINTER(U64),
                               ctypes.POINTER(U32)]),
        "xsg_dom_shutdown": (I, [ctypes.c_char_p, U32, U32]),
        "xsg_dom_dying": (I, [ctypes.c_char_p, U32]),
        "xsg_dom_destroy": (I, [ctypes.c_char_p, U32]),
        "xsg_dom0": (I, [ctypes.c_char_p, ctypes.POINTER(U32), ctypes.c_char_p]),
    }
    for name, (res, args) in sigs.items():
        f = getattr(lib, name)
        f.restype = res
        f.argtypes = args
    _LIBS[path] = lib
    return lib


def _check(r, what):
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, "%s: %s" % (what, os.strerror(e)))
    return r


def _ms(timeout):
    return -1 if timeout is None else max(0, int(timeout * 1000))


def _b(s):
    return s.encode() if isinstance(s, str) else bytes(s)


class Guest:
    """The guest side of domain ``domid``'s xenstore ring.

    Attach only after the daemon answered INTRODUCE (C xenstored resets the
    ring then).  Timeouts are in seconds; None waits forever.  Replies go
    through ``request``; watch events that arrive meanwhile are queued for
    ``wait_watch``.
    """

    def __init__(self, sim_dir, domid, build=None, timeout=10.0):
        self._lib = _lib(build)
        self.domid = domid
        self.timeout = timeout
        self._h = self._lib.xsg_attach(_b(sim_dir), domid)
        if not self._h:
            e = ctypes.get_errno()
            raise OSError(e, "attach dom%d: %s" % (domid, os.strerror(e)))
        self.ring = Ring.from_address(self._lib.xsg_ring(self._h))
        self.port = self._lib.xsg_port(self._h)
        self.watch_events = deque()
        self._req_id = 0

    def close(self):
        if self._h:
            self.ring = None
            self._lib.xsg_detach(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    # -- raw ring access ---------------------------------------------

    def fd(self):
        return self._lib.xsg_fd(self._h)

    def notify(self):
        _check(self._lib.xsg_notify(self._h), "notify")

    def wait_event(self, timeout=None):
        """True if an event arrived within timeout."""
        t = self.timeout if timeout is None else timeout
        return _check(self._lib.xsg_wait(self._h, _ms(t)), "wait") == 1

    @property
    def events(self):
        """Number of events received so far."""
        return self._lib.xsg_events(self._h)

    def req_space(self):
        return self._lib.xsg_req_space(self._h)

    def rsp_avail(self):
        return self._lib.xsg_rsp_avail(self._h)

    def put(self, data):
        """Copies as much of data as fits into req[]; no notification."""
        data = _b(data)
        return self._lib.xsg_put(self._h, data, len(data))

    def get(self, max_bytes=RING_SIZE):
        """Takes up to max_bytes from rsp[]; no notification."""
        buf = ctypes.create_string_buffer(max_bytes)
        n = self._lib.xsg_get(self._h, buf, max_bytes)
        return buf.raw[:n]

    def write_all(self, data, timeout=None):
        data = _b(data)
        t = self.timeout if timeout is None else timeout
        _check(self._lib.xsg_write_all(self._h, data, len(data), _ms(t)),
               "write")

    def read_all(self, n, timeout=None):
        t = self.timeout if timeout is None else timeout
        buf = ctypes.create_string_buffer(max(n, 1))
        _check(self._lib.xsg_read_all(self._h, buf, n, _ms(t)), "read")
        return buf.raw[:n]

    def set_indexes(self, req_cons=None, req_prod=None, rsp_cons=None,
                    rsp_prod=None, notify=True):
        """Malicious helper: overwrite ring indexes (and notify)."""
        for name, v in (("req_cons", req_cons), ("req_prod", req_prod),
                        ("rsp_cons", rsp_cons), ("rsp_prod", rsp_prod)):
            if v is not None:
                setattr(self.ring, name, v & 0xffffffff)
        if notify:
            self.notify()

    @property
    def server_features(self):
        return self.ring.server_features

    @property
    def connection(self):
        return self.ring.connection

    @connection.setter
    def connection(self, v):
        self.ring.connection = v

    @property
    def error(self):
        return self.ring.error

    def reconnect(self, timeout=None):
        """Ring reconnection: connection=1, notify, wait for 0."""
        t = self.timeout if timeout is None else timeout
        _check(self._lib.xsg_reconnect(self._h, _ms(t)), "reconnect")
        self.watch_events.clear()

    # -- messages ------------------------------------------------------

    def send(self, type_, payload=b"", req_id=None, tx_id=0, timeout=None,
             length=None):
        """Writes one message; length overrides the header's len field
        (malicious helper: the payload written is still ``payload``)."""
        payload = _b(payload)
        if req_id is None:
            self._req_id += 1
            req_id = self._req_id
        t = self.timeout if timeout is None else timeout
        hdr = HDR.pack(type_, req_id, tx_id,
                       len(payload) if length is None else length)
        self.write_all(hdr + payload, t)
        return req_id

    def recv(self, timeout=None, max_payload=65536):
        """Reads the next message, whatever it is."""
        t = self.timeout if timeout is None else timeout
        h = SockMsg()
        buf = ctypes.create_string_buffer(max_payload)
        n = _check(self._lib.xsg_recv(self._h, ctypes.byref(h), buf,
                                      max_payload, _ms(t)), "recv")
        return Msg(h.type, h.req_id, h.tx_id, buf.raw[:n])

    def request(self, type_, payload=b"", tx_id=0, timeout=None):
        """Sends a request and returns its reply; queues watch events."""
        req_id = self.send(type_, payload, tx_id=tx_id, timeout=timeout)
        while True:
            m = self.recv(timeout)
            if m.type == WATCH_EVENT:
                self.watch_events.append(m)
                continue
            if m.req_id != req_id:
                raise Error("reply for req_id %d, wanted %d: %r" % (
                    m.req_id, req_id, m))
            return m

    def wait_watch(self, timeout=None):
        """The next WATCH_EVENT as [path, token]."""
        if not self.watch_events:
            while True:
                m = self.recv(timeout)
                if m.type == WATCH_EVENT:
                    break
                raise Error("unexpected message %r" % m)
        else:
            m = self.watch_events.popleft()
        return m.strings

    def _ok(self, m, what):
        if m.is_error:
            raise Error("%s: %s" % (what, m.strings[0] if m.strings else m))
        return m

    def write(self, path, value, tx_id=0):
        self._ok(self.request(WRITE, _b(path) + b"\0" + _b(value),
                              tx_id), "WRITE " + path)

    def read(self, path, tx_id=0):
        return self._ok(self.request(READ, _b(path) + b"\0", tx_id),
                        "READ " + path).payload

    def mkdir(self, path, tx_id=0):
        self._ok(self.request(MKDIR, _b(path) + b"\0", tx_id), "MKDIR " + path)

    def rm(self, path, tx_id=0):
        self._ok(self.request(RM, _b(path) + b"\0", tx_id), "RM " + path)

    def directory(self, path, tx_id=0):
        return self._ok(self.request(DIRECTORY, _b(path) + b"\0", tx_id),
                        "DIRECTORY " + path).strings

    def watch(self, path, token):
        self._ok(self.request(WATCH, _b(path) + b"\0" + _b(token) + b"\0"),
                 "WATCH " + path)

    def unwatch(self, path, token):
        self._ok(self.request(UNWATCH, _b(path) + b"\0" + _b(token) + b"\0"),
                 "UNWATCH " + path)

    def get_domain_path(self, domid):
        return self._ok(self.request(GET_DOMAIN_PATH, b"%d\0" % domid),
                        "GET_DOMAIN_PATH").strings[0]


# -- raw socket client (dom0) ----------------------------------------------


def sock_request(path, type_, payload, timeout=10.0, req_id=1, tx_id=0):
    """One request over the daemon's Unix socket; returns the reply Msg."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(HDR.pack(type_, req_id, tx_id, len(payload)) + payload)
        while True:
            m = _sock_recv(s)
            if m.type != WATCH_EVENT:
                return m
    finally:
        s.close()


def _sock_recv(s):
    def exact(n):
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                raise Error("connection closed")
            b += c
        return b
    t, r, x, n = HDR.unpack(exact(HDR.size))
    return Msg(t, r, x, exact(n))


def introduce(sock_path, domid, gfn, port, timeout=10.0):
    """INTRODUCE domid over the daemon's socket; raises on error."""
    m = sock_request(sock_path, INTRODUCE,
                     b"%d\0%d\0%d\0" % (domid, gfn, port), timeout)
    if m.is_error:
        raise Error("INTRODUCE %d: %r" % (domid, m))
    return m


def introduce_domain(sim, sock_path, domid, timeout=10.0, home=True):
    """The toolstack's part for a new guest: creates domid in the
    simulation, makes /local/domain/<domid> owned by it (home=True),
    INTRODUCEs it to the daemon at sock_path and returns an attached
    Guest (attached after the INTRODUCE reply, as C xenstored resets the
    ring then)."""
    gfn, port = sim.create(domid)
    if home:
        path = b"/local/domain/%d" % domid
        for t, p in ((WRITE, path + b"\0"),
                     (SET_PERMS, path + b"\0n%d\0" % domid)):
            m = sock_request(sock_path, t, p, timeout)
            if m.is_error:
                raise Error("%d %s: %r" % (t, path, m))
    introduce(sock_path, domid, gfn, port, timeout)
    return sim.guest(domid, timeout)


class SockWatcher:
    """A dom0 socket connection that holds watches."""

    def __init__(self, sock_path, timeout=10.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(sock_path)
        self.events = deque()
        self._req = 0

    def request(self, type_, payload):
        self._req += 1
        self.s.sendall(HDR.pack(type_, self._req, 0, len(payload)) + payload)
        while True:
            m = _sock_recv(self.s)
            if m.type == WATCH_EVENT:
                self.events.append(m.strings)
                continue
            return m

    def watch(self, path, token):
        m = self.request(WATCH, _b(path) + b"\0" + _b(token) + b"\0")
        if m.is_error:
            raise Error("WATCH %s: %r" % (path, m))

    def wait_event(self, want=None, timeout=10.0):
        """Next event [path, token] (whose path is want, if given)."""
        deadline = time.monotonic() + timeout
        while True:
            while self.events:
                ev = self.events.popleft()
                if want is None or ev[0] == want:
                    return ev
            left = deadline - time.monotonic()
            if left <= 0:
                raise Error("no watch event %r" % (want,))
            self.s.settimeout(left)
            m = _sock_recv(self.s)
            if m.type == WATCH_EVENT:
                self.events.append(m.strings)

    def close(self):
        self.s.close()


def store_snapshot(sock_path, root="/", timeout=10.0):
    """{path: (value, permissions)} of every node under root, read over
    one socket connection as dom0: what a before/after comparison of a
    whole store needs.  The walk keeps its own stack, so a deep tree
    costs no recursion."""
    c = SockWatcher(sock_path, timeout)
    try:
        out = {}
        todo = [root]
        while todo:
            path = todo.pop()
            p = _b(path) + b"\0"
            value, perms, children = (c.request(t, p)
                                      for t in (READ, GET_PERMS, DIRECTORY))
            for m, what in ((value, "READ"), (perms, "GET_PERMS"),
                            (children, "DIRECTORY")):
                if m.is_error:
                    raise Error("%s %s: %r" % (what, path, m))
            out[path] = (value.payload, tuple(perms.strings))
            base = path.rstrip("/")
            todo.extend(base + "/" + n for n in children.strings)
        return out
    finally:
        c.close()


# -- daemons ----------------------------------------------------------------


class Daemon:
    """A process started under the preload."""

    def __init__(self, cmd, env, rundir, sock, owns_rundir):
        self.cmd = cmd
        self.rundir = rundir
        self.socket = sock
        self._owns = owns_rundir
        self.stopped = False
        self.stderr_path = os.path.join(rundir, "stderr.log")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self._err, stderr=self._err,
                                     start_new_session=True)

    def wait_ready(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise Error("%s exited with %s:\n%s" % (
                    " ".join(self.cmd), self.proc.returncode, self.stderr()))
            try:
                m = sock_request(self.socket, READ, b"/\0", timeout=2.0)
                if m is not None:
                    return self
            except (OSError, Error):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise Error("%s not serving after %ss:\n%s" % (
                    " ".join(self.cmd), timeout, self.stderr()))
            time.sleep(0.02)

    def alive(self):
        return self.proc.poll() is None

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def env(self):
        e = dict(os.environ)
        e["XENSTORED_PATH"] = self.socket
        return e

    def live_update(self, binary=None, extra=(), timeout=90.0):
        """Live-updates the daemon with xenstore-control to binary (default
        the daemon's own), extra being further options of xenstore-control
        live-update (-c CMDLINE, -F, -t SECONDS).  Returns once the daemon
        answered OK, and raises unless the process started as this daemon
        is still running: an update execs in place (or replaces a part of
        it), it never starts another.  Its state dump stays in the
        daemon's run directory (Sim.start_daemon)."""
        cmd = [XENSTORE_CONTROL, "live-update"] + list(extra) + [
            binary or self.cmd[0]]
        r = subprocess.run(cmd, env=self.env(), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
        out = r.stdout.decode("utf-8", "replace")
        if r.returncode or not self.alive():
            raise Error("%s: %s\n%s" % (" ".join(cmd), out.strip(),
                                          self.stderr()))
        return self

    def stop(self, timeout=5.0):
        """SIGTERM, then SIGKILL after timeout; removes an own run dir."""
        self.stopped = True
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._err.close()
        if self._owns:
            shutil.rmtree(self.rundir, ignore_errors=True)


class Sim:
    """One simulated host: a state directory with dom0 in it."""

    def __init__(self, sim_dir=None, build=None):
        self.build = build or build_dir()
        self._owns = sim_dir is None
        self.dir = sim_dir or tempfile.mkdtemp(prefix="xensim-")
        # xs-broker maps guests' rings (the files in here) after it has
        # left root for its own user, as Xen lets a gntdev fd's holder.
        if self._owns:
            os.chmod(self.dir, 0o755)
        self.tool = os.path.join(self.build, "xensim")
        self.preload = os.path.join(self.build, "libxensim.so")
        self.ctl("init")
        self.daemons = []

    # control, in process (libxsguest) -------------------------------

    def ctl(self, *args):
        """Runs the xensim tool; returns its stdout."""
        env = dict(os.environ, XENSIM_DIR=self.dir)
        r = subprocess.run([self.tool] + [str(a) for a in args], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode:
            raise Error("xensim %s: %s" % (" ".join(map(str, args)),
                                          r.stderr.decode().strip()))
        return r.stdout.decode()

    def create(self, domid):
        """New domain; returns (gfn, port) for INTRODUCE."""
        gfn, port = ctypes.c_uint64(), ctypes.c_uint32()
        _check(_lib(self.build).xsg_dom_create(_b(self.dir), domid,
                                                ctypes.byref(gfn),
                                                ctypes.byref(port)),
               "create dom%d" % domid)
        return gfn.value, port.value

    def shutdown(self, domid, reason=SHUTDOWN_poweroff):
        _check(_lib(self.build).xsg_dom_shutdown(_b(self.dir), domid, reason),
               "shutdown dom%d" % domid)

    def dying(self, domid):
        _check(_lib(self.build).xsg_dom_dying(_b(self.dir), domid),
               "dying dom%d" % domid)

    def destroy(self, domid):
        _check(_lib(self.build).xsg_dom_destroy(_b(self.dir), domid),
               "destroy dom%d" % domid)

    def dom0(self):
        """(ring page path, port) of dom0's ring."""
        port = ctypes.c_uint32()
        path = ctypes.create_string_buffer(600)
        _check(_lib(self.build).xsg_dom0(_b(self.dir), ctypes.byref(port),
                                         path), "dom0")
        return path.value.decode(), port.value

    def domains(self):
        """{domid: (flags, reason, gfn, port)} as the tool lists them."""
        out = {}
        for line in self.ctl("list").splitlines():
            d, f, r, g, p = (int(x) for x in line.split())
            out[d] = (f, r, g, p)
        return out

    def guest(self, domid, timeout=10.0):
        """Attach to domid's ring as the guest."""
        return Guest(self.dir, domid, self.build, timeout)

    def introduce(self, daemon, domid, timeout=10.0, home=True):
        """create + /local/domain/<domid> + INTRODUCE + attach: a Guest."""
        return introduce_domain(self, daemon.socket, domid, timeout, home)

    # daemons -------------------------------------------------------------

    def env(self, base=None):
        """Environment for a process that should use this simulation."""
        e = dict(os.environ if base is None else base)
        e["XENSIM_DIR"] = self.dir
        pre = e.get("LD_PRELOAD")
        e["LD_PRELOAD"] = self.preload + (" " + pre if pre else "")
        return e

    def start_daemon(self, cmd, rundir=None, sock=None, env=None,
                     wait=True, timeout=20.0):
        """Starts cmd under the preload with XENSTORED_RUNDIR=rundir and
        waits until sock (default rundir/socket) answers a READ."""
        owns = rundir is None
        rundir = rundir or tempfile.mkdtemp(prefix="xensim-run-")
        if os.path.basename(cmd[0]) == "xs-broker":
            # Options the test run adds to every broker (the sanitizer
            # build needs --engine-as-limit 0), as conftest.py does.
            cmd = list(cmd) + os.environ.get("XS_EXTRA", "").split()
        e = self.env(env)
        e["XENSTORED_RUNDIR"] = rundir
        # Where a live update leaves its state dump: C xenstored 4.17 in
        # XENSTORED_RUNDIR, earlier ones and launch-xenstore's users in
        # XENSTORED_ROOTDIR; nothing of a test belongs in /var/lib.
        e["XENSTORED_ROOTDIR"] = rundir
        d = Daemon(list(cmd), e, rundir, sock or os.path.join(rundir, "socket"),
                   owns)
        self.daemons.append(d)
        return d.wait_ready(timeout) if wait else d

    def start_xenstored(self, args=(), rundir=None, **kw):
        """Debian's C xenstored in the foreground (-N), tracing to
        rundir/trace."""
        rundir = rundir or tempfile.mkdtemp(prefix="xensim-cxs-")
        cmd = [XENSTORED, "-N", "-T", os.path.join(rundir, "trace")] + list(args)
        d = self.start_daemon(cmd, rundir=rundir, **kw)
        d._owns = True
        return d

    def start_oxenstored(self, args=(), rundir=None, **kw):
        """Debian's oxenstored in the foreground with a private config.

        Its run directory /var/run/xenstored is compiled in; the preload
        moves the socket it binds there into rundir (XENSIM_XS_RUNDIR), so
        instances do not collide and nothing is left in /var/run."""
        rundir = rundir or tempfile.mkdtemp(prefix="xensim-oxs-")
        ring, _ = self.dom0()
        conf = os.path.join(rundir, "oxenstored.conf")
        with open(conf, "w") as f:
            f.write("\n".join([
                "pid-file = %s/xenstored.pid" % rundir,
                "xenstored-kva = %s" % ring,
                "xenstored-port = %s/xsd_port" % self.dir,
                "persistent = false",
                "merge-activate = true",
                "perms-activate = true",
                "perms-watch-activate = true",
                "quota-activate = true",
                "xenstored-log-file = %s/xenstored.log" % rundir,
                "xenstored-log-level = debug",
                "access-log-file = %s/access.log" % rundir,
                "ring-scan-interval = 20",
                ""]))
        env = dict(kw.pop("env", None) or os.environ)
        env["XENSIM_XS_RUNDIR"] = rundir
        cmd = [OXENSTORED, "--no-fork", "--config-file", conf] + list(args)
        d = self.start_daemon(cmd, rundir=rundir, env=env, **kw)
        d._owns = True
        return d

    def reset(self):
        """Stops this simulation's daemons and destroys every domain but
        dom0, so that one Sim can serve many tests in turn: a process can
        open at most 256 simulation directories (MAX_CTX in core.c)."""
        for d in self.daemons:
            d.stop()
        self.daemons = []
        for domid in self.domains():
            if domid:
                self.destroy(domid)

    def close(self):
        for d in self.daemons:
            d.stop()
        self.daemons = []
        if self._owns:
            shutil.rmtree(self.dir, ignore_errors=True)


def private_netns(flag, script):
    """Re-executes script in a new network namespace where
    net.unix.max_dgram_qlen is raised: the simulated event channels are
    datagrams to one socket per daemon, and the default queue of 10 would
    make a guest's notification sleep 1 ms whenever 10 are queued -- an
    artefact of the simulation (a Xen event channel is a pending bit), the
    same for every daemon. Unix socket paths are unaffected. flag, an
    environment variable, says the script runs there already. Returns
    False where it cannot (not root); in the namespace, True."""
    if os.environ.get(flag) == "1":
        try:
            with open("/proc/sys/net/unix/max_dgram_qlen", "w") as f:
                f.write("4096")
        except OSError as e:
            print("warning: cannot raise max_dgram_qlen: %s" % e,
                  file=sys.stderr)
        return True
    if os.geteuid() == 0 and shutil.which("unshare"):
        env = dict(os.environ, **{flag: "1"})
        os.execvpe("unshare", ["unshare", "--net", "--", sys.executable,
                               os.path.abspath(script)] + sys.argv[1:], env)
    return False


def machine():
    """The CPU model, the number of CPUs and the kernel: what a figure was
    measured on."""
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d CPUs, Linux %s" % (cpu, os.cpu_count(), os.uname().release)
