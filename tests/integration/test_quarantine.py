# SPDX-License-Identifier: GPL-2.0-only
"""A guest whose request crashes engine after engine is quarantined.

The engine runs behind tests/tools/engine_wrap.c as engine-crash-on, which
dies with its engine whenever the broker hands it a request holding the
mark: a reproducible crash one guest can cause. The broker, under the
simulated hypervisor, takes that guest's domain out of service after
REPLAY_POISON (2) deaths in a row, keeps the store and everyone else
served, and lets dom0 list and lift the quarantine with XS_CONTROL
(xenstore-control quarantine [lift DOMID]); introducing the domain again
lifts it too. dom0's sockets only lose their connection."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "xensim"))

import xensim as X  # noqa: E402
import xsraw  # noqa: E402
from xsraw import z  # noqa: E402
from conftest import REFERENCE, tool, wait_until  # noqa: E402

pytestmark = pytest.mark.skipif(REFERENCE, reason="the split daemon's own "
                                "engine supervision")

XS_BUILD = os.path.abspath(os.environ.get("XS_BUILD",
                                          os.path.join(REPO, "build")))
BROKER = os.path.join(XS_BUILD, "bin", "xs-broker")
DEADLINE = 30.0
MARK = "engine-wrap-crash-here"
QUIET = 0.5
XENSTORE_CONTROL = "/usr/lib/xen-4.17/bin/xenstore-control"


@pytest.fixture(scope="module")
def _host():
    s = X.Sim(build=os.path.join(XS_BUILD, "xensim"))
    yield s
    s.close()


@pytest.fixture
def sim(_host):
    yield _host
    bad = [d for d in _host.daemons if not d.stopped and not d.alive()]
    msgs = ["%s died:\n%s" % (" ".join(d.cmd), d.stderr()[-3000:])
            for d in bad]
    _host.reset()
    assert not msgs, "\n".join(msgs)


@pytest.fixture
def crashing(sim, tmp_path):
    """Our daemon with an engine that dies on MARK, and its audit log."""
    tmp = tempfile.mkdtemp(prefix="xsit-crash-")
    engine = os.path.join(tmp, "engine-crash-on")
    os.symlink(tool("engine_wrap"), engine)
    log = str(tmp_path / "audit.jsonl")
    d = sim.start_daemon([BROKER, "-N", "--engine", engine,
                          "--audit-log", log], timeout=DEADLINE)
    yield d, log
    shutil.rmtree(tmp, ignore_errors=True)


def dom0(d, ro=False):
    return xsraw.XsRaw(d.socket + ("_ro" if ro else ""), DEADLINE)


def control(d, *args, ro=False):
    with dom0(d, ro) as c:
        return c.request(xsraw.CONTROL, z(*args))


def events(log, name, n=None):
    """The details of the audit's engine records named name; with n, once
    there are n of them (the audit is written at the loop's end)."""
    def get():
        with open(log) as f:
            recs = [json.loads(line) for line in f]
        return [r.get("detail", "") for r in recs
                if r["kind"] == "engine" and r["event"] == name]
    if n is not None:
        wait_until(lambda: len(get()) >= n, timeout=DEADLINE,
                   what="%d %s records" % (n, name))
    return get()


def crash(d, g):
    """g sends the request that kills every engine it reaches."""
    g.send(X.WRITE, b"data/%s\0x" % MARK.encode())
    wait_until(lambda: "quarantine lift 5" in d.stderr(), timeout=DEADLINE,
               what="the quarantine")


def unanswered(g):
    """g's next request gets no reply: its ring is not read."""
    g.send(X.READ, b"data/a\0")
    with pytest.raises((X.Error, OSError)):
        g.recv(timeout=QUIET)


def test_guest_that_crashes_engines_is_quarantined(crashing, sim):
    d, log = crashing
    g = sim.introduce(d, 5)
    other = sim.introduce(d, 6)
    other.write("data/b", "1")
    g.write("data/a", "1")
    crash(d, g)
    assert "domain 5: request" in d.stderr()
    quarantined = events(log, "quarantine", 1)
    assert len(quarantined) == 1, quarantined
    assert quarantined[0].startswith("domain 5: request "), quarantined

    # The store and everyone else are served.
    other.write("data/b", "2")
    assert other.read("data/b") == b"2"
    with dom0(d) as c:
        assert c.read("/local/domain/5/data/a") == b"1"
    unanswered(g)
    # Not even a reconnection brings it back.
    with pytest.raises((X.Error, OSError)):
        g.reconnect(timeout=QUIET)

    m = control(d, "quarantine")
    assert m.type == xsraw.CONTROL and m.payload == b"5\0", m
    if os.access(XENSTORE_CONTROL, os.X_OK):
        r = subprocess.run([XENSTORE_CONTROL, "quarantine"],
                           env=dict(os.environ, XENSTORED_PATH=d.socket),
                           capture_output=True, text=True, timeout=DEADLINE)
        assert r.returncode == 0 and r.stdout == "5\n", r
    # Neither the read-only socket nor a guest may lift it: to the engine.
    assert control(d, "quarantine", "lift", "5", ro=True).is_error
    m = other.request(X.CONTROL, b"quarantine\0lift\0005\0")
    assert m.type == X.ERROR, m
    assert control(d, "quarantine").payload == b"5\0"
    assert control(d, "quarantine", "lift", "6").strings == ["ENOENT"]
    assert control(d, "quarantine", "lift", "x").strings == ["EINVAL"]

    m = control(d, "quarantine", "lift", "5")
    assert m.type == xsraw.CONTROL and m.payload == b"OK\0", m
    assert control(d, "quarantine").payload == b"\0"
    lifted = events(log, "quarantine-lifted", 1)
    assert len(lifted) == 1 and lifted[0].startswith("domain 5, by conn ")
    # The reconnection it asked for meanwhile is made: it is served.
    wait_until(lambda: g.connection == 0, timeout=DEADLINE,
               what="the reconnection")
    assert g.read("data/a") == b"1"
    g.close()
    other.close()


def test_introduced_again_out_of_quarantine(crashing, sim):
    d, log = crashing
    g = sim.introduce(d, 5)
    g.write("data/a", "1")
    crash(d, g)
    unanswered(g)
    X.introduce(d.socket, 5, 0, g.port)
    g2 = sim.guest(5, DEADLINE)
    assert g2.read("data/a") == b"1"
    assert control(d, "quarantine").payload == b"\0"
    g2.close()
    g.close()


def test_dom0_is_never_quarantined(crashing, sim):
    """A socket client's crashing request costs it its connection only."""
    d, log = crashing
    with dom0(d) as c:
        c.write("/keep", b"1")
    c = dom0(d)
    c.send(xsraw.WRITE, z("/" + MARK, "x"))
    wait_until(lambda: "dropping the connection" in d.stderr(),
               timeout=DEADLINE, what="the connection to go")
    with pytest.raises((xsraw.Closed, OSError)):
        c.recv_msg()
    c.close()
    assert events(log, "quarantine") == []
    assert control(d, "quarantine").payload == b"\0"
    with dom0(d) as c2:
        assert c2.read("/keep") == b"1"
