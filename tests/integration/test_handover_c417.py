# SPDX-License-Identifier: GPL-2.0-only
"""Handing the store back to C xenstored 4.17: `xs-engine --write-stream
c417` restores a store from its state fds in its sandbox, as a broker runs
it, and writes it to its channel as 4.17's live update reads it (version
1, the @ nodes, plain WATCH_DATA with relative paths as the client gave
them, every node after its parent, END). The broker's check of that
stream takes it with the connections the watches name and refuses it
without them, and the nodes restore as the store they came from."""

import os
import struct
import subprocess
import sys

import pytest

import xsraw
from conftest import REFERENCE, XS_BUILD, tool
from test_dump import engine_user, ls, state_memfds

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "xensim"))

import xensim as X  # noqa: E402
from test_xensim import build, sim  # noqa: E402,F401

pytestmark = pytest.mark.skipif(REFERENCE, reason="split-xenstored's engine")

ENGINE = os.path.join(XS_BUILD, "bin", "xs-engine")
END, CONNECTION_DATA, WATCH_DATA, NODE_DATA = 0, 2, 3, 5


def records(stream):
    """(type, body) of every record after the preamble."""
    out, off = [], 16
    while off < len(stream):
        rtype, rlen = struct.unpack("<II", stream[off:off + 8])
        out.append((rtype, stream[off + 8:off + 8 + rlen]))
        off += 8 + ((rlen + 7) & ~7)
    return out


def memfd_with(name, data):
    fd = os.memfd_create(name, 0)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def write_stream(state_a, state_b=b""):
    """What the engine writes to its channel from the state in memfds."""
    pw = engine_user()
    a = memfd_with("xs-state-a", state_a)
    b = memfd_with("xs-state-b", state_b)
    out = memfd_with("xs-c417", b"")
    try:
        r = subprocess.run(
            [ENGINE, "--write-stream", "c417", "--fd", str(out),
             "--state-fd", str(a), "--state-fd", str(b),
             "--uid", str(pw.pw_uid), "--gid", str(pw.pw_gid)],
            pass_fds=(a, b, out), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, timeout=60)
        os.lseek(out, 0, os.SEEK_SET)
        data = b""
        while True:
            chunk = os.read(out, 1 << 20)
            if not chunk:
                break
            data += chunk
        return r.returncode, data
    finally:
        for fd in (a, b, out):
            os.close(fd)


def handover_check(path, *ids):
    r = subprocess.run([tool("handover_check"), path] +
                       [str(i) for i in ids],
                       stdout=subprocess.PIPE, timeout=60)
    return r.returncode, r.stdout.decode().strip()


def populate(d):
    with d.raw() as c:
        for i in range(40):
            c.ok(xsraw.WRITE, b"/h/d%d/n%d\0v%d" % (i % 5, i, i))
        c.ok(xsraw.WRITE, b"/h/bin\0a\nb\x01\xff")
        c.ok(xsraw.SET_PERMS, b"/h/d3\0n0\0r5\0w7\0")
        c.ok(xsraw.MKDIR, b"/h/empty\0")
        c.ok(xsraw.SET_PERMS, b"@releaseDomain\0n0\0r9\0")


def stream_of(d):
    """The stream the engine writes from d's state, while one client of d
    watches /h/d1, rel/x (relative) and @introduceDomain."""
    with d.raw() as w:
        w.watch(b"/h/d1", b"abs")
        w.watch(b"rel/x", b"rel")
        w.watch(b"@introduceDomain", b"intro")
        # Copies of the broker's state, as it hands them to an engine.
        state = []
        for p in sorted(state_memfds(d)):
            with open(p, "rb") as f:
                state.append(f.read())
        return write_stream(*state)


