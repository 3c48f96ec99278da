# SPDX-License-Identifier: GPL-2.0-only
"""A host moves back from split-xenstored to Debian's C xenstored without a
reboot: ``xenstore-control live-update /usr/sbin/xenstored`` on the
broker hands the store, the socket, every connection and every ring to C
xenstored 4.17 in its own live-update format (broker/handover.c), and the
spawner executes it in its place. Then forward again to the broker.

Under the simulated hypervisor: guests on their rings and dom0 on the
socket, with watches set, go on with their next request without
reconnecting, every watch fires on the next change, and the store is the
same; socket_ro clients, which C xenstored cannot take, are closed.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "xensim"))

import xensim as X  # noqa: E402
from conftest import wait_until  # noqa: E402
import test_takeover as T  # noqa: E402

XS_BUILD = os.path.abspath(os.environ.get("XS_BUILD",
                                          os.path.join(REPO, "build")))
BROKER = os.path.join(XS_BUILD, "bin", "xs-broker")

pytestmark = T.pytestmark


def _z(*parts):
    return b"".join(p.encode() + b"\0" for p in parts)


def control(d, *args):
    r = subprocess.run([X.XENSTORE_CONTROL] + list(args), env=d.env(),
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=120)
    return r.returncode, (r.stdout + r.stderr).strip()


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def running(pid):
    """pid is a process, not a zombie nobody reaped yet."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def pid_of(d):
    with open(os.path.join(d.rundir, "xenstored.pid")) as f:
        return int(f.read())


class Site:
    """A simulated host and a run directory for a broker whose successor
    (C xenstored, or another broker) is not the process the simulation
    started: the pid file names it, and it is stopped by that pid."""

    def __init__(self):
        self.sim = X.Sim()
        self.rundir = tempfile.mkdtemp(prefix="xsit-handover-")
        self.pidfile = os.path.join(self.rundir, "xenstored.pid")

    def start(self, *args):
        return self.sim.start_daemon(
            [BROKER, "-N", "--pid-file", self.pidfile] + list(args),
            rundir=self.rundir)

    def ready(self):
        wait_until(lambda: os.path.exists(self.pidfile), what="the pid file")

    def close(self):
        try:
            with open(self.pidfile) as f:
                pid = int(f.read())
        except (OSError, ValueError):
            pid = None
        if pid is not None and running(pid):
            os.kill(pid, signal.SIGTERM)
            wait_until(lambda: not running(pid), what="the daemon's end")
        self.sim.close()
        shutil.rmtree(self.rundir, ignore_errors=True)


@pytest.fixture
def site():
    s = Site()
    yield s
    s.close()


def test_broker_to_c_xenstored_and_back(site):
    sim, rundir = site.sim, site.rundir
    d = site.start("--live-update-allow", X.XENSTORED)
    guests = {domid: sim.introduce(d, domid) for domid in (5, 6)}
    w = T.prepare(sim, d, guests)
    ro = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ro.connect(os.path.join(rundir, "socket_ro"))
    site.ready()
    before = X.store_snapshot(d.socket)
    broker = d.proc.pid
    rc, out = control(d, "live-update", X.XENSTORED)
    assert rc == 0, out + d.stderr()
    # The broker is gone; C xenstored runs where its spawner did.
    wait_until(lambda: not d.alive(), what="the broker to leave")
    pid = pid_of(d)
    assert pid != broker
    assert comm(pid) == "xenstored", d.stderr()
    # It runs where C xenstored would, not on the broker's one CPU.
    assert os.sched_getaffinity(pid) == os.sched_getaffinity(0)
    assert not os.path.exists(os.path.join(rundir, "state_dump"))
    T.check_after(sim, d, guests, w, before)
    # The socket_ro client could not go along.
    ro.settimeout(10)
    assert ro.recv(1) == b""
    ro.close()
    # Forward again: C xenstored hands the host back to a broker.
    snap = X.store_snapshot(d.socket)
    rc, out = control(d, "live-update", "-c",
                      T.broker_cmdline("--pid-file", site.pidfile), BROKER)
    assert rc == 0, out + d.stderr()
    wait_until(lambda: comm(pid) == "xs-broker", what="the broker")
    assert X.store_snapshot(d.socket) == snap
    for g in guests.values():
        assert g.read("data/x").startswith(b"w")
        g.close()
    w.close()


