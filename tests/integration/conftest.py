# SPDX-License-Identifier: GPL-2.0-only
"""Fixtures of the integration suite.

The daemon under test is ``$XS_BUILD/bin/xs-broker`` (XS_BUILD defaults to
``build/`` of this checkout).  Each test module gets a fresh daemon in its own
temporary run directory (``xsd``); tests that need a pristine store or special
options start their own through ``xsd_factory``.  At teardown every daemon
must still be running (it never crashed, and its engine was never restarted)
and its stderr must hold no sanitizer report.

Setting ``XS_REFERENCE=1`` runs the same tests against Debian's C xenstored
4.17 instead (``ref_shim.c`` stands in for the hypervisor libraries so it
starts without Xen).  C xenstored has no read-only socket, so tests needing
one are skipped in that mode only.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import xsraw  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
XS_BUILD = os.path.abspath(os.environ.get("XS_BUILD", os.path.join(REPO, "build")))
REFERENCE = os.environ.get("XS_REFERENCE", "") not in ("", "0")
REF_XENSTORED = "/usr/lib/xen-4.17/bin/xenstored"

# Python with python3-pyxs, for any subprocess that needs it.
SYS_PYTHON = "/usr/bin/python3"

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0

SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "AddressSanitizer:DEADLYSIGNAL",
)

# In the sanitizer build LeakSanitizer checks the broker at its exit, under
# the broker's seccomp filter: with the symbolizer (an exec) and colours (a
# terminal ioctl) its report would end in SIGSYS instead of being written.
# Addresses alone are enough; addr2line reads them.
SANITIZER_ENV = "symbolize=0:color=never"


def tool(name):
    """Path of a client program built from tests/tools/<name>.c."""
    return os.path.join(XS_BUILD, "tests", name)


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return sorted(int(x) for x in f.read().split())
    except OSError:
        return None


def _spawner(pid):
    """The broker's one child, its spawner, or None."""
    kids = _children(pid)
    return kids[0] if kids and len(kids) == 1 else None


def _engines(pid):
    """The engines of the broker pid: the children of its spawner."""
    sp = _spawner(pid)
    return None if sp is None else _children(sp)


def _ref_shim(tmp):
    so = os.path.join(tmp, "ref_shim.so")
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", so,
                    os.path.join(HERE, "ref_shim.c"), "-ldl"], check=True)
    return so


