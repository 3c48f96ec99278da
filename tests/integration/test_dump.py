# SPDX-License-Identifier: GPL-2.0-only
"""Dump and restore: `xs-dump` writes the running store as a
xenstore migration stream without disturbing it, `xs-broker --restore`
starts an identical store from it, and a truncated or corrupt dump is
refused with the reason while the running store is untouched. The dump's
parser runs as the engine's user under its seccomp filter, so a state a
subverted engine crafted is refused by that parser, not by root."""

import os
import pwd
import re
import socket
import struct
import subprocess

import pytest

import xsraw
from conftest import REFERENCE, XS_BUILD, Daemon, _spawner

pytestmark = pytest.mark.skipif(REFERENCE, reason="split-xenstored's tools")

DUMP = os.path.join(XS_BUILD, "bin", "xs-dump")


def ls(d):
    """Every node with its value and permissions, as xenstore-ls shows."""
    r = subprocess.run(["xenstore-ls", "-f", "-p", "/"], env=d.env(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60, check=True)
    return r.stdout.decode()


def populate(d):
    with d.raw() as c:
        for i in range(300):
            c.ok(xsraw.WRITE, b"/dump/d%d/n%d\0v%d" % (i % 7, i, i))
        c.ok(xsraw.WRITE, b"/dump/bin\0a\nb\x01\xff")
        c.ok(xsraw.SET_PERMS, b"/dump/d3\0n0\0r5\0w7\0")
        c.ok(xsraw.RM, b"/dump/d6\0")
        c.ok(xsraw.MKDIR, b"/dump/empty\0")


def run_dump(d, path, *args):
    return subprocess.run([DUMP, path] + list(args), env=d.env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=60)


def dump(d, path):
    r = run_dump(d, path)
    assert r.returncode == 0, r.stderr.decode()


def engine_user():
    """The user the broker's engine runs as by default."""
    for name in ("xs-engine", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    pytest.fail("neither xs-engine nor nobody exists")


def state_memfds(d):
    """The state memfds, as /proc paths: its spawner holds them (the broker
    is whoever serves the socket, as the dump tool finds it)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(d.socket)
    pid = struct.unpack("3i", s.getsockopt(socket.SOL_SOCKET,
                                           socket.SO_PEERCRED, 12))[0]
    s.close()
    fds = "/proc/%d/fd" % _spawner(pid)
    out = []
    for fd in os.listdir(fds):
        try:
            target = os.readlink(os.path.join(fds, fd))
        except OSError:
            continue
        if target.startswith("/memfd:xs-state-"):
            out.append(os.path.join(fds, fd))
    assert len(out) == 2, out
    return out


def restore_fails(tmp_path, data, why):
    bad = str(tmp_path / "bad.xs")
    with open(bad, "wb") as f:
        f.write(data)
    d = Daemon(["--restore", bad], name="bad")
    with pytest.raises(AssertionError) as e:
        d.start()
    d.cleanup()
    assert why in str(e.value), str(e.value)[-3000:]


def test_dump_restores_identical(xsd_factory, tmp_path):
    a = xsd_factory(name="a")
    populate(a)
    path = str(tmp_path / "store.xs")
    dump(a, path)
    with open(path, "rb") as f:
        head = f.read(16)
    # Xen's migration stream: "xenstore", version 2, little-endian flags.
    assert head[:8] == b"xenstore"
    assert struct.unpack(">I", head[8:12])[0] == 2
    b = xsd_factory(["--restore", path], name="b")
    assert ls(b) == ls(a)
    assert "store restored from %s" % path in b.stderr()
    # The restored store is a store: it changes and keeps its changes.
    with b.raw() as c:
        c.ok(xsraw.WRITE, b"/dump/after\0yes")
        assert c.request(xsraw.READ, b"/dump/d3/n3\0").payload == b"v3"


def test_dump_while_serving(xsd_factory, tmp_path):
    """A dump taken while a client writes is a state the store was in."""
    a = xsd_factory(name="busy")
    populate(a)
    with a.raw() as c:
        for i in range(200):
            c.send(xsraw.WRITE, b"/busy/n%d\0x" % i)
        path = str(tmp_path / "busy.xs")
        dump(a, path)
        for i in range(200):
            assert c.recv_reply().type == xsraw.WRITE
    b = xsd_factory(["--restore", path], name="busy2")
    assert "/dump/d0/n0" in ls(b)


def test_corrupt_dump_refused(xsd_factory, tmp_path):
    a = xsd_factory(name="src")
    populate(a)
    before = ls(a)
    path = str(tmp_path / "good.xs")
    dump(a, path)
    with open(path, "rb") as f:
        good = f.read()
    restore_fails(tmp_path, good[:len(good) - 20], "truncated record")
    restore_fails(tmp_path, good[:len(good) // 2], "refused by the engine")
    restore_fails(tmp_path, b"not a dump at all", "neither a snapshot nor")
    # A record of an unknown type in the middle.
    broken = bytearray(good)
    broken[16:20] = struct.pack("<I", 0x7777)
    restore_fails(tmp_path, bytes(broken), "record of an unknown type")
    # The running store was never touched.
    assert ls(a) == before


CONNECTION_DATA = 2


def records_but_connections(stream):
    """The stream's header and records, byte for byte, but those of socket
    connections, which come and go with clients (the dump tool's own)."""
    out = [stream[:16]]
    off = 16
    while off < len(stream):
        rtype, rlen = struct.unpack("<II", stream[off:off + 8])
        end = off + 8 + ((rlen + 7) & ~7)
        assert end <= len(stream)
        if rtype != CONNECTION_DATA:
            out.append(stream[off:end])
        off = end
    return out


def test_dump_to_stdout_is_the_file(xsd_factory, tmp_path):
    """`-` writes the same records as a file, and a store restored from
    them dumps the same records again: the stream is the store's, whoever
    writes it."""
    a = xsd_factory(name="out")
    populate(a)
    path = str(tmp_path / "file.xs")
    dump(a, path)
    r = run_dump(a, "-")
    assert r.returncode == 0, r.stderr.decode()
    with open(path, "rb") as f:
        first = records_but_connections(f.read())
    assert records_but_connections(r.stdout) == first
    assert len(first) > 250  # the nodes populate() leaves
    assert not os.path.exists(path + ".tmp")
    b = xsd_factory(["--restore", path], name="out2")
    again = run_dump(b, "-")
    assert again.returncode == 0, again.stderr.decode()
    assert records_but_connections(again.stdout) == first


def test_dump_parses_as_the_engine_user(xsd_factory, tmp_path):
    """The tool checks with the kernel that its parser dropped root, and
    says so with --verbose."""
    a = xsd_factory(name="who")
    populate(a)
    r = run_dump(a, str(tmp_path / "who.xs"), "--verbose")
    assert r.returncode == 0, r.stderr.decode()
    m = re.search(r"parsing in process (\d+) as uid (\d+) gid (\d+), with "
                  r"no capabilities, no_new_privs and a seccomp filter",
                  r.stderr.decode())
    assert m, r.stderr.decode()
    pw = engine_user()
    assert (int(m.group(2)), int(m.group(3))) == (pw.pw_uid, pw.pw_gid)
    assert pw.pw_uid != 0 and int(m.group(1)) != os.getpid()


def test_crafted_state_refused_by_the_sandboxed_parser(xsd_factory,
                                                       tmp_path):
    """The state an engine wrote is what a subverted engine would craft:
    written over in the broker's memfds, it is refused by the parser in
    the sandbox, and no output is left behind."""
    a = xsd_factory(name="craft")
    populate(a)
    saved = []
    for path in state_memfds(a):
        with open(path, "r+b") as f:
            data = f.read()
            saved.append((path, data))
            if data:
                f.seek(0)
                f.write(b"crafted!" * 8)
    try:
        out = str(tmp_path / "craft.xs")
        r = run_dump(a, out)
    finally:
        # The engine goes on with the state it wrote.
        for path, data in saved:
            with open(path, "r+b") as f:
                f.write(data)
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert ("xs-dump: sandboxed parser: the state is unreadable: neither "
            "a snapshot nor a xenstore migration stream") in err, err
    assert not os.path.exists(out) and not os.path.exists(out + ".tmp")
