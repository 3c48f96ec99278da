# SPDX-License-Identifier: GPL-2.0-only
"""A byte-level xenstore client for the integration tests.

It speaks the wire protocol of docs/misc/xenstore.txt directly over the
daemon's Unix socket: a little-endian header ``<IIII`` (type, req_id, tx_id,
len) followed by ``len`` bytes of payload.  Nothing is interpreted beyond the
framing, so tests can check replies byte for byte and send malformed input.
"""

import select
import socket
import struct
import time

HDR = struct.Struct("<IIII")
PAYLOAD_MAX = 4096
ABS_PATH_MAX = 3072

CONTROL = 0
DIRECTORY = 1
READ = 2
GET_PERMS = 3
WATCH = 4
UNWATCH = 5
TRANSACTION_START = 6
TRANSACTION_END = 7
INTRODUCE = 8
RELEASE = 9
GET_DOMAIN_PATH = 10
WRITE = 11
MKDIR = 12
RM = 13
SET_PERMS = 14
WATCH_EVENT = 15
ERROR = 16
IS_DOMAIN_INTRODUCED = 17
RESUME = 18
SET_TARGET = 19
RESET_WATCHES = 21
DIRECTORY_PART = 22
GET_FEATURE = 23
SET_FEATURE = 24
GET_QUOTA = 25
SET_QUOTA = 26

DEFAULT_TIMEOUT = 30.0


class Closed(Exception):
    """The daemon closed the connection."""


class Msg:
    """One message as received: header fields and raw payload."""

    __slots__ = ("type", "req_id", "tx_id", "payload")

    def __init__(self, type_, req_id, tx_id, payload):
        self.type = type_
        self.req_id = req_id
        self.tx_id = tx_id
        self.payload = payload

    @property
    def is_error(self):
        return self.type == ERROR

    @property
    def strings(self):
        """Payload split on NUL bytes, as str, without the empty tail."""
        parts = self.payload.split(b"\0")
        if parts and parts[-1] == b"":
            parts.pop()
        return [p.decode("latin-1") for p in parts]

    def __repr__(self):
        return "Msg(type=%d, req_id=%d, tx_id=%d, payload=%r)" % (
            self.type, self.req_id, self.tx_id, self.payload)


def z(*parts):
    """Encode each part NUL-terminated: z("/a", "1") == b"/a\\0" b"1\\0"."""
    out = b""
    for p in parts:
        if isinstance(p, str):
            p = p.encode()
        out += p + b"\0"
    return out


