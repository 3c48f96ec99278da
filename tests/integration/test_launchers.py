# SPDX-License-Identifier: GPL-2.0-only
"""Xen's own launchers start xs-broker as they start xenstored.

Debian's /etc/init.d/xen and upstream's /etc/xen/scripts/launch-xenstore
run here unchanged (the init script's start line as the script has it),
each in a private mount namespace whose /run, /etc/default and
/var/log/xen are the test's own. Also: every option of C xenstored 4.17,
systemd's readiness message, and the engine's oom_score_adj.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import REFERENCE, XS_BUILD, Daemon, _children, wait_until
import xsraw

pytestmark = pytest.mark.skipif(REFERENCE, reason="xs-broker's own launch")

BROKER = os.path.join(XS_BUILD, "bin", "xs-broker")
INIT_SCRIPT = "/etc/init.d/xen"
LAUNCH_XENSTORE = "/etc/xen/scripts/launch-xenstore"
# The engine's, whatever the broker's (broker/spawn_engine.c).
ENGINE_OOM = 500
# What the sanitizer build adds to every command line (make check-san).
EXTRA = os.environ.get("XS_EXTRA", "").split()
ARGS = " ".join(["--socket-only"] + EXTRA)


def oom_score_adj(pid):
    with open("/proc/%d/oom_score_adj" % pid) as f:
        return int(f.read())


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def family(pid):
    """The broker, its spawner and its engine."""
    sp = wait_until(lambda: (_children(pid) or [None])[0], what="the spawner")
    eng = wait_until(lambda: (_children(sp) or [None])[0], what="the engine")
    return pid, sp, eng


def answers(path):
    try:
        with xsraw.XsRaw(path, timeout=10) as c:
            m = c.request(xsraw.GET_DOMAIN_PATH, b"0\0")
            return m.type == xsraw.GET_DOMAIN_PATH
    except (OSError, xsraw.Closed, TimeoutError):
        return False


def write_read(sock):
    env = dict(os.environ, XENSTORED_PATH=sock)
    subprocess.run(["xenstore-write", "/launch", "ok"], env=env, check=True,
                   timeout=30)
    r = subprocess.run(["xenstore-read", "/launch"], env=env, check=True,
                       timeout=30, capture_output=True, text=True)
    assert r.stdout.strip() == "ok"


def recorded(log, path):
    """The audit log, written in batches, records a request of path."""
    def found():
        try:
            with open(log) as f:
                return any(json.loads(l).get("kind") == "request" and
                           json.loads(l).get("path") == path for l in f)
        except OSError:
            return False
    wait_until(found, what="%s's request in %s" % (path, log))


def stop(pids, leftovers):
    """SIGTERM to the broker; then none of pids runs and no path is left."""
    os.kill(pids[0], signal.SIGTERM)
    wait_until(lambda: not any(alive(p) for p in pids), timeout=30,
               what="the broker, spawner and engine to end")
    for path in leftovers:
        assert not os.path.exists(path), path


def in_namespace(script, binds, env=None, timeout=120):
    """script in sh, in a private mount namespace with binds (src, dst)."""
    mounts = "".join("mount --bind '%s' '%s' || exit 97\n" % b for b in binds)
    return subprocess.run(["unshare", "-m", "--propagation", "private",
                           "sh", "-c", mounts + script],
                          env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def kill_leftover(pidfile):
    try:
        with open(pidfile) as f:
            os.kill(int(f.read()), signal.SIGKILL)
    except (OSError, ValueError):
        pass


# -- Debian's /etc/init.d/xen -------------------------------------------------

def init_start_line():
    """The script's variables and its xenstored start command, as written."""
    with open(INIT_SCRIPT) as f:
        text = f.read()
    assigns = [re.search(r"^%s=.*$" % v, text, re.M).group(0)
               for v in ("XENSTORED_DIR", "XENSTORED_PIDFILE")]
    m = re.search(r"if (start-stop-daemon --start --quiet \\\n"
                  r".*?--pid-file \"\$XENSTORED_PIDFILE\"); then",
                  text, re.S)
    assert m, "no xenstored start line in %s" % INIT_SCRIPT
    assert "choom -- -n -1000" in m.group(1), m.group(1)
    return assigns, m.group(1)


def choom_allowed(value):
    return subprocess.run(["choom", "-n", str(value), "--", "true"],
                          capture_output=True).returncode == 0