def test_write_stream_c417(xsd_factory, tmp_path):
    a = xsd_factory(name="c417")
    populate(a)
    rc, out = stream_of(a)
    assert rc == 0, out[:200]
    assert out[:8] == b"xenstore"
    assert struct.unpack(">II", out[8:16]) == (1, 0)
    recs = records(out)
    assert recs[-1] == (END, b"")
    assert {t for t, _ in recs} == {NODE_DATA, WATCH_DATA, END}

    # The watches: one connection's (the broker's id), paths as the client
    # gave them, 4.17's record with no depth, its length padded as 4.17
    # pads it.
    conns, watches = set(), {}
    for t, body in recs:
        if t == WATCH_DATA:
            cid, pl, tl = struct.unpack("<IHH", body[:8])
            assert len(body) == (8 + pl + tl + 7) & ~7
            conns.add(cid)
            watches[body[8 + pl:8 + pl + tl - 1]] = body[8:8 + pl - 1]
    assert watches == {b"abs": b"/h/d1", b"rel": b"rel/x",
                       b"intro": b"@introduceDomain"}
    assert len(conns) == 1

    # The @ nodes first, with the permissions they were given.
    names = [body[16 + 4 * struct.unpack("<H", body[14:16])[0]:]
             .split(b"\0")[0] for t, body in recs if t == NODE_DATA]
    assert names[:3] == [b"@releaseDomain", b"@introduceDomain", b"/"]
    assert recs[0][1][14:24] == b"\x02\0n\0\0\0r\0\x09\0"

    out_path = str(tmp_path / "c417.xs")
    with open(out_path, "wb") as f:
        f.write(out)
    rc, why = handover_check(out_path, *conns)
    assert rc == 0 and why == "ok 16 %d" % (len(out) - 24), why
    rc, why = handover_check(out_path)
    assert rc == 1 and why == "WATCH_DATA of an unknown connection", why

    # The nodes, without the watches (their connections are the broker's
    # records), restore as the store they came from.
    nodes = out[:16] + b"".join(
        struct.pack("<II", t, len(body)) + body
        for t, body in recs if t != WATCH_DATA)
    restored = str(tmp_path / "nodes.xs")
    with open(restored, "wb") as f:
        f.write(nodes)
    b = xsd_factory(["--restore", restored], name="c417b")
    assert ls(b) == ls(a)


def test_write_stream_refuses_a_bad_state(tmp_path):
    """A state that does not restore is said as --check-state says it."""
    rc, out = write_stream(b"xenstore\0\0\0\x02\0\0\0\0" + b"\1" * 8)
    assert rc == 1
    assert out.startswith(b"state: "), out


# Run by C xenstored's live update in place of the new binary: the stream
# the old daemon dumped keeps its preamble, GLOBAL_DATA and CONNECTION_DATA
# (what the broker writes), the rest is the engine's, its watches put on
# the first socket connection; then the real daemon reads it with -U.
SPLICE = """#!/usr/bin/python3
import os, struct, sys
dump = os.path.join(os.environ["XENSTORED_ROOTDIR"], "state_dump")
with open(dump, "rb") as f:
    old = f.read()
with open(%(body)r, "rb") as f:
    body = f.read()
out, off, first = [old[:16]], 16, None
while True:
    t, n = struct.unpack("<II", old[off:off + 8])
    if t == 0:
        break
    if t in (1, 2):
        out.append(old[off:off + 8 + n])
        if t == 2 and first is None and old[off + 12:off + 14] == b"\\1\\0":
            first = old[off + 8:off + 12]
    off += 8 + n
off = 0
while off < len(body):
    t, n = struct.unpack("<II", body[off:off + 8])
    rec = body[off:off + 8 + n]
    if t == 3:
        rec = rec[:8] + first + rec[12:]
    out.append(rec)
    off += 8 + n
with open(dump, "wb") as f:
    f.write(b"".join(out))
os.execv(%(xenstored)r, [%(xenstored)r] + sys.argv[1:])
"""


@pytest.mark.skipif(
    not all(os.access(p, os.X_OK) for p in (X.XENSTORED, X.XENSTORE_CONTROL)),
    reason="needs Debian's C xenstored and xenstore-control (xen-utils-4.17)")
def test_c_xenstored_417_reads_it(xsd_factory, sim, tmp_path):
    """Debian's C xenstored 4.17, live-updated under the simulated
    hypervisor onto the engine's records, serves the store they came
    from and the client's watches, the relative one relative (4.17 has no
    GET_PERMS of an @ node to show that those carried over too)."""
    a = xsd_factory(name="c417c")
    populate(a)
    rc, out = stream_of(a)
    assert rc == 0, out[:200]
    body = str(tmp_path / "body")
    with open(body, "wb") as f:
        f.write(out[16:-8])
    splice = str(tmp_path / "splice")
    with open(splice, "w") as f:
        f.write(SPLICE % {"body": body, "xenstored": X.XENSTORED})
    os.chmod(splice, 0o755)

    d = sim.start_xenstored()
    w = X.SockWatcher(d.socket)
    w.request(X.READ, b"/\0")
    d.live_update(splice)
    assert X.store_snapshot(d.socket) == X.store_snapshot(a.socket)
    w.request(X.WRITE, b"/h/d1/new\0x")
    assert w.wait_event("/h/d1/new") == ["/h/d1/new", "abs"]
    w.request(X.WRITE, b"/local/domain/0/rel/x\0y")
    assert w.wait_event("rel/x") == ["rel/x", "rel"]
    w.close()
