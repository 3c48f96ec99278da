# SPDX-License-Identifier: GPL-2.0-only
"""An idle daemon sleeps.

With no requests, none of the daemon's processes -- the broker, its
spawner, the engine -- is scheduled at all: no timer, no timeout in a
wait, no look at a ring wakes any of them.  A wake-up may come only from
a real event, or from a timer while there is work that needs it (a
deferred guest notification, a queued watch event's age).  The kernel
counts every time a process is put on a CPU (/proc/PID/schedstat's third
field, and the context switches of /proc/PID/status); reading them does
not wake the process.

The daemon runs in Xen mode under the simulated hypervisor with the audit
log on, after a warm-up that leaves connections, watches, a transaction
and a guest's ring open, so that every part that might keep a clock is in
play.
"""

import os
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "xensim"))

import xensim as X  # noqa: E402
import xsraw  # noqa: E402
from xsraw import z  # noqa: E402

XS_BUILD = os.path.abspath(os.environ.get("XS_BUILD",
                                          os.path.join(REPO, "build")))
BROKER = os.path.join(XS_BUILD, "bin", "xs-broker")
DEADLINE = 30.0
# How long the daemon must sleep, once it has settled.
IDLE_S = 4.0
# A quiet spell that says the warm-up's last work (an audit batch, a
# deferred notification) is done; a timer that ticks more often than
# this never lets it come.
SETTLE_S = 1.5


def _children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return sorted(int(x) for x in f.read().split())


def _processes(d):
    """{role: pid} of the broker, its spawner and the spawner's engine."""
    spawner = _children(d.proc.pid)
    assert len(spawner) == 1, spawner
    engine = _children(spawner[0])
    assert len(engine) == 1, engine
    return {"broker": d.proc.pid, "spawner": spawner[0], "engine": engine[0]}


def _scheduled(pid):
    """How often pid was put on a CPU, and its context switches."""
    with open("/proc/%d/schedstat" % pid) as f:
        out = {"timeslices": int(f.read().split()[2])}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.endswith("ctxt_switches\n") or "ctxt_switches:" in line:
                k, v = line.split(":")
                out[k] = int(v)
    return out


def _snapshot(procs):
    return {role: _scheduled(pid) for role, pid in procs.items()}


def _woken(before, after):
    return {role: {k: after[role][k] - v for k, v in before[role].items()
                   if after[role][k] != v}
            for role in before if after[role] != before[role]}


def _settle(procs):
    """Waits for a quiet spell of SETTLE_S; fails if none comes."""
    deadline = time.monotonic() + DEADLINE
    first = last = _snapshot(procs)
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < SETTLE_S:
        assert time.monotonic() < deadline, (
            "the daemon never slept for %ss: %s" % (
                SETTLE_S, _woken(first, last)))
        time.sleep(0.1)
        now = _snapshot(procs)
        if now != last:
            last = now
            quiet_since = time.monotonic()


@pytest.fixture
def sim():
    s = X.Sim(build=os.path.join(XS_BUILD, "xensim"))
    yield s
    for d in s.daemons:
        assert d.stopped or d.alive(), "daemon died:\n" + d.stderr()
    s.close()


def _warm_up(d, sim):
    """Every kind of work once; returns what must stay open."""
    c = xsraw.XsRaw(d.socket, DEADLINE)
    for i in range(50):
        c.write("/idle/k%d" % i, "v%d" % i)
        assert c.read("/idle/k%d" % i) == b"v%d" % i
    c.ok(xsraw.WATCH, z("/idle", "tok"))
    assert c.wait_event(DEADLINE).strings == ["/idle", "tok"]
    c.write("/idle/fire", "x")
    assert c.wait_event(DEADLINE).strings == ["/idle/fire", "tok"]
    # Events are read until the last one: one left queued would be
    # aged by a timer, as it should.
    c.ok(xsraw.UNWATCH, z("/idle", "tok"))
    tx = xsraw.XsRaw(d.socket, DEADLINE)
    tid = tx.tx_start()
    tx.write("/idle/tx", "t", tx_id=tid)
    g = sim.introduce(d, 3)
    for i in range(50):
        g.write("data/%d" % i, "g")
    g.watch("data", "gtok")
    assert g.wait_watch(DEADLINE)[1] == "gtok"
    c.write("/local/domain/3/data/0", "from dom0")
    assert g.wait_watch(DEADLINE)[1] == "gtok"
    return c, tx, g


def test_idle_daemon_is_never_scheduled(sim):
    rundir = tempfile.mkdtemp(prefix="xsit-idle-")
    d = sim.start_daemon([BROKER, "-N", "--audit-log",
                          os.path.join(rundir, "audit.jsonl")], rundir=rundir,
                         timeout=DEADLINE)
    d._owns = True
    procs = _processes(d)
    held = _warm_up(d, sim)
    _settle(procs)
    before = _snapshot(procs)
    time.sleep(IDLE_S)
    woken = _woken(before, _snapshot(procs))
    assert not woken, "scheduled while idle for %ss: %s" % (IDLE_S, woken)
    # Still serving: the sleep was not a hang.
    c, tx, g = held
    assert c.read("/idle/k0") == b"v0"
    assert g.read("data/1") == b"g"
    for h in held:
        h.close()
    assert _processes(d) == procs
