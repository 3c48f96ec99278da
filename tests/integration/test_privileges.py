# SPDX-License-Identifier: GPL-2.0-only
"""What each process runs with, read from /proc of the running daemon.

The engine: an unprivileged user, no capabilities in any set, no_new_privs,
a seccomp filter, tight rlimits, its own PID namespace and no fd but its
channel.  The broker, which serves every client: its own user, not the
engine's, no capability in any set, no_new_privs, every fd close-on-exec.
The spawner, the broker's child and the engine's parent: the only process
with capabilities, exactly those policy/spawner.caps lists, and no fd of a
client, a Xen device or an engine's channel.  Then --print-policy, the
users' options, --unsafe-no-sandbox, the engine's options, what a killed
broker leaves, and how the death of an engine by SIGSYS is reported.
"""

import os
import pwd
import signal
import socket
import struct
import subprocess
import tempfile
import time

import pytest

from conftest import (REFERENCE, REPO, XS_BUILD, Daemon, _children,
                      _engines, _spawner, wait_until)

pytestmark = pytest.mark.skipif(
    REFERENCE, reason="C xenstored has no engine and no privilege policy")

BROKER = os.path.join(XS_BUILD, "bin", "xs-broker")
ENGINE = os.path.join(XS_BUILD, "bin", "xs-engine")
SPAWNER_CAPS = os.path.join(REPO, "policy", "spawner.caps")
BROKER_SECCOMP = os.path.join(REPO, "policy", "broker.seccomp")
ENGINE_SECCOMP = os.path.join(REPO, "policy", "engine.seccomp")

# linux/capability.h
CAP_NUMBERS = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2,
    "CAP_FOWNER": 3, "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6,
    "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_LINUX_IMMUTABLE": 9,
    "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11,
    "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14,
    "CAP_IPC_OWNER": 15, "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17,
    "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19, "CAP_SYS_PACCT": 20,
    "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
    "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26,
    "CAP_MKNOD": 27, "CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29,
    "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31, "CAP_MAC_OVERRIDE": 32,
    "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
    "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38,
    "CAP_BPF": 39, "CAP_CHECKPOINT_RESTORE": 40,
}

# The engine's address space unless --engine-as-limit says otherwise.
AS_LIMIT_DEFAULT = 4294967296
O_CLOEXEC = 0o2000000


def policy_caps():
    """[(name, reason)] of policy/spawner.caps, in order."""
    caps = []
    with open(SPAWNER_CAPS) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, why = line.partition("#")
            assert sep and why.strip(), "no reason on line: %r" % line
            caps.append((name.strip(), why.strip()))
    assert caps, "policy/spawner.caps lists nothing"
    return caps


def policy_mask():
    mask = 0
    for name, _ in policy_caps():
        assert name in CAP_NUMBERS, "unknown capability %s" % name
        mask |= 1 << CAP_NUMBERS[name]
    return mask


def status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def limits(pid):
    """{"Max address space": ("soft", "hard")} from /proc/PID/limits."""
    out = {}
    with open("/proc/%d/limits" % pid) as f:
        next(f)
        for line in f:
            name = line[:26].strip()
            soft, hard = line[26:].split()[:2]
            out[name] = (soft, hard)
    return out


def sanitized():
    """ASan reserves terabytes of address space: no AS limit fits it."""
    with open(ENGINE, "rb") as f:
        return b"__asan_init" in f.read()


def as_limit(d):
    """The engine's address-space limit as d was started (XS_EXTRA may set
    it), in /proc/PID/limits form."""
    v = AS_LIMIT_DEFAULT
    for i, arg in enumerate(d.cmd[:-1]):
        if arg == "--engine-as-limit":
            v = int(d.cmd[i + 1])
    return str(v) if v else "unlimited"


def engine_pid(d):
    assert d.engine_pids is not None and len(d.engine_pids) == 1, \
        "the spawner should have exactly one child, its engine: %s" % d.engine_pids
    return d.engine_pids[0]


def spawner_pid(d):
    pid = _spawner(d.proc.pid)
    assert pid is not None, "the broker should have one child, its spawner"
    return pid


