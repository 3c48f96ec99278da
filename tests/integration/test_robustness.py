# SPDX-License-Identifier: GPL-2.0-only
"""Robustness: pipelining, many connections, slow readers, malformed input.

After every bad input the daemon must still serve a new connection and keep
what was written before (the fixtures also check it never crashed)."""

import os
import random
import signal
import socket
import time

import pytest

import xsraw
from conftest import REFERENCE, _engines, rss_kb
from xsraw import (DIRECTORY, ERROR, GET_PERMS, HDR, MKDIR, READ, RM, WATCH,
                   WRITE, z)

DEADLINE = 60.0


@pytest.fixture
def sentinel(xsd, base):
    """A node written before the test; must survive it unchanged."""
    path = base + "/sentinel"
    with xsd.raw() as c:
        c.write(path, b"still-here")
    yield path
    with xsd.raw() as c:
        assert c.read(path) == b"still-here"
        # and the daemon still takes writes
        c.write(base + "/after", b"1")
        assert c.read(base + "/after") == b"1"


# -- pipelining and concurrency -------------------------------------------------

def test_pipelined_64(xsd, base):
    with xsd.raw() as c:
        data = b""
        expect = []
        for i in range(64):
            if i % 2 == 0:
                t, payload = WRITE, z("%s/p%d" % (base, i)) + b"v%d" % i
            else:
                t, payload = READ, z("%s/p%d" % (base, i - 1))
            rid = 1000 + i
            data += HDR.pack(t, rid, 0, len(payload)) + payload
            expect.append((t, rid, i))
        c.send_raw(data)
        for t, rid, i in expect:
            m = c.recv_reply()
            assert m.req_id == rid, "reply %d out of order: %r" % (i, m)
            assert m.type == t, m
            if t == WRITE:
                assert m.payload == b"OK\0"
            else:
                assert m.payload == b"v%d" % (i - 1)


def test_pipelined_with_errors(xsd, base):
    """Errors in the middle of a pipeline do not disturb the order."""
    with xsd.raw() as c:
        data = b""
        for i in range(64):
            payload = z("%s/missing%d" % (base, i)) if i % 3 else z(base)
            data += HDR.pack(READ if i % 3 else MKDIR, 5000 + i, 0,
                             len(payload)) + payload
        c.send_raw(data)
        for i in range(64):
            m = c.recv_reply()
            assert m.req_id == 5000 + i
            if i % 3:
                assert (m.type, m.payload) == (ERROR, b"ENOENT\0")
            else:
                assert (m.type, m.payload) == (MKDIR, b"OK\0")


def test_200_connections(xsd, base):
    conns = []
    try:
        for i in range(200):
            conns.append(xsd.raw())
        for i, c in enumerate(conns):
            c.send(WRITE, z("%s/c%d" % (base, i)) + b"conn-%d" % i)
        for c in conns:
            m = c.recv_reply()
            assert (m.type, m.payload) == (WRITE, b"OK\0")
        for i, c in enumerate(conns):
            c.send(READ, z("%s/c%d" % (base, i)))
        for i, c in enumerate(conns):
            m = c.recv_reply()
            assert (m.type, m.payload) == (READ, b"conn-%d" % i)
    finally:
        for c in conns:
            c.close()
    with xsd.raw() as c:
        assert len(c.directory(base)) == 200


def test_non_reading_client_does_not_block_others(xsd, base):
    hog = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    hog.connect(xsd.socket)
    hog.setblocking(False)
    try:
        payload = z(base + "/hog") + b"x" * 2000
        msg = HDR.pack(WRITE, 1, 0, len(payload)) + payload
        sent = 0
        pending = b""
        # Fill the socket both ways: requests the daemon answers into a
        # socket nobody reads, until our sends would block (or 8 MiB).
        deadline = time.monotonic() + DEADLINE
        stalls = 0
        while sent < 8 << 20 and time.monotonic() < deadline:
            if not pending:
                pending = msg
            try:
                n = hog.send(pending)
                sent += n
                pending = pending[n:]
                stalls = 0
            except BlockingIOError:
                stalls += 1
                if stalls > 20:
                    break
                time.sleep(0.01)
        assert sent > 0
        # Another client is served normally, many times over.
        with xsd.raw() as c:
            for i in range(200):
                c.write(base + "/other", b"%d" % i)
                assert c.read(base + "/other") == b"%d" % i
    finally:
        hog.close()
    with xsd.raw() as c:
        assert c.read(base + "/other") == b"199"


