# SPDX-License-Identifier: GPL-2.0-only
"""Where the broker, its spawner and the engine run (--engine-cpu).

By default the three share one CPU, the one the broker started on, and an
engine started again after a crash gets it too; `--engine-cpu any` leaves
them the CPUs they were started with.  Checked from /proc through
sched_getaffinity of every thread of each process.
"""

import os
import signal
import subprocess

import pytest

from conftest import REFERENCE, XS_BUILD, _engines, _spawner, wait_until

pytestmark = [
    pytest.mark.skipif(REFERENCE, reason="the split daemon's processes"),
    pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2,
                       reason="one CPU: nothing to choose"),
]


def cpus(pid):
    """The CPUs each thread of pid may run on, which must agree."""
    sets = {frozenset(os.sched_getaffinity(int(t)))
            for t in os.listdir("/proc/%d/task" % pid)}
    assert len(sets) == 1, "threads of %d disagree: %s" % (pid, sets)
    return set(sets.pop())


def processes(d):
    engines = _engines(d.proc.pid)
    assert engines and len(engines) == 1, engines
    return d.proc.pid, _spawner(d.proc.pid), engines[0]


def test_default_one_cpu_for_all_and_after_a_restart(xsd_factory):
    d = xsd_factory()
    broker, spawner, engine = processes(d)
    one = cpus(broker)
    assert len(one) == 1, one
    assert cpus(spawner) == one and cpus(engine) == one
    os.kill(engine, signal.SIGKILL)
    wait_until(lambda: _engines(d.proc.pid) not in (None, [], [engine]),
               what="a new engine")
    d.engine_pids = _engines(d.proc.pid)
    assert cpus(d.engine_pids[0]) == one
    with d.raw() as c:
        c.write("/affinity", "x")


def test_any_keeps_every_cpu(xsd_factory):
    d = xsd_factory(["--engine-cpu", "any"])
    allowed = os.sched_getaffinity(0)
    for pid in processes(d):
        assert cpus(pid) == allowed


def test_bad_value_refused():
    r = subprocess.run([os.path.join(XS_BUILD, "bin", "xs-broker"), "-N",
                        "--socket-only", "--engine-cpu", "one"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    assert r.returncode == 2, r
    assert b"--engine-cpu takes same or any" in r.stderr, r.stderr