@pytest.mark.skipif(not os.path.exists(INIT_SCRIPT), reason="no " + INIT_SCRIPT)
@pytest.mark.parametrize("score", [-1000, 300, 900])
def test_init_script_start_line(score):
    """start-stop-daemon ... choom -n -1000 xs-broker -- ARGS --pid-file:
    the broker serves, keeps the launcher's oom_score_adj with its spawner,
    and the engine is the OOM killer's first choice. Where lowering the
    score is not permitted (no CAP_SYS_RESOURCE) the same line runs with a
    score any process may take."""
    if not choom_allowed(score):
        pytest.skip("choom -n %d needs CAP_SYS_RESOURCE here" % score)
    assigns, line = init_start_line()
    line = line.replace("-n -1000", "-n %d" % score)
    tmp = tempfile.mkdtemp(prefix="xsit-initd-")
    run = os.path.join(tmp, "run")
    os.mkdir(run)
    pidfile = os.path.join(run, "xenstore.pid")
    try:
        script = "\n".join(assigns + [
            '[ -d "$XENSTORED_DIR" ] || mkdir -p "$XENSTORED_DIR"',
            'export XENSTORED_ROOTDIR="$XENSTORED_DIR"',
            'try_xenstored="%s"' % BROKER,
            'XENSTORED_ARGS="%s"' % ARGS,
            line + "\n"])
        r = in_namespace(script, [(run, "/run")])
        assert r.returncode == 0, r.stderr
        # start-stop-daemon returned: it serves and the pid file is there.
        sock = os.path.join(run, "xenstored", "socket")
        assert answers(sock)
        with open(pidfile) as f:
            pid = int(f.read())
        assert os.path.basename(os.readlink("/proc/%d/exe" % pid)) == \
            "xs-broker"
        pids = family(pid)
        assert [oom_score_adj(p) for p in pids] == \
            [score, score, max(score, ENGINE_OOM)]
        write_read(sock)
        stop(pids, [pidfile, sock, sock + "_ro"])
    finally:
        kill_leftover(pidfile)
        shutil.rmtree(tmp, ignore_errors=True)


# -- upstream's launch-xenstore -----------------------------------------------

@pytest.mark.skipif(not os.path.exists(LAUNCH_XENSTORE),
                    reason="no " + LAUNCH_XENSTORE)
@pytest.mark.parametrize("trace", [False, True])
def test_launch_xenstore(trace):
    """launch-xenstore as it is, with XENSTORED and XENSTORED_ARGS from
    its /etc/default/xencommons (and XENSTORED_TRACE: -T FILE, the audit
    log): the pid file holds the broker's pid, a client reads and writes,
    and SIGTERM leaves nothing behind."""
    tmp = tempfile.mkdtemp(prefix="xsit-launch-")
    run, default, log = (os.path.join(tmp, d) for d in ("run", "default", "log"))
    for d in (run, default, log):
        os.mkdir(d)
    pidfile = os.path.join(run, "xen", "xenstored.pid")
    # prlimit --nofile may not raise the hard limit here; the file says how
    # many fds, as an administrator may.
    nofile = subprocess.run(["sh", "-c", "ulimit -Hn"], capture_output=True,
                            text=True, check=True).stdout.strip()
    with open(os.path.join(default, "xencommons"), "w") as f:
        f.write("XENSTORED=%s\n" % BROKER)
        f.write('XENSTORED_ARGS="%s"\n' % ARGS)
        f.write("XENSTORED_MAX_OPEN_FDS=%s\n" % nofile)
        if trace:
            f.write("XENSTORED_TRACE=yes\n")
    binds = [(run, "/run"), (default, "/etc/default")]
    if os.path.isdir("/var/log/xen"):
        binds.append((log, "/var/log/xen"))
    try:
        r = in_namespace("exec %s\n" % LAUNCH_XENSTORE, binds)
        assert r.returncode == 0, r.stdout + r.stderr
        with open(pidfile) as f:
            pid = int(f.read())
        sock = os.path.join(run, "xenstored", "socket")
        assert answers(sock)
        pids = family(pid)
        assert oom_score_adj(pids[2]) >= ENGINE_OOM
        write_read(sock)
        if trace:
            recorded(os.path.join(log, "xenstored-trace.log"), "/launch")
        stop(pids, [pidfile, sock, sock + "_ro"])
    finally:
        kill_leftover(pidfile)
        shutil.rmtree(tmp, ignore_errors=True)


# -- every option of C xenstored 4.17 -----------------------------------------

ACCEPTED = [
    (["-R"], "-R (--no-recovery) ignored"),
    (["--no-recovery"], "-R (--no-recovery) ignored"),
    (["-I"], "-I (--internal-db) ignored"),
    (["-Ioff"], "-I (--internal-db) ignored"),
    (["--internal-db=on"], "-I (--internal-db) ignored"),
    (["--event", "0"], None),
    (["--master-domid", "0"], None),
    (["--priv-domid", "00"], None),
]


@pytest.mark.parametrize("args,logged", ACCEPTED,
                         ids=[" ".join(a) for a, _ in ACCEPTED])
def test_c_xenstored_option_accepted(xsd_factory, args, logged):
    d = xsd_factory(args=args, name="xsdopt")
    if logged is not None:
        assert logged in d.stderr()
    assert answers(d.socket)


