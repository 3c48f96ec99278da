# SPDX-License-Identifier: GPL-2.0-only
"""Engine crash recovery and live update.

The engine is killed from outside (SIGKILL, at moments the test does not
choose precisely) while clients work; the broker restarts it, the new
engine recovers the store from the broker-held memfds, and every client
keeps its connection: what was acknowledged is there, watches still fire,
transactions open across the crash end with EAGAIN. Too many deaths in a
row slow the restarts down, loudly, and never stop the broker. A live update replaces the engine's binary
under load without losing a connection or a write."""

import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

import xsraw
from conftest import (REFERENCE, REPO, XS_BUILD, Daemon, _engines, tool,
                      wait_until)

pytestmark = pytest.mark.skipif(REFERENCE, reason="the split daemon's own "
                                "engine supervision")

XENSTORE_CONTROL = "/usr/lib/xen-4.17/bin/xenstore-control"
TIMEOUT = 60.0


def engine_pid(d):
    kids = _engines(d.proc.pid)
    return kids[0] if kids and len(kids) == 1 else None


def serving(d):
    """A fresh connection gets a reply to a READ."""
    try:
        with d.raw(timeout=5) as c:
            m = c.request(xsraw.READ, xsraw.z("/"))
            return m.type in (xsraw.READ, xsraw.ERROR)
    except (OSError, xsraw.Closed, TimeoutError):
        return False


def kill_engine(d):
    """SIGKILL the engine and wait until a new one serves."""
    old = engine_pid(d)
    assert old is not None, "no engine to kill"
    os.kill(old, signal.SIGKILL)
    wait_until(lambda: d.alive() and engine_pid(d) not in (None, old)
               and serving(d), timeout=TIMEOUT,
               what="a new engine after killing %d" % old)


def settle(d):
    """The test replaced the engine on purpose: the fixture's check that
    the engine never changed is about unplanned restarts."""
    d.engine_pids = _engines(d.proc.pid)


class Writer(threading.Thread):
    """Writes /data/<name>/<i> = v<i> one after the other on one
    connection, remembering what was acknowledged."""

    def __init__(self, d, name):
        super().__init__(daemon=True)
        self.conn = d.raw(timeout=TIMEOUT)
        self.name = name
        self.acked = {}
        self.error = None
        self.stop = threading.Event()

    def run(self):
        i = 0
        try:
            while not self.stop.is_set():
                path = "/data/%s/%d" % (self.name, i)
                value = ("v%d" % i).encode()
                self.conn.write(path, value)
                self.acked[path] = value
                i += 1
        except Exception as e:  # reported by the test
            self.error = e


def start_writers(d, n, tag):
    ws = [Writer(d, "%s%d" % (tag, k)) for k in range(n)]
    for w in ws:
        w.start()
    return ws


def stop_writers(ws):
    for w in ws:
        w.stop.set()
    for w in ws:
        w.join(TIMEOUT)
        assert not w.is_alive(), "writer %s is stuck" % w.name
        assert w.error is None, "writer %s: %r" % (w.name, w.error)
        assert w.acked, "writer %s got nothing acknowledged" % w.name


def check_acked(d, ws):
    with d.raw() as c:
        for w in ws:
            for path, value in w.acked.items():
                assert c.read(path) == value, path
    # Each writer's own connection still works.
    for w in ws:
        last = "/data/%s/%d" % (w.name, len(w.acked) - 1)
        assert w.conn.read(last) == w.acked[last]
        w.conn.write("/data/%s/after" % w.name, b"ok")
        w.conn.close()


def test_kills_under_load(xsd_factory):
    d = xsd_factory(["--engine-restarts", "100"], name="kills")
    rng = random.Random(7)
    watcher = d.raw(timeout=TIMEOUT)
    watcher.watch("/data/watched", "tok")
    ev = watcher.wait_event()
    assert ev.strings == ["/data/watched", "tok"]

    ws = start_writers(d, 4, "w")
    for _ in range(12):
        time.sleep(rng.uniform(0.02, 0.3))
        kill_engine(d)
    time.sleep(0.2)
    stop_writers(ws)
    check_acked(d, ws)

    # The watch registered before the kills still fires.
    with d.raw() as c:
        c.write("/data/watched", b"1")
    ev = watcher.wait_event()
    assert ev.strings == ["/data/watched", "tok"]
    watcher.close()
    assert "engine restarted in" in d.stderr()
    settle(d)