@pytest.mark.skipif(REFERENCE, reason="the broker's memory")
def test_client_not_reading_big_replies_is_bounded(xsd, base):
    """100000 pipelined READs of a 4000-byte node, no reply read: the broker
    stops reading the client once the replies queued and those the engine
    has yet to give reach 1 MiB, rather than queue hundreds of MB as the
    engine answers what it was sent. Then every reply comes, in order."""
    big = b"B" * 4000
    with xsd.raw() as c:
        c.write("/rb", big)
    req = z("/rb")
    n = 100000
    out = b"".join(HDR.pack(READ, i + 1, 0, len(req)) + req
                   for i in range(n))
    hog = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    hog.connect(xsd.socket)
    hog.setblocking(False)
    (engine,) = _engines(xsd.proc.pid)
    try:
        before = rss_kb(xsd.proc.pid)
        # With the engine stopped, only the broker decides what it takes.
        os.kill(engine, signal.SIGSTOP)
        try:
            stalls = 0
            while out and stalls < 50:
                try:
                    out = out[hog.send(out):]
                    stalls = 0
                except BlockingIOError:
                    stalls += 1
                    time.sleep(0.01)
        finally:
            os.kill(engine, signal.SIGCONT)
        assert out, "all the requests taken: nothing held back"
        time.sleep(0.5)
        assert rss_kb(xsd.proc.pid) - before < 16 * 1024
        # Now read everything, sending the rest as room comes.
        got, buf = 0, b""
        deadline = time.monotonic() + DEADLINE
        while got < n:
            assert time.monotonic() < deadline, "replies stopped at %d" % got
            if out:
                try:
                    out = out[hog.send(out):]
                except BlockingIOError:
                    pass
            try:
                data = hog.recv(1 << 20)
            except BlockingIOError:
                time.sleep(0.001)
                continue
            assert data, "closed after %d replies" % got
            buf += data
            while len(buf) >= HDR.size:
                type_, req_id, _, ln = HDR.unpack_from(buf)
                if len(buf) < HDR.size + ln:
                    break
                assert (type_, req_id) == (READ, got + 1)
                assert buf[HDR.size:HDR.size + ln] == big
                buf = buf[HDR.size + ln:]
                got += 1
    finally:
        hog.close()
    with xsd.raw() as c:
        c.rm("/rb")


def test_stalled_partial_message_does_not_block_others(xsd, base, sentinel):
    slow = xsd.raw()
    try:
        payload = z(base + "/slow") + b"v"
        slow.send_raw(HDR.pack(WRITE, 1, 0, len(payload)) + payload[:3])
        with xsd.raw() as c:
            c.write(base + "/fast", b"1")
            assert c.read(base + "/fast") == b"1"
        # completing the message later works
        slow.send_raw(payload[3:])
        m = slow.recv_reply()
        assert (m.req_id, m.type, m.payload) == (1, WRITE, b"OK\0")
    finally:
        slow.close()


def test_byte_at_a_time(xsd, base):
    with xsd.raw() as c:
        payload = z(base + "/bytes") + b"drip"
        data = HDR.pack(WRITE, 9, 0, len(payload)) + payload
        for i in range(len(data)):
            c.send_raw(data[i:i + 1])
        m = c.recv_reply()
        assert (m.req_id, m.type, m.payload) == (9, WRITE, b"OK\0")
        assert c.read(base + "/bytes") == b"drip"


# -- malformed input -------------------------------------------------------------