class Daemon:
    """One running xs-broker (and its engine) in a private run directory."""

    def __init__(self, args=(), name="xsd"):
        self.args = list(args)
        self.rundir = tempfile.mkdtemp(prefix="xsit-%s-" % name)
        self.socket = os.path.join(self.rundir, "socket")
        self.socket_ro = os.path.join(self.rundir, "socket_ro")
        self.stderr_path = os.path.join(self.rundir, "stderr.log")
        self.stdout_path = os.path.join(self.rundir, "stdout.log")
        self.has_ro = not REFERENCE
        self.proc = None
        self.engine_pids = None

    # -- lifecycle -----------------------------------------------------

    def start(self):
        env = dict(os.environ)
        env["XENSTORED_RUNDIR"] = self.rundir
        env["ASAN_OPTIONS"] = ":".join(filter(None, [
            os.environ.get("ASAN_OPTIONS"), SANITIZER_ENV]))
        if REFERENCE:
            env["LD_PRELOAD"] = _ref_shim(self.rundir)
            cmd = [REF_XENSTORED, "-N"] + self.args
        else:
            cmd = [os.path.join(XS_BUILD, "bin", "xs-broker"), "-N",
                   "--socket-only"] + self.args + os.environ.get("XS_EXTRA", "").split()
        self.cmd = cmd
        self._err = open(self.stderr_path, "wb")
        self._out = open(self.stdout_path, "wb")
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self._out, stderr=self._err,
                                     start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        want = [self.socket] + ([self.socket_ro] if self.has_ro else [])
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("%s exited with %s before serving:\n%s" % (
                    " ".join(cmd), self.proc.returncode, self.stderr()))
            if all(self._connectable(p) for p in want) and self._answers():
                break
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError("%s not serving after %ss:\n%s" % (
                    " ".join(cmd), START_TIMEOUT, self.stderr()))
            time.sleep(0.05)
        self.engine_pids = _engines(self.proc.pid)
        return self

    @staticmethod
    def _connectable(path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def _answers(self):
        # The socket may be bound before the engine is ready: wait until a
        # real request gets a reply.
        try:
            with xsraw.XsRaw(self.socket, timeout=START_TIMEOUT) as c:
                m = c.request(xsraw.GET_DOMAIN_PATH, b"0\0")
                return m.type in (xsraw.GET_DOMAIN_PATH, xsraw.ERROR)
        except (OSError, xsraw.Closed, TimeoutError):
            return False

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_healthy(self):
        """The daemon runs, its engine was not replaced (a crash restarts
        it), and no sanitizer complained."""
        problems = []
        if not self.alive():
            problems.append("daemon exited with status %s" % self.proc.returncode)
        elif self.engine_pids is not None:
            now = _engines(self.proc.pid)
            if now is not None and now != self.engine_pids:
                problems.append("engine process changed (crash/restart?): %s -> %s"
                                % (self.engine_pids, now))
        err = self.stderr()
        bad = [l for l in err.splitlines() if any(m in l for m in SANITIZER_MARKERS)]
        if bad:
            problems.append("sanitizer reports: %s" % bad[:5])
        return problems

    def kill(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait()

    def stop(self):
        """SIGTERM and wait; returns the list of problems found."""
        problems = self.check_healthy()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                # Its way out is checked too: LeakSanitizer runs then.
                if self.proc.wait(STOP_TIMEOUT) != 0 and not REFERENCE:
                    problems.append("daemon exited with status %s on SIGTERM"
                                    % self.proc.returncode)
            except subprocess.TimeoutExpired:
                problems.append("daemon ignored SIGTERM for %ss" % STOP_TIMEOUT)
            # Reap an engine that outlived the broker, if any.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self._err.close()
        self._out.close()
        # A sanitizer report may be written while exiting.
        err = self.stderr()
        bad = [l for l in err.splitlines() if any(m in l for m in SANITIZER_MARKERS)]
        if bad and not any(p.startswith("sanitizer") for p in problems):
            problems.append("sanitizer reports at exit: %s" % bad[:5])
        return problems

    def cleanup(self):
        shutil.rmtree(self.rundir, ignore_errors=True)

    # -- conveniences --------------------------------------------------

    def env(self, ro=False):
        e = dict(os.environ)
        e["XENSTORED_PATH"] = self.socket_ro if ro else self.socket
        return e

    def raw(self, ro=False, timeout=xsraw.DEFAULT_TIMEOUT):
        return xsraw.XsRaw(self.socket_ro if ro else self.socket, timeout)

    def require_ro(self):
        if not self.has_ro:
            pytest.skip("C xenstored 4.17 (reference mode) has no socket_ro")


def _finish(d):
    problems = d.stop()
    if problems:
        tail = d.stderr()[-4000:]
        pytest.fail("daemon %s unhealthy: %s\n--- stderr tail ---\n%s"
                    % (" ".join(d.cmd), "; ".join(problems), tail),
                    pytrace=False)
    d.cleanup()


@pytest.fixture(scope="module")
def _module_daemon():
    d = Daemon(name="mod").start()
    yield d
    _finish(d)


@pytest.fixture
def xsd(_module_daemon):
    """The module's daemon; checked for health after every test, so a crash
    is reported against the test that caused it."""
    yield _module_daemon
    problems = _module_daemon.check_healthy()
    if problems:
        pytest.fail("daemon unhealthy after test: %s\n--- stderr tail ---\n%s"
                    % ("; ".join(problems), _module_daemon.stderr()[-4000:]),
                    pytrace=False)


@pytest.fixture
def xsd_factory():
    """Start private daemons: xsd_factory(args=[...]).  Each is stopped and
    checked when the test ends."""
    started = []

    def make(args=(), name="priv"):
        d = Daemon(args, name=name).start()
        started.append(d)
        return d

    yield make
    errors = []
    for d in started:
        problems = d.stop()
        if problems:
            errors.append("%s: %s\n%s" % (" ".join(d.cmd), "; ".join(problems),
                                          d.stderr()[-4000:]))
        else:
            d.cleanup()
    if errors:
        pytest.fail("daemon unhealthy: " + "\n".join(errors), pytrace=False)


@pytest.fixture
def fresh_xsd(xsd_factory):
    """A private daemon with default options, for tests that need a pristine
    store."""
    return xsd_factory()


_counter = [0]


@pytest.fixture
def base(xsd, request):
    """A unique, not yet existing path under which a test may work, so tests
    sharing a module daemon do not see each other's nodes."""
    _counter[0] += 1
    name = "".join(ch if ch.isalnum() else "_" for ch in request.node.name)[:60]
    return "/test/%s-%d" % (name, _counter[0])


def rss_kb(pid):
    """The resident memory of process pid, in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def wait_until(pred, timeout=30.0, what="condition"):
    """Poll pred() until true, or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(0.02)