def server_pid(d):
    """The process that accepts the clients' connections."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(d.socket)
        return struct.unpack("3i", s.getsockopt(
            socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
    finally:
        s.close()


def fd_targets(pid):
    out = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            out[fd] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            pass
    return out


def listening_inodes():
    """The inodes of every Unix socket bound to a path."""
    out = set()
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            fields = line.split()
            if len(fields) >= 8:
                out.add(fields[6])
    return out


def default_engine_user():
    for name in ("xs-engine", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    pytest.fail("neither xs-engine nor nobody exists")


def print_policy(*args):
    return subprocess.run([BROKER, "--print-policy"] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=30)


# -- the engine ------------------------------------------------------------

def test_engine_user_is_not_root(xsd):
    st = status(engine_pid(xsd))
    pw = default_engine_user()
    assert st["Uid"].split() == [str(pw.pw_uid)] * 4
    assert st["Gid"].split() == [str(pw.pw_gid)] * 4
    assert st["Groups"] == ""


@pytest.mark.parametrize("capset", ["CapEff", "CapPrm", "CapBnd", "CapInh",
                                    "CapAmb"])
def test_engine_has_no_capabilities(xsd, capset):
    assert int(status(engine_pid(xsd))[capset], 16) == 0


def test_engine_no_new_privs_and_seccomp_filter(xsd):
    st = status(engine_pid(xsd))
    assert st["NoNewPrivs"] == "1"
    assert st["Seccomp"] == "2"


def test_engine_holds_only_its_channel(xsd):
    """Its channel (fd 3) and the broker's two state memfds (4 and 5)."""
    pid = engine_pid(xsd)
    fds = os.listdir("/proc/%d/fd" % pid)
    targets = {fd: os.readlink("/proc/%d/fd/%s" % (pid, fd)) for fd in fds}
    assert sorted(fds) == ["3", "4", "5"], "engine fds: %s" % targets
    assert targets["3"].startswith("socket:"), targets
    assert targets["4"].startswith("/memfd:xs-state-a"), targets
    assert targets["5"].startswith("/memfd:xs-state-b"), targets


def test_engine_rlimits(xsd):
    lim = limits(engine_pid(xsd))
    # Only the state memfds are within reach: as large as the address space.
    assert lim["Max file size"] == (as_limit(xsd),) * 2
    assert lim["Max open files"] == ("6", "6")
    assert lim["Max processes"] == ("0", "0")
    assert lim["Max core file size"] == ("0", "0")
    assert lim["Max address space"] == (as_limit(xsd),) * 2


def test_engine_in_its_own_pid_namespace(xsd):
    if "no PID namespace" in xsd.stderr():
        pytest.skip("the kernel refused a PID namespace")
    nspid = status(engine_pid(xsd))["NSpid"].split()
    assert len(nspid) == 2 and nspid[-1] == "1", nspid


def test_engine_user_option(xsd_factory):
    pw = pwd.getpwnam("daemon")
    d = xsd_factory(args=["--engine-user", "daemon"])
    st = status(engine_pid(d))
    assert st["Uid"].split() == [str(pw.pw_uid)] * 4
    assert st["Gid"].split() == [str(pw.pw_gid)] * 4


@pytest.mark.parametrize("value,want", [("1073741824", "1073741824"),
                                        ("0", "unlimited")])
def test_engine_as_limit_option(xsd_factory, value, want):
    if value != "0" and sanitized():
        pytest.skip("an ASan engine cannot run within an address-space limit")
    d = xsd_factory(args=["--engine-as-limit", value])
    assert limits(engine_pid(d))["Max address space"] == (want, want)