REFUSED = [
    (["--event", "7"], "only 0, the default"),
    (["--master-domid", "1"], "only 0, the default"),
    (["--priv-domid", "5"], "only 0, the default"),
    (["--priv-domid", "-0"], "is not a number"),
    (["--event", ""], "is not a number"),
    (["-Imaybe"], "neither on nor off"),
    # Long only in C xenstored too.
    (["-e", "0"], "unknown option -e"),
    (["-m", "0"], "unknown option -m"),
    (["-p", "0"], "unknown option -p"),
    (["-w", "watch-event=2147484"], "from 0 to 2147483"),
    (["-T"], "-T needs a value"),
]


@pytest.mark.parametrize("args,why", REFUSED,
                         ids=[" ".join(a) or "empty" for a, _ in REFUSED])
def test_c_xenstored_option_refused(args, why):
    """A start that cannot be what was asked for fails, saying why, and
    serves nothing."""
    rundir = tempfile.mkdtemp(prefix="xsit-refused-")
    try:
        r = subprocess.run([BROKER, "-N", "--socket-only"] + EXTRA + args,
                           env=dict(os.environ, XENSTORED_RUNDIR=rundir),
                           capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 2, (r.returncode, r.stderr)
        assert why in r.stderr, r.stderr
        assert not os.path.exists(os.path.join(rundir, "socket"))
    finally:
        shutil.rmtree(rundir, ignore_errors=True)


@pytest.mark.parametrize("opt", ["-U", "--live-update"])
def test_live_update_without_a_stream(opt):
    """-U with no state_dump to take over stops at once, serving nothing
    (test_takeover.py takes one over)."""
    rundir = tempfile.mkdtemp(prefix="xsit-nolu-")
    try:
        r = subprocess.run([BROKER, "-N", "--socket-only"] + EXTRA + [opt],
                           env=dict(os.environ, XENSTORED_RUNDIR=rundir),
                           capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        assert r.returncode != 0, r.stderr
        assert "live update: %s/state_dump" % rundir in r.stderr, r.stderr
        assert not os.path.exists(os.path.join(rundir, "socket"))
    finally:
        shutil.rmtree(rundir, ignore_errors=True)


def test_c_xenstored_command_line(xsd_factory):
    """Every option C xenstored 4.17 takes, on one command line."""
    tmp = tempfile.mkdtemp(prefix="xsit-allopts-")
    trace = os.path.join(tmp, "trace.log")
    try:
        d = xsd_factory(args=[
            "-D", "-E", "1000", "--entry-nb", "1000", "-S", "2048",
            "-W", "128", "-t", "10", "-A", "5", "-M", "2048",
            "-Q", "transaction-nodes=1024", "-Q", "memory=2621440",
            "--quota", "outstanding=20", "-q", "memory=2097152",
            "--quota-soft", "memory=2097152", "-w", "watch-event=20",
            "--timeout", "watch-event=20", "-R", "-I", "-K", "-V",
            "--event", "0", "--master-domid", "0", "--priv-domid", "0",
            "--trace-file", trace, "-F", os.path.join(tmp, "pid"), "-P"],
            name="allopts")
        write_read(d.socket)
        recorded(trace, "/launch")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_trace_file_leaves_audit_log_alone(xsd_factory):
    """-T names the log only when --audit-log does not."""
    tmp = tempfile.mkdtemp(prefix="xsit-trace-")
    trace, audit = (os.path.join(tmp, n) for n in ("trace.log", "audit.log"))
    try:
        d = xsd_factory(args=["-T", trace, "--audit-log", audit], name="tr")
        write_read(d.socket)
        assert "-T (--trace-file) ignored" in d.stderr()
        recorded(audit, "/launch")
        assert not os.path.exists(trace)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- readiness ----------------------------------------------------------------

def test_notify_socket_after_it_serves():
    """With NOTIFY_SOCKET, READY=1 comes once the socket answers, naming
    the broker as the main pid; the pid file is there by then."""
    tmp = tempfile.mkdtemp(prefix="xsit-notify-")
    note = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    note.bind(os.path.join(tmp, "notify"))
    note.settimeout(60)
    pidfile = os.path.join(tmp, "pid")
    env = dict(os.environ, XENSTORED_RUNDIR=tmp,
               NOTIFY_SOCKET=os.path.join(tmp, "notify"))
    p = subprocess.Popen([BROKER, "-N", "--socket-only", "-F", pidfile] +
                         EXTRA,
                         env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        msg = note.recv(4096).decode()
        # No retry: it serves when it says so.
        assert answers(os.path.join(tmp, "socket"))
        fields = dict(l.split("=", 1) for l in msg.split("\n") if l)
        assert fields.get("READY") == "1", msg
        assert fields.get("MAINPID") == str(p.pid), msg
        with open(pidfile) as f:
            assert int(f.read()) == p.pid
        note.settimeout(0.5)
        with pytest.raises(socket.timeout):
            note.recv(4096)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(60)
        p.stderr.close()
        note.close()
        shutil.rmtree(tmp, ignore_errors=True)