def test_transaction_across_kill(xsd_factory):
    d = xsd_factory(name="txkill")
    with d.raw(timeout=TIMEOUT) as c:
        c.write("/tx/a", b"0")
        tid = c.tx_start()
        c.write("/tx/a", b"1", tid)
        kill_engine(d)
        assert c.tx_end(tid) == "EAGAIN"
        assert c.read("/tx/a") == b"0"
        tid = c.tx_start()
        c.write("/tx/a", b"2", tid)
        assert c.tx_end(tid) is None
        assert c.read("/tx/a") == b"2"
    settle(d)


def test_deaths_and_restarts_are_audited(xsd_factory, tmp_path):
    log = str(tmp_path / "audit.jsonl")
    d = xsd_factory(["--audit-log", log], name="auditkill")
    kill_engine(d)

    def engine_events():
        with open(log) as f:
            recs = [json.loads(line) for line in f]
        return [(r["event"], r.get("detail", "")) for r in recs
                if r["kind"] == "engine"]

    evs = wait_until(lambda: len(engine_events()) >= 2 and engine_events(),
                     timeout=TIMEOUT, what="engine records in the audit log")
    assert evs[0] == ("died", "killed by signal SIGKILL"), evs
    assert evs[1][0] == "restarted" and "(restart 1)" in evs[1][1], evs
    settle(d)


def audit_engine_events(log):
    with open(log) as f:
        recs = [json.loads(line) for line in f]
    return [(r["event"], r.get("detail", "")) for r in recs
            if r["kind"] == "engine"]


def test_restart_limit(xsd_factory, tmp_path):
    """Past --engine-restarts deaths in 60 s the broker keeps the store and
    every connection and restarts engines at the slowest pace, saying so
    once, not once a death."""
    log = str(tmp_path / "audit.jsonl")
    d = xsd_factory(["--engine-restarts", "3", "--audit-log", log],
                    name="limit")
    with d.raw(timeout=TIMEOUT) as c:
        c.write("/limit/a", b"1")
        for _ in range(5):
            kill_engine(d)
        assert c.read("/limit/a") == b"1"
        c.write("/limit/b", b"2")
    err = d.stderr()
    said = "more than 3 restarts within 60 s: one every 5 s at most " \
        "(--engine-restarts)"
    assert err.count(said) == 1, err[-3000:]
    assert "giving up" not in err
    limits = [e for e in audit_engine_events(log) if e[0] == "restart-limit"]
    assert limits == [("restart-limit", "more than 3 restarts within 60 s: "
                       "one every 5 s at most")], limits
    settle(d)


@pytest.fixture
def lu_tmp():
    """A directory for engine binaries a live update names; skipped without
    xenstore-control."""
    if not os.access(XENSTORE_CONTROL, os.X_OK):
        pytest.skip("no %s" % XENSTORE_CONTROL)
    tmp = tempfile.mkdtemp(prefix="xsit-lu-")
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


def engine_copy(tmp, name, mode=0o755):
    path = os.path.join(tmp, name)
    shutil.copy(os.path.join(XS_BUILD, "bin", "xs-engine"), path)
    os.chmod(path, mode)
    return path


def live_update(d, *args):
    return subprocess.run([XENSTORE_CONTROL, "live-update"] + list(args),
                          env=d.env(), capture_output=True, text=True,
                          timeout=TIMEOUT)