class XsRaw:
    """A raw connection.  Watch events that arrive while waiting for a reply
    are queued in ``events`` rather than returned as the reply."""

    def __init__(self, path, timeout=DEFAULT_TIMEOUT):
        self.path = path
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        # A full listen backlog makes connect() fail with EAGAIN on a
        # socket with a timeout: retry until the deadline.
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    self.sock.close()
                    raise
                time.sleep(0.01)
        self.buf = b""
        self.events = []
        self.next_req = 1

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- sending -------------------------------------------------------

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, type_, payload=b"", tx_id=0, req_id=None, length=None):
        """Send one message; returns the req_id used.  ``length`` overrides
        the header's len field (to lie about the payload size)."""
        if isinstance(payload, str):
            payload = payload.encode()
        if req_id is None:
            req_id = self.next_req
            self.next_req += 1
        n = len(payload) if length is None else length
        self.sock.sendall(HDR.pack(type_, req_id, tx_id, n) + payload)
        return req_id

    # -- receiving -----------------------------------------------------

    def _fill(self, deadline):
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no complete message from %s" % self.path)
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError("no complete message from %s" % self.path)
            except ConnectionResetError:
                data = b""
            if not data:
                raise Closed("connection closed by daemon")
            self.buf += data
            return

    def recv_msg(self, timeout=None):
        """The next message of any type (events included)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < HDR.size:
            self._fill(deadline)
        type_, req_id, tx_id, n = HDR.unpack_from(self.buf)
        assert n <= PAYLOAD_MAX, "reply payload %d exceeds 4096" % n
        while len(self.buf) < HDR.size + n:
            self._fill(deadline)
        payload = self.buf[HDR.size:HDR.size + n]
        self.buf = self.buf[HDR.size + n:]
        return Msg(type_, req_id, tx_id, payload)

    def recv_reply(self, timeout=None):
        """The next message that is not a WATCH_EVENT."""
        while True:
            m = self.recv_msg(timeout)
            if m.type == WATCH_EVENT:
                self.events.append(m)
                continue
            return m

    def wait_event(self, timeout=None):
        """The next WATCH_EVENT (queued ones first)."""
        if self.events:
            return self.events.pop(0)
        while True:
            m = self.recv_msg(timeout)
            if m.type == WATCH_EVENT:
                return m
            raise AssertionError("unexpected non-event message %r" % (m,))

    def no_event(self, wait=0.3):
        """True if no event is queued or arrives within ``wait`` seconds.
        Only used to check for the absence of an event after a synchronous
        round trip has already flushed everything the daemon sent."""
        if self.events:
            return False
        r, _, _ = select.select([self.sock], [], [], wait)
        if not r and len(self.buf) == 0:
            return True
        m = self.recv_msg()
        self.events.append(m)
        return False

    def request(self, type_, payload=b"", tx_id=0):
        """Send and wait for the reply; check req_id and tx_id echo."""
        rid = self.send(type_, payload, tx_id)
        m = self.recv_reply()
        assert m.req_id == rid, "req_id %d != %d in %r" % (m.req_id, rid, m)
        assert m.tx_id == tx_id, "tx_id %d != %d in %r" % (m.tx_id, tx_id, m)
        return m

    def expect_closed(self, timeout=None):
        """Wait until the daemon closes the connection; any message still
        arriving before EOF is returned in a list."""
        got = []
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                got.append(self.recv_msg(max(0.01, deadline - time.monotonic())))
            except Closed:
                return got
            except (ConnectionResetError, BrokenPipeError):
                return got

    # -- helpers returning checked results ------------------------------

    def ok(self, type_, payload=b"", tx_id=0):
        m = self.request(type_, payload, tx_id)
        assert m.type == type_ and m.payload == b"OK\0", \
            "expected OK for type %d %r, got %r" % (type_, payload, m)
        return m

    def err(self, type_, payload=b"", tx_id=0):
        """Send and return the error name (e.g. 'ENOENT'); asserts it is an
        ERROR reply with a NUL-terminated name."""
        m = self.request(type_, payload, tx_id)
        assert m.type == ERROR, "expected ERROR for type %d %r, got %r" % (
            type_, payload, m)
        assert m.payload.endswith(b"\0") and m.payload.count(b"\0") == 1, m
        return m.payload[:-1].decode()

    def write(self, path, value, tx_id=0):
        if isinstance(value, str):
            value = value.encode()
        return self.ok(WRITE, z(path) + value, tx_id)

    def read(self, path, tx_id=0):
        m = self.request(READ, z(path), tx_id)
        assert m.type == READ, "READ %s: %r" % (path, m)
        return m.payload

    def mkdir(self, path, tx_id=0):
        return self.ok(MKDIR, z(path), tx_id)

    def rm(self, path, tx_id=0):
        return self.ok(RM, z(path), tx_id)

    def directory(self, path, tx_id=0):
        m = self.request(DIRECTORY, z(path), tx_id)
        assert m.type == DIRECTORY, "DIRECTORY %s: %r" % (path, m)
        return m.strings

    def get_perms(self, path, tx_id=0):
        m = self.request(GET_PERMS, z(path), tx_id)
        assert m.type == GET_PERMS, "GET_PERMS %s: %r" % (path, m)
        return m.strings

    def set_perms(self, path, perms, tx_id=0):
        return self.ok(SET_PERMS, z(path, *perms), tx_id)

    def tx_start(self):
        m = self.request(TRANSACTION_START, b"\0")
        assert m.type == TRANSACTION_START, m
        assert m.payload.endswith(b"\0") and m.payload[:-1].isdigit(), m
        tid = int(m.payload[:-1])
        assert 0 < tid < 2 ** 32, m
        return tid

    def tx_end(self, tid, commit=True):
        """Returns None on success or the error name."""
        m = self.request(TRANSACTION_END, b"T\0" if commit else b"F\0", tid)
        if m.type == ERROR:
            return m.payload.rstrip(b"\0").decode()
        assert m.type == TRANSACTION_END and m.payload == b"OK\0", m
        return None

    def watch(self, path, token):
        return self.ok(WATCH, z(path, token))

    def unwatch(self, path, token):
        return self.ok(UNWATCH, z(path, token))