def test_truncated_header_then_close(xsd, sentinel):
    with xsd.raw() as c:
        c.send_raw(HDR.pack(READ, 1, 0, 10)[:7])


def test_header_then_close_before_payload(xsd, sentinel):
    with xsd.raw() as c:
        c.send_raw(HDR.pack(WRITE, 1, 0, 100) + b"/abc")


@pytest.mark.parametrize("length", [4097, 0x7fffffff, 0xffffffff, 0x10000])
def test_oversized_len_closes_connection(xsd, sentinel, length):
    c = xsd.raw()
    try:
        c.send_raw(HDR.pack(WRITE, 1, 0, length) + b"/x\0y")
        got = c.expect_closed(timeout=DEADLINE)
        assert all(m.type == ERROR for m in got), got
    finally:
        c.close()


def test_oversized_len_alone_closes_connection(xsd, sentinel):
    """Even without any payload bytes following, the header alone is enough
    to drop the connection."""
    c = xsd.raw()
    try:
        c.send_raw(HDR.pack(READ, 1, 0, 4097))
        c.expect_closed(timeout=DEADLINE)
    finally:
        c.close()


def test_max_payload_accepted(xsd, base, sentinel):
    with xsd.raw() as c:
        path = z(base + "/max")
        value = b"m" * (xsraw.PAYLOAD_MAX - len(path))
        m = c.request(WRITE, path + value)
        assert (m.type, m.payload) == (WRITE, b"OK\0")
        assert c.read(base + "/max") == value


@pytest.mark.parametrize("type_", [99, 20, 27, 1000, 0xffffffff])
def test_unknown_type_enosys_stays_up(xsd, base, sentinel, type_):
    with xsd.raw() as c:
        assert c.err(type_, b"x\0") == "ENOSYS"
        c.write(base + "/ok", b"1")
        assert c.read(base + "/ok") == b"1"


@pytest.mark.parametrize("type_,payload", [
    (READ, b"/nonul"),
    (WRITE, b"/nonul"),
    (MKDIR, b"/nonul"),
    (RM, b"/nonul"),
    (DIRECTORY, b"/nonul"),
    (GET_PERMS, b"/nonul"),
    (WATCH, b"/nonul\0tok"),
], ids=["READ", "WRITE", "MKDIR", "RM", "DIRECTORY", "GET_PERMS", "WATCH"])
def test_missing_nul_einval_stays_up(xsd, base, sentinel, type_, payload):
    with xsd.raw() as c:
        assert c.err(type_, payload) == "EINVAL"
        c.write(base + "/ok", b"1")
        assert c.read(base + "/ok") == b"1"
    with xsd.raw() as c:
        assert c.err(READ, z("/nonul")) == "ENOENT"


def test_empty_payload_einval(xsd, sentinel):
    with xsd.raw() as c:
        for t in (READ, WRITE, MKDIR, RM, DIRECTORY, GET_PERMS):
            assert c.err(t, b"") == "EINVAL", t