def test_live_update_under_load(xsd_factory, lu_tmp):
    d = xsd_factory(name="lu")
    copy = engine_copy(lu_tmp, "xs-engine-next")
    old = engine_pid(d)
    watcher = d.raw(timeout=TIMEOUT)
    watcher.watch("/data/lu-watched", "tok")
    watcher.wait_event()

    ws = start_writers(d, 2, "lu")
    time.sleep(0.2)
    r = live_update(d, copy)
    assert r.returncode == 0, "live-update -> %d\n%s%s\n%s" % (
        r.returncode, r.stdout, r.stderr, d.stderr()[-3000:])
    time.sleep(0.2)
    stop_writers(ws)

    new = engine_pid(d)
    assert new not in (None, old)
    assert os.readlink("/proc/%d/exe" % new) == copy
    check_acked(d, ws)
    with d.raw() as c:
        c.write("/data/lu-watched", b"1")
    assert watcher.wait_event().strings == ["/data/lu-watched", "tok"]
    watcher.close()
    settle(d)


def test_live_update_options_do_not_pile_up(xsd_factory, lu_tmp):
    """Each live update's -c options go on the broker's own command line,
    not on those of the updates before it."""
    d = xsd_factory(name="luopts")

    def update(name, opts):
        path = engine_copy(lu_tmp, name)
        r = live_update(d, "-c", opts, path)
        assert r.returncode == 0, r.stdout + r.stderr
        wait_until(lambda: engine_pid(d) is not None and os.readlink(
            "/proc/%d/exe" % engine_pid(d)) == path, timeout=TIMEOUT,
            what="the engine %s" % path)
        with open("/proc/%d/cmdline" % engine_pid(d), "rb") as f:
            argv = f.read().split(b"\0")[:-1]
        # The sandbox's options come last, after any a live update adds.
        return argv[:argv.index(b"--uid")]

    with d.raw() as c:
        c.write("/luopts", b"kept")
    first = update("one", "-E 2000 -K")
    assert first[-3:] == [b"-E", b"2000", b"-K"]
    second = update("two", "-W 50")
    assert second[-2:] == [b"-W", b"50"]
    assert b"2000" not in second and b"-K" not in second
    assert second[1:-2] == first[1:-3]
    with d.raw() as c:
        assert c.read("/luopts") == b"kept"
    settle(d)


def engine_that_dies(tmp):
    """A binary with the engine's note that exits at once. Option values
    cannot make a real engine die: the broker refuses any it would refuse
    (include/engine_opts.h)."""
    src, path = os.path.join(tmp, "dies.c"), os.path.join(tmp, "xs-engine-dies")
    with open(src, "w") as f:
        f.write('#include "engine_note.h"\nXS_ENGINE_NOTE;\n'
                "int main(void) { return 1; }\n")
    subprocess.run(["cc", "-I", os.path.join(REPO, "include"), "-o", path,
                    src], check=True)
    return path


def test_live_update_falls_back(xsd_factory, lu_tmp):
    """An engine that dies before it answers: the previous engine runs
    again with the store, and says the update failed."""
    d = xsd_factory(name="lufail")
    bad = engine_that_dies(lu_tmp)
    with d.raw(timeout=TIMEOUT) as c:
        c.write("/lufail/a", b"1")
        r = live_update(d, bad)
        assert r.returncode != 0, r.stdout
        assert c.read("/lufail/a") == b"1"
        c.write("/lufail/b", b"2")
    new = engine_pid(d)
    assert os.readlink("/proc/%d/exe" % new) == os.path.join(
        XS_BUILD, "bin", "xs-engine")
    assert "going back to" in d.stderr()
    settle(d)


@pytest.mark.parametrize("binary", ["text", "/bin/true"])
def test_live_update_runs_engines_only(xsd_factory, lu_tmp, binary):
    """The binary a live update names passes through the engine, which is
    not trusted: the broker runs no file without the engine's or the
    broker's ELF note (another root-owned program) unless it is a daemon of
    --live-update-allow, and the engine goes on as it was."""
    d = xsd_factory(name="lunote")
    path = os.path.join(lu_tmp, "xs-engine-next")
    if binary == "text":
        with open(path, "w") as f:
            f.write("neither ELF nor script\n")
    else:
        shutil.copy(binary if binary.startswith("/") else
                    os.path.join(XS_BUILD, "bin", binary), path)
    os.chmod(path, 0o755)
    old = engine_pid(d)
    with d.raw(timeout=TIMEOUT) as c:
        c.write("/lunote/a", b"1")
        r = live_update(d, path)
        assert r.returncode != 0, r.stdout
        assert "Exec format error" in r.stdout + r.stderr
        assert c.read("/lunote/a") == b"1"
    assert engine_pid(d) == old
    assert "live update: %s refused" % path in d.stderr()