def test_daemon_that_cannot_run_keeps_the_broker(site):
    """A daemon of the list that cannot be executed leaves everything with
    the broker: the update is answered with the failure, guests, clients
    and watches go on, the pid file names the broker again."""
    sim, rundir = site.sim, site.rundir
    bad = os.path.join(rundir, "not-a-daemon")
    with open(bad, "w") as f:
        f.write("neither an ELF file nor a script\n")
    os.chmod(bad, 0o755)
    d = site.start("--live-update-allow", bad)
    guests = {domid: sim.introduce(d, domid) for domid in (5, 6)}
    w = T.prepare(sim, d, guests)
    site.ready()
    before = X.store_snapshot(d.socket)
    rc, out = control(d, "live-update", bad)
    assert rc != 0, out
    assert "failed" in out, out
    assert d.alive() and pid_of(d) == d.proc.pid
    assert "the daemon cannot be executed" in d.stderr()
    assert not os.path.exists(os.path.join(rundir, "state_dump"))
    T.check_after(sim, d, guests, w, before)
    # VIRQ_DOM_EXC is bound again: a domain's death is seen.
    rel = X.SockWatcher(d.socket)
    rel.watch("@releaseDomain", "rel")
    rel.wait_event()
    sim.destroy(6)
    assert rel.wait_event() == ["@releaseDomain", "rel"]
    rel.close()
    w.close()
    for g in guests.values():
        g.close()


def test_node_of_a_dead_domain_keeps_the_broker(site):
    """C xenstored 4.17 exits on a node whose owner no longer exists: such
    a store is not handed over, and says why."""
    sim = site.sim
    d = site.start("--live-update-allow", X.XENSTORED)
    g = sim.introduce(d, 5)
    w = X.SockWatcher(d.socket)
    # Owned by a domain that then goes, never introduced.
    sim.create(42)
    assert not w.request(X.WRITE, _z("/tool/orphan") + b"x").is_error
    assert not w.request(X.SET_PERMS, _z("/tool/orphan", "n42")).is_error
    sim.destroy(42)
    rc, out = control(d, "live-update", X.XENSTORED)
    assert rc != 0, out
    assert d.alive()
    assert "owned by domain 42, which no longer exists" in d.stderr()
    assert w.request(X.READ, _z("/tool/orphan")).payload == b"x"
    w.close()
    g.close()


def test_broker_replaces_itself(site):
    """live-update xs-broker on a running broker: a new broker (here the
    same build) takes every ring, socket client (socket_ro ones staying
    read-only), watch and node, and the audit log goes on."""
    sim, rundir = site.sim, site.rundir
    audit = os.path.join(rundir, "audit.jsonl")
    d = site.start("--audit-log", audit)
    guests = {domid: sim.introduce(d, domid) for domid in (5, 6)}
    w = T.prepare(sim, d, guests)
    ro = X.SockWatcher(os.path.join(rundir, "socket_ro"))
    ro.watch("/tool/lu", "ro-tok")
    assert ro.wait_event() == ["/tool/lu", "ro-tok"]
    site.ready()
    before = X.store_snapshot(d.socket)
    broker = d.proc.pid
    rc, out = control(d, "live-update", BROKER)
    assert rc == 0, out + d.stderr()
    wait_until(lambda: not d.alive(), what="the old broker to leave")
    pid = pid_of(d)
    assert pid != broker and comm(pid) == "xs-broker", d.stderr()
    wait_until(lambda: "connections taken over" in d.stderr(),
               what="the takeover")
    T.check_after(sim, d, guests, w, before)
    # The socket_ro client: same connection, still read-only, and its
    # watch fired for the write check_after made.
    assert ro.wait_event("/tool/lu") == ["/tool/lu", "ro-tok"]
    m = ro.request(X.WRITE, _z("/tool/lu") + b"ro")
    assert m.is_error and m.strings[0] == "EROFS", m

    def logged(what):
        with open(audit) as f:
            return what in f.read()
    # The old broker's last record is written before it goes; the new
    # one's within the second its batch may wait.
    assert logged("live-update-handover")
    wait_until(lambda: logged("live-update-takeover"),
               what="the new broker's audit record")
    ro.close()
    w.close()
    for g in guests.values():
        g.close()