@pytest.mark.parametrize("seed", range(12))
def test_random_garbage(xsd, sentinel, seed):
    rnd = random.Random(seed)
    c = xsd.raw()
    try:
        data = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 8192)))
        try:
            c.send_raw(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        # Drain whatever the daemon answers, briefly; it may also close.
        try:
            while True:
                c.recv_msg(timeout=0.5)
        except (xsraw.Closed, TimeoutError, ConnectionResetError, AssertionError):
            pass
    finally:
        c.close()


@pytest.mark.parametrize("seed", range(6))
def test_random_valid_headers(xsd, sentinel, seed):
    """Well-framed messages with random types, tx ids and payloads: every
    one gets a reply carrying its req_id, in order, or the connection is
    dropped for a framing-independent reason (never a hang)."""
    rnd = random.Random(1000 + seed)
    with xsd.raw() as c:
        for i in range(50):
            t = rnd.choice([rnd.randrange(0, 30), READ, WRITE, DIRECTORY])
            if t in (xsraw.TRANSACTION_START, xsraw.INTRODUCE, xsraw.RELEASE,
                     xsraw.SET_TARGET, xsraw.RESUME, xsraw.RESET_WATCHES,
                     xsraw.SET_QUOTA, xsraw.SET_FEATURE, xsraw.CONTROL):
                t = READ
            payload = bytes(rnd.choice(b"/ab\0-_@1") for _ in range(rnd.randint(0, 40)))
            tx = rnd.choice([0, 0, 0, rnd.getrandbits(32)])
            rid = c.send(t, payload, tx_id=tx)
            m = c.recv_reply()
            assert m.req_id == rid, m
            assert m.tx_id == tx or m.type == ERROR, m


def test_client_closes_with_replies_pending(xsd, base, sentinel):
    for _ in range(20):
        c = xsd.raw()
        payload = z(base + "/gone")
        c.send_raw((HDR.pack(READ, 1, 0, len(payload)) + payload) * 50)
        c.close()


def test_client_closes_inside_transaction_and_watch(xsd, base, sentinel):
    c = xsd.raw()
    tid = c.tx_start()
    c.write(base + "/txgone", b"1", tx_id=tid)
    c.watch(base, "tok")
    c.close()
    with xsd.raw() as c2:
        assert c2.err(READ, z(base + "/txgone")) == "ENOENT"
        c2.write(base + "/w", b"1")


def test_connection_churn(xsd, base, sentinel):
    for i in range(300):
        with xsd.raw() as c:
            if i % 50 == 0:
                c.write(base + "/churn", b"%d" % i)
    with xsd.raw() as c:
        assert c.read(base + "/churn") == b"250"



def test_one_change_many_watchers(xsd, base):
    """One write that 300 watches match, on 3 connections: every watch gets
    its event, in the order its connection set them, and the sandboxed
    engine (whose sorting must not ask the kernel for anything) survives."""
    conns = [xsd.raw() for _ in range(3)]
    try:
        for c in conns:
            for i in range(100):
                c.watch(base + "/fan", "t%03d" % i)
                assert c.wait_event().payload.split(b"\0")[1] == b"t%03d" % i
        with xsd.raw() as w:
            w.write(base + "/fan/x", b"1")
        for c in conns:
            toks = [c.wait_event().payload.split(b"\0")[1] for _ in range(100)]
            assert toks == [b"t%03d" % i for i in range(100)]
    finally:
        for c in conns:
            c.close()


def test_connection_ids_come_back_once_the_engine_forgot_them(xsd_factory):
    """Connections opened and closed in a loop use up no ids for good:
    past the last 32-bit id, closed ones are given again once the engine
    has confirmed it no longer names them. Connections from before keep
    theirs, and each new one gets its own replies and events only."""
    if REFERENCE:
        pytest.skip("an option of our broker")
    first = 2**32 - 60
    d = xsd_factory(["--conn-id-start", str(first), "-V"])
    old = d.raw()
    old.write("/ids/old", "o")
    old.ok(WATCH, b"/ids\0old\0")
    assert old.wait_event().strings[0] == "/ids"
    for i in range(200):
        with d.raw() as c:
            c.ok(WATCH, b"/ids/%d\0t%d\0" % (i, i))
            assert c.wait_event().strings == ["/ids/%d" % i, "t%d" % i]
            c.write("/ids/%d" % i, str(i))
            assert c.wait_event().strings == ["/ids/%d" % i, "t%d" % i]
            assert c.read("/ids/%d" % i) == str(i).encode()
            assert c.no_event(0.0)
        assert old.wait_event().strings == ["/ids/%d" % i, "old"]
    assert old.read("/ids/old") == b"o"
    err = d.stderr()
    assert "every connection id was used once" in err
    # Closed ids came back: some were given more than once.
    ids = [int(w.split()[1].rstrip(":")) for w in err.splitlines()
           if w.startswith("xs-broker: conn ") and "new privileged" in w
           for w in [w[len("xs-broker: "):]]]
    assert len(ids) > len(set(ids)), ids
    old.close()
