#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""`make soak` and `make check-soak`: many simulated domains for a long time.

xs-broker runs under the simulated hypervisor (tests/xensim/).  A toolstack
thread, dom0 on the socket, creates domains the way xl does (bootstorm-style
transactions that write /vm/<uuid>, /local/domain/N and backend directories
and increment a shared counter), introduces them, and later destroys them
and removes what it wrote; freed domain ids are given to new domains.  It
also runs hotplug transactions that read a guest's frontend state node.
Worker threads play the guests over their rings: most write, read, watch and
run transactions in their own trees; some are hostile: they flood requests
and never read the replies, reconnect their ring or are RELEASEd and
INTRODUCEd again, fill their node quota, or rewrite the node that dom0's
hotplug transactions read, so that dom0's commits fail.

Checked (never a timing): every reply; a domain given a used id sees
nothing of its predecessor; every dom0 commit succeeds within
MAX_DOM0_RETRIES retries (the engine's conflict accounting, docs/security.md);
the counter equals dom0's commits; the engine never restarts; its `check`
control command finds its accounting sound.  Resource levels: the engine's
and the broker's allocator bytes in use (`xenstore-control memreport`, the
broker's SIGUSR1 status line), their node/watch/transaction/connection
counts and the open fds of broker, spawner and engine are taken after a
warm-up cycle (the whole population created, run and destroyed) and again
after the run, when every domain is gone: the counts and fds must be equal,
the memory within MEM_SLACK_PCT percent or MEM_SLACK_BYTES of the warm-up
figure, whichever is larger.  In the sanitizer build, the broker's exit
(LeakSanitizer) and every process's stderr must report nothing.

  soak.py [--seconds N] [--domains N] [--workers N] [--report docs/soak.md]
"""

import argparse
import os
import queue
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "xensim"))
import xensim as X  # noqa: E402

BUILD = os.path.abspath(os.environ.get("XS_BUILD", os.path.join(REPO, "build")))
BROKER = os.path.join(BUILD, "bin", "xs-broker")
# The daemon's log of the last run, kept: its run directory is not.
LOG = os.path.join(BUILD, "soak.log")

# docs/security.md: a dom0 transaction commits within 5 retries whatever
# guests write (engine/conflict.c, CONFLICT_RUN_ALL).
MAX_DOM0_RETRIES = 5
# Allocator fragmentation and caches sized by the first requests of a kind.
MEM_SLACK_PCT = 10
MEM_SLACK_BYTES = 256 * 1024
# A guest's node quota for this run, small so that quota hits are cheap.
NODE_QUOTA = 128
# How often the toolstack runs a hotplug transaction when it has no
# domain to create: the load's shape, not a measurement.
HOTPLUG_EVERY = 0.02
IO_TIMEOUT = 60.0
SETTLE_TIMEOUT = 120.0

KINDS = (("normal", 70), ("flood", 8), ("reconnect", 8), ("quota", 7),
         ("conflict", 7))
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:",
                     "LeakSanitizer", "AddressSanitizer:DEADLYSIGNAL")


class SoakError(Exception):
    pass


def z(*parts):
    return b"".join((p.encode() if isinstance(p, str) else p) + b"\0"
                    for p in parts)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.v = {}

    def add(self, key, n=1):
        with self.lock:
            self.v[key] = self.v.get(key, 0) + n

    def max(self, key, n):
        with self.lock:
            self.v[key] = max(self.v.get(key, 0), n)

    def get(self, key):
        with self.lock:
            return self.v.get(key, 0)


STATS = Stats()


# -- dom0 on the socket -------------------------------------------------------


class Dom0:
    """One toolstack connection: requests in turn, watch events dropped."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(IO_TIMEOUT)
        self.s.connect(path)
        self.req = 0

    def request(self, type_, payload, tx=0):
        self.req += 1
        self.s.sendall(X.HDR.pack(type_, self.req, tx, len(payload)) + payload)
        STATS.add("requests")
        while True:
            m = X._sock_recv(self.s)
            if m.type == X.WATCH_EVENT:
                continue
            if m.req_id != self.req:
                raise SoakError("dom0: reply %r to request %d" % (m, self.req))
            return m

    def ok(self, type_, payload, tx=0):
        m = self.request(type_, payload, tx)
        if m.is_error:
            raise SoakError("dom0 %d %r: %s" % (type_, payload, m.strings))
        return m

    def transact(self, body):
        """Runs body(tx) in transactions until one commits; EAGAIN from the
        commit or any request in it starts again.  Returns the retries."""
        retries = 0
        while True:
            tx = int(self.ok(X.TRANSACTION_START, z("")).strings[0])
            if body(tx) and self._end(tx, True):
                STATS.add("dom0_commits")
                STATS.max("dom0_max_retries", retries)
                if retries > MAX_DOM0_RETRIES:
                    raise SoakError("a dom0 commit took %d retries, more than "
                                    "the %d promised" % (retries,
                                                         MAX_DOM0_RETRIES))
                return retries
            retries += 1
            STATS.add("dom0_retries")

    def _end(self, tx, commit):
        m = self.request(X.TRANSACTION_END, z("T" if commit else "F"), tx)
        if m.is_error:
            if m.strings == ["EAGAIN"]:
                return False
            raise SoakError("TRANSACTION_END: %s" % m.strings)
        return True

    def tx_ok(self, tx, type_, payload):
        """A request in tx: its reply, or None for EAGAIN (the attempt is
        aborted)."""
        m = self.request(type_, payload, tx)
        if m.is_error:
            if m.strings == ["EAGAIN"]:
                self._end(tx, False)
                return None
            raise SoakError("dom0 %d %r in tx: %s" % (type_, payload,
                                                      m.strings))
        return m

    def control(self, *args):
        return self.ok(X.CONTROL, z(*args)).payload.rstrip(b"\0").decode()

    def children(self, path):
        m = self.request(X.DIRECTORY, z(path))
        if m.is_error:
            return None
        return m.strings

    def close(self):
        self.s.close()


# -- domains --------------------------------------------------------------


class Dom:
    def __init__(self, domid, gen, kind, life):
        self.domid = domid
        self.gen = gen
        self.kind = kind
        self.life = life  # steps until the guest is done
        self.guest = None
        self.gfn = self.port = None
        self.action = None  # what the toolstack is asked: destroy, reintroduce
        self.written = {}
        self.watching = False
        self.step = 0


def uuid(d):
    return "%08x-0000-4000-8000-%012d" % (d.domid, d.gen)


class Toolstack(threading.Thread):
    """dom0: creates, introduces, reintroduces and destroys domains, and
    runs hotplug transactions, in one connection, in turn."""

    def __init__(self, sim, daemon, domains, workers, rng, inbox):
        super().__init__(name="toolstack", daemon=True)
        self.sim = sim
        self.d0 = Dom0(daemon.socket)
        self.domains = domains
        self.workers = workers
        self.rng = rng
        self.inbox = inbox  # Dom with .action, or a phase to start
        self.free = list(range(1, domains + 1))
        self.live = {}  # domid -> Dom, introduced, not yet handed back
        self.gens = {}
        self.sock = daemon.socket
        self.creating = False
        self.stop_at = 0.0
        self.error = None
        self.done = None  # set when a phase's domains are all gone
        self.counter = 0
        self.next_hotplug = 0.0
        self.d0.ok(X.WRITE, z("/soak/counter", "0")[:-1])
        for p in ("/vm", "/local/domain/0/backend/vbd",
                  "/local/domain/0/backend/vif"):
            self.d0.ok(X.MKDIR, z(p))

    def run(self):
        try:
            self._run()
        except Exception as e:  # reported by the main thread
            self.error = e

    def _run(self):
        nxt = 0
        while True:
            busy = False
            while True:
                try:
                    d = self.inbox.get_nowait()
                except queue.Empty:
                    break
                busy = True
                if isinstance(d, tuple):
                    self.start_phase(*d)
                elif d.action == "reintroduce" and self.creating:
                    self.reintroduce(d)
                else:
                    self.destroy(d)
            if (self.creating and time.monotonic() >= self.stop_at and
                    len(self.gens) == self.domains):
                self.creating = False
                for w in self.workers:
                    w.retire_all.set()
            if self.creating and self.free:
                self.create(self.free.pop(0), nxt % len(self.workers))
                nxt += 1
                busy = True
            elif (self.creating and self.live and
                  time.monotonic() >= self.next_hotplug):
                self.hotplug()
                self.next_hotplug = time.monotonic() + HOTPLUG_EVERY
                busy = True
            if not busy:
                if self.done and not self.creating and not self.live:
                    self.done.set()
                    self.done = None
                time.sleep(0.005)

    def start_phase(self, seconds, done):
        for w in self.workers:
            w.retire_all.clear()
        self.stop_at = time.monotonic() + seconds
        self.creating = True
        self.done = done

    # xl's part of a new domain: its home, then one transaction for its
    # /vm entry, its tree and its backends, and the shared counter.
    def create(self, domid, widx):
        kind = self.rng.choices([k for k, _ in KINDS],
                                [w for _, w in KINDS])[0]
        gen = self.gens.get(domid, 0) + 1
        self.gens[domid] = gen
        d = Dom(domid, gen, kind, self.rng.randint(20, 80))
        d.gfn, d.port = self.sim.create(domid)
        self.tree(d)
        X.introduce(self.sock, domid, d.gfn, d.port, IO_TIMEOUT)
        STATS.add("requests")
        d.guest = self.sim.guest(domid, IO_TIMEOUT)
        STATS.add("domains_created")
        STATS.add("kind_" + kind)
        self.live[domid] = d
        STATS.max("domains_live_max", len(self.live))
        self.workers[widx].inbox.put(d)

    def tree(self, d):
        domid = d.domid
        home = "/local/domain/%d" % domid
        self.d0.ok(X.WRITE, z(home, "")[:-1])
        self.d0.ok(X.SET_PERMS, z(home, "n%d" % domid))
        vm = "/vm/" + uuid(d)
        vbd = "/local/domain/0/backend/vbd/%d/51712" % domid
        vif = "/local/domain/0/backend/vif/%d/0" % domid
        writes = [
            (vm + "/uuid", uuid(d)), (vm + "/name", "soak-%d" % domid),
            (vm + "/image/ostype", "pv"), (home + "/vm", vm),
            (home + "/name", "soak-%d" % domid), (home + "/domid", str(domid)),
            (home + "/control/shutdown", ""),
            (home + "/memory/target", "1048576"),
            (home + "/device/vbd/51712/backend", vbd),
            (home + "/device/vbd/51712/state", "1"),
            (vbd + "/frontend", home), (vbd + "/frontend-id", str(domid)),
            (vbd + "/state", "1"), (vbd + "/params", "/dev/vg/soak"),
            (vif + "/frontend", home), (vif + "/mac", "00:16:3e:00:00:01"),
            (vif + "/state", "1"),
        ]

        def body(tx):
            if not self.bump(tx):
                return False
            for p, v in writes:
                if self.d0.tx_ok(tx, X.WRITE, z(p, v)[:-1]) is None:
                    return False
            return self.d0.tx_ok(tx, X.MKDIR, z(home + "/data")) is not None

        self.d0.transact(body)
        self.counter += 1

    def bump(self, tx):
        m = self.d0.tx_ok(tx, X.READ, z("/soak/counter"))
        if m is None:
            return False
        v = int(m.payload.decode()) + 1
        return self.d0.tx_ok(tx, X.WRITE, b"/soak/counter\0%d" % v) is not None

    # A backend looks at its frontend's state: the node a conflicting
    # guest rewrites, so that this commit fails until the engine holds
    # the guest back.
    def hotplug(self):
        conflicting = [d for d in self.live.values() if d.kind == "conflict"]
        d = self.rng.choice(conflicting or list(self.live.values()))
        home = "/local/domain/%d" % d.domid
        vbd = "/local/domain/0/backend/vbd/%d/51712/state" % d.domid

        def body(tx):
            m = self.d0.tx_ok(tx, X.READ, z(home + "/device/vbd/51712/state"))
            if m is None or not self.bump(tx):
                return False
            return self.d0.tx_ok(tx, X.WRITE, z(vbd, "4")[:-1]) is not None

        self.d0.transact(body)
        self.counter += 1
        STATS.add("hotplugs")

    # RELEASE removes what the domain owns, its home too: the toolstack
    # makes it again before the INTRODUCE, and the guest starts afresh.
    def reintroduce(self, d):
        self.d0.ok(X.RELEASE, z(str(d.domid)))
        self.tree(d)
        X.introduce(self.sock, d.domid, d.gfn, d.port, IO_TIMEOUT)
        STATS.add("requests")
        d.guest = self.sim.guest(d.domid, IO_TIMEOUT)
        d.watching = False
        d.written = {}
        d.step = 0
        d.kind = "normal"
        d.action = None
        STATS.add("reintroduced")
        self.workers[self.rng.randrange(len(self.workers))].inbox.put(d)

    # xl destroy: the domain dies, the engine forgets it (and removes its
    # home), then the toolstack removes what it wrote elsewhere.
    def destroy(self, d):
        if d.guest is not None:
            d.guest.close()
            d.guest = None
        self.sim.destroy(d.domid)
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while self.d0.ok(X.IS_DOMAIN_INTRODUCED,
                         z(str(d.domid))).payload != b"F\0":
            if time.monotonic() > deadline:
                raise SoakError("dom%d still introduced after its destruction"
                                % d.domid)
            time.sleep(0.01)

        def body(tx):
            for p in ("/vm/" + uuid(d),
                      "/local/domain/0/backend/vbd/%d" % d.domid,
                      "/local/domain/0/backend/vif/%d" % d.domid):
                if self.d0.tx_ok(tx, X.RM, z(p)) is None:
                    return False
            return True

        self.d0.transact(body)
        del self.live[d.domid]
        self.free.append(d.domid)
        STATS.add("domains_destroyed")


# -- guests ---------------------------------------------------------------


def gerr(m):
    return m.strings[0] if m.is_error and m.strings else None


class Worker(threading.Thread):
    """Plays its share of the guests, one step of each in turn."""

    def __init__(self, idx, toolstack_inbox, seed):
        super().__init__(name="worker%d" % idx, daemon=True)
        self.inbox = queue.Queue()
        self.ts_inbox = toolstack_inbox
        self.rng = random.Random(seed)
        self.active = []
        self.retire_all = threading.Event()
        self.finish = threading.Event()
        self.error = None

    def run(self):
        try:
            self._run()
        except Exception as e:
            self.error = e

    def _run(self):
        while not self.finish.is_set():
            while True:
                try:
                    self.active.append(self.inbox.get_nowait())
                except queue.Empty:
                    break
            if not self.active:
                time.sleep(0.005)
                continue
            keep = []
            for d in self.active:
                if self.retire_all.is_set():
                    d.action = "destroy"
                else:
                    self.step(d)
                if d.action:
                    self.ts_inbox.put(d)
                else:
                    keep.append(d)
            self.active = keep

    def req(self, d, type_, payload, tx=0):
        STATS.add("requests")
        return d.guest.request(type_, payload, tx_id=tx)

    def ok(self, d, type_, payload, tx=0):
        m = self.req(d, type_, payload, tx)
        if m.is_error:
            raise SoakError("dom%d (%s) %d %r: %s" % (d.domid, d.kind, type_,
                                                       payload, m.strings))
        return m

    def step(self, d):
        d.step += 1
        if d.step == 1:
            self.first_step(d)
            return
        if d.step >= d.life:
            d.action = "destroy"
            return
        getattr(self, "step_" + d.kind)(d)

    # A domain given a used id starts with nothing of its predecessor's.
    def first_step(self, d):
        m = self.req(d, X.READ, z("data/mark"))
        if gerr(m) != "ENOENT":
            raise SoakError("dom%d generation %d reads its predecessor's "
                            "data/mark: %r" % (d.domid, d.gen, m))
        self.ok(d, X.WRITE, z("data/mark", str(d.gen))[:-1])
        d.written["data/mark"] = str(d.gen)

    def step_normal(self, d):
        r = self.rng.random()
        if not d.watching:
            d.watching = True
            # A ring reconnection may keep the connection's watches.
            if gerr(self.req(d, X.WATCH, z("data", "w"))) != "EEXIST":
                self.expect_event(d, "data")
        if r < 0.45:
            p = "data/k%d" % self.rng.randrange(8)
            v = "%d.%d.%d" % (d.domid, d.gen, d.step)
            self.ok(d, X.WRITE, z(p, v)[:-1])
            d.written[p] = v
            self.expect_event(d, p)
        elif r < 0.75:
            p, v = self.rng.choice(sorted(d.written.items()))
            got = self.ok(d, X.READ, z(p)).payload.decode()
            if got != v:
                raise SoakError("dom%d %s is %r, wrote %r" % (d.domid, p, got,
                                                             v))
        elif r < 0.9:
            self.guest_tx(d)
        else:
            names = set(self.ok(d, X.DIRECTORY, z("data")).strings)
            want = {p.split("/")[1] for p in d.written}
            if not want <= names:
                raise SoakError("dom%d data lists %s, wrote %s" % (
                    d.domid, sorted(names), sorted(want)))

    def expect_event(self, d, path):
        deadline = time.monotonic() + IO_TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SoakError("dom%d: no watch event for %s" % (d.domid,
                                                                  path))
            ev = d.guest.wait_watch(timeout=left)
            STATS.add("watch_events")
            if ev[0] == path:
                return

    def guest_tx(self, d):
        for attempt in range(100):
            tx = int(self.ok(d, X.TRANSACTION_START, z("")).strings[0])
            p = "data/t%d" % self.rng.randrange(2)
            v = "tx.%d.%d" % (d.gen, d.step)
            self.ok(d, X.WRITE, z(p, v)[:-1], tx)
            m = self.req(d, X.TRANSACTION_END, z("T"), tx)
            if gerr(m) == "EAGAIN":
                STATS.add("guest_tx_retries")
                continue
            if m.is_error:
                raise SoakError("dom%d commit: %s" % (d.domid, m.strings))
            STATS.add("guest_commits")
            d.written[p] = v
            self.expect_event(d, p)
            return
        raise SoakError("dom%d: 100 EAGAIN in a row" % d.domid)

    # Requests as fast as the ring takes them, never a reply read; then
    # the domain is destroyed with its replies still queued.
    def step_flood(self, d):
        req = X.HDR.pack(X.READ, 0, 0, 10) + b"data/mark\0"
        sent, stalled = 0, 0
        while sent < 400 and stalled < 20:
            n = d.guest.put(req) if d.guest.req_space() >= len(req) else 0
            if n:
                d.guest.notify()
                sent += 1
                stalled = 0
            else:
                d.guest.wait_event(timeout=0.02)
                stalled += 1
        STATS.add("requests", sent)
        STATS.add("flood_requests", sent)
        d.action = "destroy"

    # Half reset their ring themselves, half are RELEASEd and introduced
    # again by the toolstack; both then carry on as normal guests.
    def step_reconnect(self, d):
        if d.step == 2:
            self.step_normal(d)
            if self.rng.random() < 0.5:
                d.guest.reconnect(timeout=IO_TIMEOUT)
                d.watching = False
                STATS.add("ring_reconnects")
            else:
                d.guest.close()
                d.guest = None
                d.action = "reintroduce"
            return
        self.step_normal(d)

    def step_quota(self, d):
        for i in range(NODE_QUOTA + 1):
            m = self.req(d, X.WRITE, z("data/q%d" % i, "x")[:-1])
            if gerr(m) in ("EQUOTA", "ENOSPC"):
                STATS.add("quota_hits")
                d.action = "destroy"
                return
            if m.is_error:
                raise SoakError("dom%d quota write: %s" % (d.domid,
                                                           m.strings))
        raise SoakError("dom%d wrote %d nodes, past its quota of %d" % (
            d.domid, NODE_QUOTA + 1, NODE_QUOTA))

    def step_conflict(self, d):
        p = "device/vbd/51712/state"
        for i in range(5):
            self.ok(d, X.WRITE, z(p, str(d.step * 5 + i))[:-1])
        STATS.add("conflict_writes", 5)


# -- figures --------------------------------------------------------------


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def procs(daemon):
    broker = daemon.proc.pid
    kids = children(broker)
    if len(kids) != 1:
        raise SoakError("the broker has children %s, not one spawner" % kids)
    engines = children(kids[0])
    if len(engines) != 1:
        raise SoakError("the spawner has children %s, not one engine"
                        % engines)
    return {"broker": broker, "spawner": kids[0], "engine": engines[0]}


STATUS_RE = re.compile(r"status: (\d+) bytes of memory in use, (\d+) "
                       r"connections")


def broker_status(daemon):
    """The broker's SIGUSR1 status line, the next one it logs."""
    with open(daemon.stderr_path, "rb") as f:
        seen = len(STATUS_RE.findall(f.read().decode("utf-8", "replace")))
    os.kill(daemon.proc.pid, signal.SIGUSR1)
    deadline = time.monotonic() + IO_TIMEOUT
    while time.monotonic() < deadline:
        with open(daemon.stderr_path, "rb") as f:
            found = STATUS_RE.findall(f.read().decode("utf-8", "replace"))
        if len(found) > seen:
            return int(found[seen][0]), int(found[seen][1])
        time.sleep(0.05)
    raise SoakError("no status line from the broker after SIGUSR1")


def memreport(d0):
    rep = {}
    for line in d0.control("memreport").splitlines():
        k, _, v = line.rpartition(" ")
        rep[k] = int(v)
    return rep


def figures(daemon, d0):
    rep = memreport(d0)
    bmem, bconns = broker_status(daemon)
    p = procs(daemon)
    return {
        "engine_mem": rep["memory in use"], "broker_mem": bmem,
        "nodes": rep["nodes"], "watches": rep["watches"],
        "domains": rep["domains"], "connections": rep["connections"],
        "open_transactions": rep["open transactions"],
        "broker_connections": bconns,
        "fds": {k: nfds(v) for k, v in p.items()},
        "engine_pid": p["engine"],
    }


def settle(daemon, d0, want_conns):
    """Waits until the engine has only the connections it had before any
    guest, and checks that the store is as it was then: no domain's tree,
    no toolstack node left, sound accounting."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        conns = memreport(d0)["connections"]
        if conns == want_conns:
            break
        if time.monotonic() > deadline:
            raise SoakError("the engine still has %d connections, not %d"
                            % (conns, want_conns))
        time.sleep(0.1)
    for path, want in (("/local/domain", ["0"]), ("/vm", []),
                       ("/local/domain/0/backend/vbd", []),
                       ("/local/domain/0/backend/vif", [])):
        got = d0.children(path)
        if got != want:
            raise SoakError("%s lists %s after every domain is gone"
                            % (path, got))
    ck = d0.control("check")
    if ck != "OK":
        raise SoakError("control check: %s" % ck)
    return figures(daemon, d0)


def compare(before, after):
    problems = []
    for k in ("nodes", "watches", "domains", "connections",
              "open_transactions", "broker_connections", "engine_pid"):
        if before[k] != after[k]:
            problems.append("%s: %s before, %s after" % (k, before[k],
                                                         after[k]))
    if before["fds"] != after["fds"]:
        problems.append("fds: %s before, %s after" % (before["fds"],
                                                      after["fds"]))
    for k in ("engine_mem", "broker_mem"):
        slack = max(before[k] * MEM_SLACK_PCT // 100, MEM_SLACK_BYTES)
        if after[k] > before[k] + slack:
            problems.append("%s: %d bytes before, %d after (slack %d)"
                            % (k, before[k], after[k], slack))
    return problems


# -- the run --------------------------------------------------------------


def run_phase(ts, workers, seconds, what):
    t0 = time.monotonic()
    done = threading.Event()
    ts.inbox.put((seconds, done))
    while not done.wait(1.0):
        for t in [ts] + workers:
            if t.error:
                raise SoakError("%s, %s: %s" % (what, t.name, t.error))
        if time.monotonic() - t0 > seconds + 600:
            raise SoakError("%s: the domains were not gone 600 s after "
                            "the end" % what)
    for t in [ts] + workers:
        if t.error:
            raise SoakError("%s, %s: %s" % (what, t.name, t.error))
    return time.monotonic() - t0


def kib(n):
    return "%.0f KiB" % (n / 1024.0)


def summary(a, before, after, t_warm, t_run):
    s = STATS.v
    rows = [
        ("domains", "%d ids, %d created, %d destroyed, at most %d at once"
         % (a.domains, s.get("domains_created", 0),
            s.get("domains_destroyed", 0), s.get("domains_live_max", 0))),
        ("kinds", ", ".join("%s %d" % (k, s.get("kind_" + k, 0))
                            for k, _ in KINDS)),
        ("requests", "%d (%d flooded, never read)" % (
            s.get("requests", 0), s.get("flood_requests", 0))),
        ("dom0 commits", "%d, %d retries, at most %d for one (limit %d)" % (
            s.get("dom0_commits", 0), s.get("dom0_retries", 0),
            s.get("dom0_max_retries", 0), MAX_DOM0_RETRIES)),
        ("hotplug transactions", str(s.get("hotplugs", 0))),
        ("guest commits", "%d, %d retries" % (s.get("guest_commits", 0),
                                              s.get("guest_tx_retries", 0))),
        ("watch events", str(s.get("watch_events", 0))),
        ("hostile", "%d quota hits, %d ring reconnects, %d RELEASE+INTRODUCE,"
         " %d conflicting writes" % (
             s.get("quota_hits", 0), s.get("ring_reconnects", 0),
             s.get("reintroduced", 0), s.get("conflict_writes", 0))),
        ("engine memory", "%s after warm-up, %s at the end" % (
            kib(before["engine_mem"]), kib(after["engine_mem"]))),
        ("broker memory", "%s after warm-up, %s at the end" % (
            kib(before["broker_mem"]), kib(after["broker_mem"]))),
        ("nodes, watches", "%d, %d after warm-up; %d, %d at the end" % (
            before["nodes"], before["watches"], after["nodes"],
            after["watches"])),
        ("fds", "%s after warm-up, %s at the end" % (
            " ".join("%s %d" % kv for kv in sorted(before["fds"].items())),
            " ".join("%s %d" % kv for kv in sorted(after["fds"].items())))),
        ("time", "warm-up %.0f s, run %.0f s (%d s of creating)" % (
            t_warm, t_run, a.seconds)),
    ]
    return rows


def write_report(path, rows, a):
    head = "## Last full run"
    text = ""
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    text = text.split(head)[0].rstrip("\n")
    cmd = "make soak SOAK_SECONDS=%d SOAK_DOMAINS=%d" % (a.seconds, a.domains)
    out = [text, "", head, "",
           "`%s` (binaries of %s/) on %s, %s." % (
               cmd, os.path.basename(BUILD), X.machine(),
               time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())),
           "", "| | |", "|---|---|"]
    out += ["| %s | %s |" % r for r in rows]
    with open(path, "w") as f:
        f.write("\n".join(out).lstrip("\n") + "\n")


def private_netns():
    """As bench/run.py: xensim.private_netns."""
    X.private_netns("XSSOAK_NETNS", __file__)


def stop_daemon(daemon):
    """SIGTERM, and what the broker's exit says: LeakSanitizer runs then
    in the sanitizer build."""
    daemon.proc.send_signal(signal.SIGTERM)
    try:
        rc = daemon.proc.wait(IO_TIMEOUT)
    except subprocess.TimeoutExpired:
        daemon.log_tail = daemon.stderr()[-3000:]
        daemon.stop()
        return ["the broker ignored SIGTERM"]
    problems = [] if rc == 0 else ["the broker exited with %d" % rc]
    err = daemon.stderr()
    daemon.log_tail = err[-3000:]
    with open(LOG, "w") as f:
        f.write(err)
    bad = [l for l in err.splitlines() if any(m in l for m in SANITIZER_MARKERS)]
    if bad:
        problems.append("sanitizer reports: %s" % bad[:5])
    daemon.stop()
    return problems


def main():
    private_netns()
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--domains", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--report", help="write the summary into this file's "
                    "'Last full run' section")
    a = ap.parse_args()
    if not 1 <= a.domains <= 1000:
        ap.error("--domains: 1 to 1000 (the simulation's 1024 slots)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    # In the sanitizer build, LeakSanitizer's report at the broker's exit
    # must get past the broker's seccomp filter: no symbolizer (its stat and
    # exec), no terminal check (ioctl). addr2line -e xs-broker OFFSET reads
    # the offsets it prints.
    os.environ["ASAN_OPTIONS"] = ":".join(filter(None, [
        os.environ.get("ASAN_OPTIONS"), "symbolize=0", "color=never"]))
    sim = X.Sim(build=os.path.join(BUILD, "xensim"))
    daemon = sim.start_daemon([BROKER, "-N", "-E", str(NODE_QUOTA)])
    rng = random.Random(a.seed)
    problems = []
    try:
        d0 = Dom0(daemon.socket)
        ts_inbox = queue.Queue()
        workers = [Worker(i, ts_inbox, a.seed * 100 + i)
                   for i in range(a.workers)]
        ts = Toolstack(sim, daemon, a.domains, workers, rng, ts_inbox)
        for t in [ts] + workers:
            t.start()
        want_conns = memreport(d0)["connections"]
        # Warm-up: every id used at least once, so that what grows to fit
        # them (hash maps, the broker's tables, the engine's record of each
        # domain it has known) has grown before the baseline.
        warm = max(10, a.seconds // 20)
        t_warm = run_phase(ts, workers, warm, "warm-up")
        before = settle(daemon, d0, want_conns)
        counts = dict(STATS.v)
        print("soak: warm-up done in %.0f s: %d domains; engine %s, broker "
              "%s, fds %s" % (t_warm, counts.get("domains_created", 0),
                              kib(before["engine_mem"]),
                              kib(before["broker_mem"]), before["fds"]),
              flush=True)
        t_run = run_phase(ts, workers, a.seconds, "run")
        after = settle(daemon, d0, want_conns)
        counter = int(d0.ok(X.READ, z("/soak/counter")).payload)
        if counter != ts.counter:
            problems.append("/soak/counter is %d after %d committed "
                            "increments" % (counter, ts.counter))
        problems += compare(before, after)
        for w in workers:
            w.finish.set()
        rows = summary(a, before, after, t_warm, t_run)
        for k, v in rows:
            print("soak: %-21s %s" % (k, v))
        d0.close()
        ts.d0.close()
    except (SoakError, X.Error, OSError) as e:
        problems.append(str(e))
        rows = None
    problems += stop_daemon(daemon)
    sim.close()
    if problems:
        print("soak: FAILED\n  " + "\n  ".join(problems))
        tail = getattr(daemon, "log_tail", "")
        if tail:
            print("--- the broker's log (all of it in %s), its end ---\n%s"
                  % (LOG, tail))
        sys.exit(1)
    if a.report and rows:
        write_report(a.report, rows, a)
        print("soak: summary written to %s" % a.report)
    print("soak: passed")


if __name__ == "__main__":
    main()