def test_live_update_refuses_writable_binary(xsd_factory, lu_tmp):
    d = xsd_factory(name="lubad")
    copy = engine_copy(lu_tmp, "xs-engine-next", 0o777)
    old = engine_pid(d)
    r = live_update(d, copy)
    assert r.returncode != 0
    assert engine_pid(d) == old
    assert "live update: %s refused" % copy in d.stderr()




@pytest.fixture
def wrap_dir():
    """Links to tests/tools/engine_wrap.c's binary under the names that
    choose what it does."""
    tmp = tempfile.mkdtemp(prefix="xsit-wrap-")
    for name in ("engine-slow", "engine-wait-sync", "engine-hang-on"):
        os.symlink(tool("engine_wrap"), os.path.join(tmp, name))
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


def engine_exe(d):
    pid = engine_pid(d)
    try:
        return os.readlink("/proc/%d/exe" % pid) if pid else None
    except OSError:
        return None


def test_client_of_a_slow_engine_is_served(xsd_factory, wrap_dir):
    """Daemon.start's client connects while the engine still sleeps: it is
    answered once the engine runs."""
    d = xsd_factory(["--engine", os.path.join(wrap_dir, "engine-slow")],
                    name="slow")
    with d.raw(timeout=TIMEOUT) as c:
        c.write("/slow/a", b"1")
        assert c.read("/slow/a") == b"1"


def test_engine_gets_its_sync_unasked(wrap_dir):
    """An engine that says nothing before its ConnSync gets it at once,
    with no client to wake the broker up."""
    d = Daemon(["--engine", os.path.join(wrap_dir, "engine-wait-sync")],
               name="waitsync")
    real = os.path.join(XS_BUILD, "bin", "xs-engine")
    try:
        d.cmd = [os.path.join(XS_BUILD, "bin", "xs-broker"), "-N",
                 "--socket-only"] + d.args + \
            os.environ.get("XS_EXTRA", "").split()
        env = dict(os.environ, XENSTORED_RUNDIR=d.rundir)
        d._err = open(d.stderr_path, "wb")
        d._out = open(d.stdout_path, "wb")
        d.proc = subprocess.Popen(d.cmd, env=env, stdin=subprocess.DEVNULL,
                                  stdout=d._out, stderr=d._err,
                                  start_new_session=True)
        wait_until(lambda: engine_exe(d) == real or not d.alive()
                   or "engine exited" in d.stderr(), timeout=TIMEOUT,
                   what="the engine behind the wrapper")
        assert engine_exe(d) == real, d.stderr()[-2000:]
        assert "engine exited" not in d.stderr(), d.stderr()[-2000:]
        d.engine_pids = _engines(d.proc.pid)
        assert serving(d)
        problems = d.stop()
        assert not problems, problems
    finally:
        d.kill()
        d.cleanup()