def test_broker_replaces_itself_without_xen(site):
    """Without Xen (--socket-only) a broker build replaces the broker as
    well: socket clients and their watches go over."""
    d = site.start("--socket-only")
    w = X.SockWatcher(d.socket)
    assert not w.request(X.WRITE, _z("/self/a") + b"1").is_error
    w.watch("/self", "tok")
    assert w.wait_event() == ["/self", "tok"]
    site.ready()
    rc, out = control(d, "live-update", BROKER)
    assert rc == 0, out + d.stderr()
    wait_until(lambda: not d.alive(), what="the old broker to leave")
    assert comm(pid_of(d)) == "xs-broker"
    assert w.request(X.READ, _z("/self/a")).payload == b"1"
    assert not w.request(X.WRITE, _z("/self/a") + b"2").is_error
    assert w.wait_event("/self/a") == ["/self/a", "tok"]
    w.close()


def test_broker_replaces_itself_under_load(site):
    """A broker update while a dom0 client and a guest write without a
    pause: each goes on through it on its own connection, and every write
    that was acknowledged is in the store afterwards."""
    sim = site.sim
    d = site.start()
    g = sim.introduce(d, 5)
    site.ready()
    stop = threading.Event()
    acked = {"dom0": [], "guest": []}
    errors = []

    def dom0():
        c = X.SockWatcher(d.socket, timeout=60)
        n = 0
        while not stop.is_set():
            m = c.request(X.WRITE, _z("/tool/load/%d" % n) + b"x")
            if m.is_error:
                errors.append(("dom0", n, m))
                break
            acked["dom0"].append(n)
            n += 1
        c.close()

    def guest():
        n = 0
        while not stop.is_set():
            try:
                g.write("data/%d" % n, "y")
            except (X.Error, OSError) as e:
                errors.append(("guest", n, e))
                break
            acked["guest"].append(n)
            n += 1

    threads = [threading.Thread(target=f) for f in (dom0, guest)]
    for t in threads:
        t.start()
    wait_until(lambda: len(acked["dom0"]) > 50 and len(acked["guest"]) > 50,
               what="load before the update")
    rc, out = control(d, "live-update", BROKER)
    assert rc == 0, out + d.stderr()
    wait_until(lambda: not d.alive(), what="the old broker to leave")
    mark = {k: len(v) for k, v in acked.items()}
    wait_until(lambda: all(len(acked[k]) > mark[k] + 50 for k in acked)
               or errors, what="load after the update")
    stop.set()
    for t in threads:
        t.join(60)
    assert not errors, errors
    w = X.SockWatcher(d.socket)
    missing = [n for n in acked["dom0"]
               if w.request(X.READ, _z("/tool/load/%d" % n)).payload != b"x"]
    assert not missing, (missing, mark, len(acked["dom0"]))
    for n in acked["guest"]:
        assert w.request(X.READ,
                         _z("/local/domain/5/data/%d" % n)).payload == b"y"
    w.close()
    g.close()


def test_broker_build_that_refuses_runs_the_old_one(site):
    """A new broker build that cannot take the store (here: a copy with no
    engine beside it) runs the old one again, from the binary its spawner
    held, on the same state_dump: the store stays served, every client on
    its connection, and the update is answered with the reason."""
    sim, rundir = site.sim, site.rundir
    newdir = tempfile.mkdtemp(prefix="xsit-newbuild-")
    try:
        new = os.path.join(newdir, "xs-broker")
        shutil.copy(BROKER, new)
        os.chmod(new, 0o755)
        d = site.start()
        guests = {domid: sim.introduce(d, domid) for domid in (5, 6)}
        w = T.prepare(sim, d, guests)
        site.ready()
        before = X.store_snapshot(d.socket)
        rc, out = control(d, "live-update", new)
        assert rc != 0, out
        assert "live update refused" in out and "cannot check it" in out, \
            out + d.stderr()
        pid = pid_of(d)
        assert comm(pid) == "xs-broker"
        assert os.readlink("/proc/%d/exe" % pid) == BROKER
        T.check_after(sim, d, guests, w, before)
        w.close()
        for g in guests.values():
            g.close()
    finally:
        shutil.rmtree(newdir, ignore_errors=True)