def cpu_ticks(pid):
    """utime + stime of pid, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


@pytest.mark.parametrize("spin", [None, "0", "2000"])
def test_spin_us_option_and_idle(xsd_factory, spin):
    """--spin-us reaches the engine, which looks for frames that long and
    then sleeps: idle, neither process keeps a CPU busy (a wait that never
    ended would burn the whole second measured here)."""
    d = xsd_factory(args=[] if spin is None else ["--spin-us", spin])
    pid = engine_pid(d)
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        argv = f.read().split(b"\0")
    if spin is None:
        assert b"--spin-us" not in argv
    else:
        assert argv[argv.index(b"--spin-us") + 1] == spin.encode()
    with d.raw() as c:
        for i in range(200):
            c.write("/spin/%d" % i, b"v")
            assert c.read("/spin/%d" % i) == b"v"
    time.sleep(0.1)
    before = cpu_ticks(pid), cpu_ticks(d.proc.pid)
    time.sleep(1.0)
    after = cpu_ticks(pid), cpu_ticks(d.proc.pid)
    hz = os.sysconf("SC_CLK_TCK")
    assert after[0] - before[0] < hz * 0.3, "engine busy while idle"
    assert after[1] - before[1] < hz * 0.3, "broker busy while idle"
    assert d.alive(), d.stderr()


@pytest.mark.parametrize("value", ["-1", "x", "1000001"])
def test_bad_spin_us(value):
    r = print_policy("--spin-us", value)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "--spin-us" in r.stderr


# -- the broker ------------------------------------------------------------

def test_broker_serves_clients_without_privileges(xsd):
    """The process that accepts connections is the one the launcher
    started, not root, and holds no capability in any set."""
    pid = server_pid(xsd)
    assert pid == xsd.proc.pid
    st = status(pid)
    pw = pwd.getpwnam("xs-broker")
    assert st["Uid"].split() == [str(pw.pw_uid)] * 4
    assert st["Gid"].split() == [str(pw.pw_gid)] * 4
    assert st["Groups"] == ""
    for capset in ("CapEff", "CapPrm", "CapInh", "CapAmb", "CapBnd"):
        assert int(st[capset], 16) == 0, "%s %s" % (capset, st[capset])
    assert st["NoNewPrivs"] == "1"
    # Its own filter, policy/broker.seccomp (test_seccomp_roles.py).
    assert st["Seccomp"] == "2"


def test_engine_user_differs_from_broker(xsd):
    broker = status(xsd.proc.pid)["Uid"].split()[0]
    engine = status(engine_pid(xsd))["Uid"].split()[0]
    assert broker != "0" and engine != "0" and broker != engine


def test_spawner_capabilities_match_policy(xsd):
    st = status(spawner_pid(xsd))
    want = policy_mask()
    assert st["Uid"].split() == ["0"] * 4
    for capset in ("CapEff", "CapPrm", "CapBnd"):
        assert int(st[capset], 16) == want, \
            "%s %s, policy/spawner.caps says %x" % (capset, st[capset], want)
    assert int(st["CapInh"], 16) == 0
    assert int(st["CapAmb"], 16) == 0
    assert st["NoNewPrivs"] == "1"


def test_spawner_is_the_only_process_with_capabilities(xsd):
    procs = [xsd.proc.pid] + _children(xsd.proc.pid) + (_engines(
        xsd.proc.pid) or [])
    assert len(procs) == 3, procs
    held = [p for p in procs
            if any(int(status(p)[c], 16) for c in ("CapEff", "CapPrm"))]
    assert held == [spawner_pid(xsd)], held


def test_spawner_holds_no_client_device_or_channel(xsd):
    """Its control channel, the state memfds, the engine binary, the
    broker's own (a new broker's fallback), its signalfd and /dev/null
    (stderr stays the log in the foreground): no
    socket a client connects to, none of a client's connections, no engine
    channel, no ring or event channel (libxenctrl's hypercall interface,
    for domain information, is its own: not a device under the simulated
    hypervisor)."""
    with xsd.raw() as c:
        c.write("/spawnerfds", b"x")
        targets = fd_targets(spawner_pid(xsd))
    assert targets.pop("2") in ("/dev/null", fd_targets(xsd.proc.pid)["2"])
    sockets = [t for t in targets.values() if t.startswith("socket:")]
    assert len(sockets) == 1, targets
    assert sockets[0][len("socket:["):-1] not in listening_inodes(), targets
    for fd, t in targets.items():
        assert "evtchn" not in t and "gntdev" not in t, targets
        assert (t == "/dev/null" or t.startswith("/memfd:xs-state-")
                or t.startswith("socket:") or t.startswith("anon_inode:")
                or t.endswith("/xs-engine")
                or t == os.readlink("/proc/%d/exe" % xsd.proc.pid)), targets


def test_broker_fds_are_close_on_exec(xsd):
    pid = xsd.proc.pid
    leaks = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        if int(fd) <= 2:
            continue
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                flags = next(l for l in f
                             if l.startswith("flags:")).split()[1]
            if not int(flags, 8) & O_CLOEXEC:
                leaks[fd] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except FileNotFoundError:
            continue  # closed since it was listed: a connection ending
    assert not leaks, "fds without O_CLOEXEC: %s" % leaks


def test_broker_killed_leaves_no_files_nor_engine():
    """SIGKILL gives the broker no chance to clean up: its spawner sees its
    channel end and stops the engine, and removes the sockets and the pid
    file the broker may no longer remove."""
    d = Daemon(name="sigkill")
    pidfile = os.path.join(d.rundir, "xs.pid")
    d.args = ["-F", pidfile]
    d.start()
    try:
        spawner, engine = spawner_pid(d), engine_pid(d)
        os.kill(d.proc.pid, signal.SIGKILL)
        d.proc.wait()

        def gone(pid):
            try:
                with open("/proc/%d/stat" % pid) as f:
                    return f.read().rsplit(")", 1)[1].split()[0] == "Z"
            except OSError:
                return True

        wait_until(lambda: gone(engine) and gone(spawner), timeout=30,
                   what="the engine and the spawner to end")
        for path in (d.socket, d.socket_ro, pidfile):
            assert not os.path.exists(path), path
    finally:
        d.kill()
        d.cleanup()


def test_broker_removes_its_files_after_dropping_privileges():
    d = Daemon(name="files")
    pidfile = os.path.join(d.rundir, "xs.pid")
    d.args = ["-F", pidfile]
    d.start()
    try:
        assert os.path.exists(pidfile)
        problems = d.stop()
        assert not problems, problems
        assert d.proc.returncode == 0, d.stderr()
        for path in (d.socket, d.socket_ro, pidfile):
            assert not os.path.exists(path), path
        # The end of its channel stops the engine: no SIGKILL needed.
        assert "ignored SIGTERM" not in d.stderr()
    finally:
        d.kill()
        d.cleanup()


# -- what it prints and says -------------------------------------------------

def test_print_policy():
    with tempfile.TemporaryDirectory() as rundir:
        env = dict(os.environ, XENSTORED_RUNDIR=rundir)
        r = subprocess.run([BROKER, "--print-policy"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert os.listdir(rundir) == [], "--print-policy started something"
    for name, why in policy_caps():
        assert name in r.stdout and why in r.stdout, name
    spawner, broker, engine = r.stdout.split("\n\n")
    assert spawner.startswith("spawner") and "uid 0" in spawner
    bw = pwd.getpwnam("xs-broker")
    assert "xs-broker (uid %d, gid %d)" % (bw.pw_uid, bw.pw_gid) in broker
    assert "capabilities: none" in broker
    assert "no_new_privs: 1" in broker and "dumpable: 0" in broker
    assert "CAP_" not in broker
    pw = default_engine_user()
    assert "uid %d, gid %d" % (pw.pw_uid, pw.pw_gid) in engine
    assert "AS %d" % AS_LIMIT_DEFAULT in r.stdout
    for path, part in ((ENGINE_SECCOMP, engine), (BROKER_SECCOMP, broker)):
        with open(path) as f:
            calls = [l.split()[0] for l in f if l.strip() and l[0] != "#"]
        assert calls
        for call in calls:
            assert "\n    %s" % call in part, call


def test_print_policy_follows_engine_options():
    pw = pwd.getpwnam("daemon")
    r = print_policy("--engine-user", "daemon", "--engine-as-limit", "0")
    assert r.returncode == 0, r.stderr
    assert "uid %d, gid %d" % (pw.pw_uid, pw.pw_gid) in r.stdout
    assert "AS unlimited" in r.stdout


@pytest.mark.parametrize("args", [["--engine-user", "root"],
                                  ["--engine-user", "no-such-user-xs"],
                                  ["--engine-as-limit", "-1"],
                                  ["--engine-as-limit", "4G"]])
def test_bad_engine_options(args):
    r = print_policy(*args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert args[0] in r.stderr


def test_missing_broker_user_is_refused():
    r = print_policy("--broker-user", "no-such-user-xs")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "no-such-user-xs" in r.stderr
    assert "users.sh" in r.stderr and "--unsafe-broker-root" in r.stderr


def test_broker_user_must_not_be_the_engines():
    r = print_policy("--broker-user", "daemon", "--engine-user", "daemon")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "differ" in r.stderr


def test_unsafe_broker_root(xsd_factory):
    """The broker stays uid 0, but without a capability; it says so."""
    d = xsd_factory(args=["--unsafe-broker-root"])
    wait_until(lambda: "--unsafe-broker-root" in d.stderr(),
               what="the --unsafe-broker-root warning")
    st = status(d.proc.pid)
    assert st["Uid"].split() == ["0"] * 4
    for capset in ("CapEff", "CapPrm", "CapInh", "CapAmb", "CapBnd"):
        assert int(st[capset], 16) == 0, "%s %s" % (capset, st[capset])


def test_unsafe_no_sandbox_warns(xsd_factory):
    d = xsd_factory(args=["--unsafe-no-sandbox"])
    wait_until(lambda: "--unsafe-no-sandbox" in d.stderr()
               and "WITHOUT ITS SANDBOX" in d.stderr(),
               what="the --unsafe-no-sandbox warning")


@pytest.mark.parametrize("args", [[], ["--unsafe-no-sandbox"]],
                         ids=["sandboxed", "unsandboxed"])
def test_engine_killed_by_sigsys_is_reported(args):
    d = Daemon(args, name="sigsys").start()
    try:
        os.kill(engine_pid(d), signal.SIGSYS)
        wait_until(lambda: "engine restarted" in d.stderr(),
                   what="the broker to restart its engine")
        assert d.alive()
        assert "engine killed by signal SIGSYS" in d.stderr()
        # A signal from outside is no system call of the engine's.
        assert "forbidden system call" not in d.stderr()
        d.engine_pids = None
    finally:
        d.stop()
        d.cleanup()