def test_lingering_engine_does_not_stall_the_broker(xsd_factory, wrap_dir):
    """An engine that closes its channel and does not exit has a second
    (ENGINE_GONE_MS) before it is killed, and meanwhile the broker serves:
    here the one request it answers itself, the quarantine list."""
    engine = os.path.join(wrap_dir, "engine-hang-on")
    d = xsd_factory(["--engine", engine], name="linger")
    with d.raw(timeout=TIMEOUT) as b:
        b.write("/linger/a", b"1")
        a = d.raw(timeout=TIMEOUT)
        a.send(xsraw.WRITE, xsraw.z("/engine-wrap-crash-here", "x"))
        wait_until(lambda: os.path.exists(engine + ".closed"),
                   timeout=TIMEOUT, what="the engine to close its channel")
        m = b.request(xsraw.CONTROL, xsraw.z("quarantine"))
        assert m.type == xsraw.CONTROL, m
        assert "did not exit" not in d.stderr(), d.stderr()[-2000:]
        wait_until(lambda: "engine closed its channel but did not exit: "
                   "killing it" in d.stderr(), timeout=TIMEOUT,
                   what="the lingering engine to be killed")
        # The request went to the next engine, which lingered too: its
        # connection goes, and the store is served by the one after.
        assert b.read("/linger/a") == b"1"
        a.close()
    settle(d)


def test_store_that_does_not_load_is_kept_and_tried_again(xsd_factory,
                                                          tmp_path):
    """Engines that die before they have the store (here: its memfds were
    overwritten) are said loudly and recorded, the broker keeps the state
    and every connection, and the first engine that can load it serves
    the store as it was."""
    from test_dump import state_memfds
    log = str(tmp_path / "audit.jsonl")
    d = xsd_factory(["--audit-log", log], name="unloadable")
    c = d.raw(timeout=TIMEOUT)
    c.write("/kept/a", b"1")
    saved = []
    for path in state_memfds(d):
        with open(path, "r+b") as f:
            data = f.read()
            saved.append((path, data))
            if data:
                f.seek(0)
                f.write(b"garbage!" * 8)
    os.kill(engine_pid(d), signal.SIGKILL)
    wait_until(lambda: "engines in a row died before they had the store"
               in d.stderr(), timeout=TIMEOUT, what="the loud word")
    assert d.alive()
    for path, data in saved:
        with open(path, "r+b") as f:
            f.truncate(len(data))
            f.write(data)
    wait_until(lambda: serving(d), timeout=TIMEOUT, what="an engine again")
    assert c.read("/kept/a") == b"1"
    events = wait_until(lambda: [e for e in audit_engine_events(log)
                                 if e[0] == "store-not-loaded"],
                        timeout=TIMEOUT, what="the audit record")
    assert events[0][1].startswith("1 engines in a row"), events
    c.close()
    settle(d)


def memfd_sizes(d):
    """Sizes of the two state memfds (held by the spawner)."""
    from test_dump import state_memfds
    return [os.stat(p).st_size for p in state_memfds(d)]


@pytest.mark.skipif("--engine-as-limit" in os.environ.get("XS_EXTRA", ""),
                    reason="this run sets the engine's limit for all tests")
def test_big_store_journal_stays_within_the_engine_file_limit(xsd_factory):
    """Each state memfd may grow to the engine's RLIMIT_FSIZE (its address
    space limit), no further, whatever the engine does. A legitimate store
    whose journal would pass that limit before its usual compaction (8 times
    the snapshot) is compacted at half of it instead: no write fails, the
    engine does not die of its own limit."""
    limit = 160 << 20
    d = xsd_factory(["--engine-as-limit", str(limit)])
    value = lambda: os.urandom(4000)  # what zstd cannot shrink
    n_nodes, n_rewrites = 5000, 70000
    with d.raw(timeout=60) as c:
        # ~20 MB that zstd cannot shrink: 8 times it is past the limit.
        for i in range(0, n_nodes, 100):
            for k in range(i, i + 100):
                c.send(xsraw.WRITE, xsraw.z("/big/%d" % k) + value())
            for k in range(i, i + 100):
                assert not c.recv_reply().is_error
        # The journal grows by one value per rewrite: ~160 MB in all.
        for i in range(0, n_rewrites, 100):
            for k in range(i, i + 100):
                c.send(xsraw.WRITE, xsraw.z("/big/%d" % (k % n_nodes)) +
                       value())
            for k in range(i, i + 100):
                m = c.recv_reply()
                assert not m.is_error, "rewrite %d: %r" % (k, m)
            assert all(s <= limit for s in memfd_sizes(d))
        assert c.read("/big/0")
