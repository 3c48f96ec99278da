# SPDX-License-Identifier: GPL-2.0-only
"""The audit log (--audit-log, --audit-policy) and its reader, xs-audit.

Real clients run against a daemon that records to a file (or a FIFO); the
tests read the file back and check every record field by field, that every
line is valid JSON and valid UTF-8 whatever a client sent, that rotation
and back-pressure lose nothing, that a request is on disk before its reply
(even if none comes and the broker is killed), that the records waiting
for a blocked sink stay within their bound, and that xs-audit filters and
sums up a known log (data/audit-sample.jsonl) as expected.
"""

import hashlib
import hmac
import json
import os
import re
import select
import signal
import socket
import stat
import subprocess
import threading
import time

import pytest

import xsraw
from conftest import REFERENCE, XS_BUILD, Daemon, _engines, wait_until

pytestmark = pytest.mark.skipif(REFERENCE, reason="C xenstored has no audit log")

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "data", "audit-sample.jsonl")
XS_AUDIT = os.path.join(XS_BUILD, "bin", "xs-audit")


def records(path, growing=False):
    """Every line of the log, each checked to be UTF-8 and one JSON object.
    growing: the broker may be writing, so a last line without its newline
    is not there yet (a reader can see a write() half done)."""
    with open(path, "rb") as f:
        data = f.read()
    if growing and not data.endswith(b"\n"):
        data = data[:data.rfind(b"\n") + 1]
    text = data.decode("utf-8")  # strict: invalid UTF-8 fails the test
    assert text == "" or text.endswith("\n"), "last record cut short"
    out = []
    for line in text.splitlines():
        assert all(ord(ch) >= 0x20 for ch in line), repr(line)
        rec = json.loads(line)
        assert isinstance(rec, dict)
        out.append(rec)
    return out


REPLY_FIELDS = ("result", "reply_type", "value", "reply", "bytes_out",
                "latency_us")


def joined(rs):
    """The records with each reply folded into its request (req names the
    request's seq), as one record; a request still without its reply is
    left out, and so is a reply folded in."""
    reqs = {r["seq"]: dict(r) for r in rs if r["kind"] == "request"}
    out, answered = [], set()
    for r in rs:
        if r["kind"] == "reply" and r.get("req") in reqs:
            q = reqs[r["req"]]
            assert r["conn"] == q["conn"], (q, r)
            for k in REPLY_FIELDS:
                if k in r:
                    q[k] = r[k]
            answered.add(r["req"])
    for r in rs:
        if r["kind"] == "request":
            if r["seq"] in answered:
                out.append(reqs[r["seq"]])
        elif not (r["kind"] == "reply" and r.get("req") in answered):
            out.append(r)
    return out


def wait_records(path, pred, n=1, what="records", join=True):
    """Poll the log until at least n records satisfy pred; returns them.
    join: requests with their replies (joined()), only once answered."""
    def got():
        try:
            rs = records(path, growing=True)
        except (OSError, ValueError):
            return None
        rs = [r for r in (joined(rs) if join else rs) if pred(r)]
        return rs if len(rs) >= n else None
    return wait_until(got, timeout=10, what=what)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def unescape(s):
    """The bytes a logged string stands for (the broker's escaping)."""
    out = bytearray()
    i = 0
    while i < len(s):
        if s[i] == "\\":
            if s[i + 1] == "\\":
                out += b"\\"
                i += 2
            elif s[i + 1] == "x":
                out.append(int(s[i + 2:i + 4], 16))
                i += 4
            elif s[i + 1] == "u":
                out += chr(int(s[i + 2:i + 6], 16)).encode()
                i += 6
            else:
                raise AssertionError("bad escape in %r" % s)
        else:
            out += s[i].encode()
            i += 1
    return bytes(out)


def run(d, *argv, check=True):
    p = subprocess.Popen(list(argv), env=d.env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=30)
    if check:
        assert p.returncode == 0, err
    return p.pid, out


@pytest.fixture
def audited(xsd_factory, tmp_path):
    def make(policy=None, extra=()):
        log = str(tmp_path / "audit.log")
        args = ["--audit-log", log]
        if policy is not None:
            pol = tmp_path / "audit.policy"
            pol.write_text(policy)
            args += ["--audit-policy", str(pol)]
        d = xsd_factory(args=args + list(extra), name="audit")
        d.audit_log = log
        d.audit_policy = str(tmp_path / "audit.policy")
        return d
    return make


def test_real_clients_produce_expected_records(audited):
    d = audited()
    wpid, _ = run(d, "xenstore-write", "/audit/a", "value-1")
    rpid, out = run(d, "xenstore-read", "/audit/a")
    assert out == b"value-1\n"
    lpid, _ = run(d, "xenstore-ls", "/audit")
    mpid, _ = run(d, "xenstore-read", "/audit/missing", check=False)
    rmpid, _ = run(d, "xenstore-rm", "/audit")

    rs = wait_records(d.audit_log, lambda r: r.get("pid") == rmpid
                      and r["kind"] == "conn_close", what="rm's close")
    rs = records(d.audit_log)
    assert rs[0]["kind"] == "broker" and rs[0]["event"] == "start"
    seqs = [r["seq"] for r in rs]
    assert seqs == list(range(1, len(rs) + 1))
    for r in rs:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", r["time"])

    # Each request arrives before its reply, which names it.
    for r in rs:
        if r["kind"] == "reply":
            assert rs[r["req"] - 1]["kind"] == "request"
            assert rs[r["req"] - 1]["conn"] == r["conn"]
    js = joined(rs)

    def reqs(pid):
        return [r for r in js if r.get("pid") == pid and r["kind"] == "request"]

    (w,) = reqs(wpid)
    assert w["type"] == "WRITE" and w["path"] == "/audit/a"
    assert w["result"] == "OK" and w["domid"] == 0 and w["uid"] == 0
    assert w["value"] == {"len": 7, "sha256": sha(b"value-1")}
    assert isinstance(w["latency_us"], int) and w["latency_us"] >= 0
    assert w["bytes_in"] == 16 + len(b"/audit/a\0value-1")
    assert w["bytes_out"] == 16 + 3
    # tx_id only within a transaction.
    assert "tx_id" not in w and "req_id" in w

    (r,) = reqs(rpid)
    assert r["type"] == "READ" and r["path"] == "/audit/a"
    assert r["value"] == {"len": 7, "sha256": sha(b"value-1")}
    assert "value-1" not in json.dumps(rs)

    types = [x["type"] for x in reqs(lpid)]
    assert "DIRECTORY" in types and all(x["result"] == "OK" for x in reqs(lpid))
    (m,) = reqs(mpid)
    assert m["path"] == "/audit/missing" and m["result"] == "ENOENT"
    assert any(x["type"] == "RM" and x["path"] == "/audit" for x in reqs(rmpid))

    opens = [x for x in rs if x["kind"] == "conn_open" and x.get("pid") == wpid]
    closes = [x for x in rs if x["kind"] == "conn_close" and x.get("pid") == wpid]
    assert opens[0]["transport"] == "socket"
    assert closes[0]["reason"] == "end of file"


def test_raw_fields_watch_event_and_pyxs(audited):
    import pyxs
    d = audited()
    with d.raw() as c:
        c.send(xsraw.WATCH, xsraw.z("/w", "tok\n1"), req_id=41)
        assert c.recv_reply().type == xsraw.WATCH
        c.send(xsraw.WRITE, b"/w/x\0v", req_id=42)
        assert c.recv_reply().type == xsraw.WRITE
        c.wait_event()
        c.wait_event()
        c.send(xsraw.TRANSACTION_START, b"\0", req_id=43)
        tx = int(c.recv_reply().payload.rstrip(b"\0"))
        c.send(xsraw.READ, b"/w/x\0", tx_id=tx, req_id=44)
        c.recv_reply()
        c.send(xsraw.SET_PERMS, xsraw.z("/w/x", "n0", "r5"), tx_id=tx, req_id=45)
        c.recv_reply()
        c.send(xsraw.TRANSACTION_END, b"T\0", tx_id=tx, req_id=46)
        c.recv_reply()
    with pyxs.Client(unix_socket_path=d.socket) as p:
        p.write(b"/w/py", b"pyval")
    rs = wait_records(d.audit_log, lambda r: r.get("pid") == os.getpid()
                      and r["kind"] == "request" and r.get("path") == "/w/py",
                      what="pyxs write")
    assert rs[0]["value"]["sha256"] == sha(b"pyval")
    rs = joined(records(d.audit_log))
    by_id = {r["req_id"]: r for r in rs if r["kind"] == "request"
             and r.get("pid") == os.getpid() and r["req_id"] in range(41, 47)}
    assert by_id[41]["type"] == "WATCH" and by_id[41]["token"] == "tok\\x0a1"
    assert by_id[42]["type"] == "WRITE" and by_id[42]["value"]["len"] == 1
    assert by_id[43]["reply"] == str(tx)
    assert by_id[44]["tx_id"] == tx and by_id[44]["path"] == "/w/x"
    assert by_id[45]["perms"] == ["n0", "r5"]
    assert by_id[46]["commit"] == "T" and by_id[46]["result"] == "OK"
    evs = [r for r in rs if r["kind"] == "watch_event"]
    assert {e["path"] for e in evs} >= {"/w", "/w/x"}
    assert all(e["token"] == "tok\\x0a1" and e["type"] == "WATCH_EVENT"
               for e in evs)


def test_policy_values_and_skip(audited):
    d = audited(policy="# test policy\n"
                       "skip op=GET_DOMAIN_PATH\n"
                       "log-values path=/clear\n"
                       "log\n")
    run(d, "xenstore-write", "/clear/x", "in-clear", "/hidden/y", "secret")
    with d.raw() as c:
        c.send(xsraw.GET_DOMAIN_PATH, b"0\0", req_id=9)
        c.recv_reply()
        c.send(xsraw.READ, b"/clear/x\0", req_id=10)
        c.recv_reply()
    rs = wait_records(d.audit_log, lambda r: r.get("req_id") == 10
                      and r.get("pid") == os.getpid(), what="read")
    rs = joined(records(d.audit_log))
    vals = {r["path"]: r["value"] for r in rs if r.get("type") == "WRITE"}
    assert vals["/clear/x"] == "in-clear"
    assert vals["/hidden/y"] == {"len": 6, "sha256": sha(b"secret")}
    assert not any(r.get("type") == "GET_DOMAIN_PATH" for r in rs)
    (rd,) = [r for r in rs if r.get("req_id") == 10 and r.get("pid") == os.getpid()]
    assert rd["value"] == "in-clear"


def test_hostile_bytes_are_escaped(audited):
    d = audited(policy="log-values\n")
    nasty = [
        b'/h/quote"}{"kind":"forged',
        b"/h/nl\n{\"kind\":\"forged\"}",
        b"/h/bad\xff\xfe\xc0\x80\x80",
        b"/h/ctl\x01\x1b[31m\x7f",
        b"/h/back\\x41",
        "/h/uni-\u00e9-\u2028-\u202e-\U0001f600".encode(),
    ]
    values = [
        b"v\0with\0nuls",
        b'"}\n{"kind":"forged"}\r\n',
        b"\xed\xa0\x80\xf5\x80\x80\x80\xe2\x82",
        bytes(range(256)) * 16,  # 4 KiB, every byte
    ]
    sent = []
    with d.raw() as c:
        rid = 100
        for p in nasty:
            for v in values:
                payload = p + b"\0" + v
                if len(payload) > xsraw.PAYLOAD_MAX:
                    payload = payload[:xsraw.PAYLOAD_MAX]
                c.send(xsraw.WRITE, payload, req_id=rid)
                sent.append((rid, payload))
                c.recv_reply()
                rid += 1
        # A path without a NUL at all, and bytes after the last NUL.
        c.send(xsraw.READ, b"/h/no-nul\xff\n", req_id=rid)
        c.recv_reply()
    last = rid
    wait_records(d.audit_log, lambda r: r.get("req_id") == last
                 and r.get("pid") == os.getpid(), what="last record")
    rs = joined(records(d.audit_log))  # strict UTF-8, json.loads every line
    assert not any(r["kind"] == "forged" for r in rs)
    mine = {r["req_id"]: r for r in rs if r.get("pid") == os.getpid()
            and r["kind"] == "request"}
    for rid, payload in sent:
        r = mine[rid]
        path, _, value = payload.partition(b"\0")
        assert unescape(r["path"]) == path
        assert unescape(r["value"]) == value
        for ch in r["path"] + r["value"]:
            assert ch.isprintable(), (rid, r["path"])
    assert unescape(mine[last]["path"]) == b"/h/no-nul\xff\n"


def test_pipelined_burst_is_recorded_whole_and_in_order(audited):
    """Thousands of requests sent at once: many records per loop iteration
    go out in one write. Every one is there, in order, numbered without a
    gap, and each string survives the copying of plain runs 8 bytes at a
    time, whatever the offset of the byte that needs escaping."""
    d = audited(policy="log-values path=/burst/clear\nlog\n")
    specials = [b'"', b"\\", b"\n", b"\xff", b"\xe2\x80\xa8", b"\xc3\xa9"]
    sent = []
    rid = 1000
    for i in range(1500):
        sp = specials[i % len(specials)]
        at = i % 17
        value = (b"abcdefghijklmnopqrstuvwx"[:at] + sp
                 + b"ABCDEFGHIJKLMNOPQRSTUVWX"[at:])
        path = b"/burst/%s/%s%04d" % (b"clear" if i % 2 else b"hid",
                                       b"p" * at, i)
        sent.append((rid, xsraw.WRITE, path, value))
        sent.append((rid + 1, xsraw.READ, path, value))
        rid += 2
    msgs = b"".join(
        xsraw.HDR.pack(t, r, 0, len(p) + 1 + (len(v) if t == xsraw.WRITE else 0))
        + p + b"\0" + (v if t == xsraw.WRITE else b"")
        for r, t, p, v in sent)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(d.socket)
    threading.Thread(target=s.sendall, args=(msgs,), daemon=True).start()
    buf, got = b"", 0
    s.settimeout(30)
    while got < len(sent):
        buf += s.recv(1 << 16)
        while len(buf) >= 16:
            n = xsraw.HDR.unpack_from(buf)[3]
            if len(buf) < 16 + n:
                break
            assert xsraw.HDR.unpack_from(buf)[0] != xsraw.ERROR, buf[16:16 + n]
            buf = buf[16 + n:]
            got += 1
    s.close()
    last = sent[-1][0]
    wait_records(d.audit_log, lambda r: r.get("req_id") == last
                 and r.get("pid") == os.getpid(), what="last record")
    rs = records(d.audit_log)
    assert [r["seq"] for r in rs] == list(range(1, len(rs) + 1))
    # (The fixture's readiness probe is this process too, with low ids.)
    mine = [r for r in joined(rs) if r["kind"] == "request"
            and r.get("pid") == os.getpid() and r["req_id"] >= 1000]
    assert [r["req_id"] for r in mine] == [x[0] for x in sent]
    for r, (rid, t, path, value) in zip(mine, sent):
        assert r["type"] == ("WRITE" if t == xsraw.WRITE else "READ")
        assert unescape(r["path"]) == path
        assert r["result"] == "OK" and r["latency_us"] >= 0
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z",
                            r["time"])
        if b"/clear/" in path:
            assert unescape(r["value"]) == value
        else:
            assert r["value"] == {"len": len(value), "sha256": sha(value)}


def test_sighup_rotation_loses_nothing(audited):
    d = audited()
    with d.raw() as c:
        for i in range(50):
            c.send(xsraw.WRITE, b"/rot/%d\0x" % i)
            c.recv_reply()
        os.rename(d.audit_log, d.audit_log + ".1")
        os.kill(d.proc.pid, signal.SIGHUP)
        # Requests race the signal: some land in either file.
        for i in range(50, 100):
            c.send(xsraw.WRITE, b"/rot/%d\0x" % i)
            c.recv_reply()
    wait_records(d.audit_log, lambda r: r.get("path") == "/rot/99",
                 what="last write", join=False)
    old, new = records(d.audit_log + ".1"), records(d.audit_log)
    assert any(r["kind"] == "audit" and r["event"] == "reopened" for r in new)
    paths = [r["path"] for r in old + new if r.get("type") == "WRITE"
             and r.get("path", "").startswith("/rot/")]
    assert sorted(paths) == sorted("/rot/%d" % i for i in range(100))
    seqs = [r["seq"] for r in old + new]
    assert seqs == list(range(1, len(seqs) + 1))


def test_broken_policy_on_sighup_keeps_the_old_one(audited):
    d = audited(policy="log-values path=/clear\nlog\n")
    with open(d.audit_policy, "w") as f:
        f.write("# broken\nlog\nfrobnicate path=/x\n")
    os.kill(d.proc.pid, signal.SIGHUP)
    wait_until(lambda: "keeping the previous policy" in d.stderr(), timeout=10,
               what="policy rejection")
    assert "%s:3: unknown action" % d.audit_policy in d.stderr()
    wait_records(d.audit_log, lambda r: r.get("event") == "policy-rejected",
                 what="rejection record")
    run(d, "xenstore-write", "/clear/still", "visible")
    rs = wait_records(d.audit_log, lambda r: r.get("path") == "/clear/still",
                      what="write")
    assert rs[0]["value"] == "visible"
    # A good policy is taken on the next SIGHUP.
    with open(d.audit_policy, "w") as f:
        f.write("log\n")
    os.kill(d.proc.pid, signal.SIGHUP)
    wait_records(d.audit_log, lambda r: r.get("event") == "policy-loaded",
                 what="reload record")
    run(d, "xenstore-write", "/clear/now", "hidden")
    rs = wait_records(d.audit_log, lambda r: r.get("path") == "/clear/now",
                      what="write")
    assert rs[0]["value"] == {"len": 6, "sha256": sha(b"hidden")}


def test_broken_policy_at_start_refuses_to_run(tmp_path):
    pol = tmp_path / "p"
    pol.write_text("log\nlog domain=0,x\n")
    env = dict(os.environ, XENSTORED_RUNDIR=str(tmp_path))
    p = subprocess.run([os.path.join(XS_BUILD, "bin", "xs-broker"), "-N",
                        "--socket-only", "--audit-log", str(tmp_path / "l"),
                        "--audit-policy", str(pol)], env=env,
                       capture_output=True, timeout=30)
    assert p.returncode != 0
    assert b"%s:2: domain=" % str(pol).encode() in p.stderr


def test_blocked_sink_applies_back_pressure(xsd_factory, tmp_path):
    fifo = str(tmp_path / "audit.fifo")
    os.mkfifo(fifo)
    d = xsd_factory(args=["--audit-log", fifo], name="fifo")
    total = 20000
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(d.socket)
    msgs = b"".join(xsraw.HDR.pack(xsraw.WRITE, 1000 + i, 0, 13) + b"/bp/%05d\0xyz" % i
                    for i in range(total))
    sender = threading.Thread(target=s.sendall, args=(msgs,), daemon=True)
    sender.start()
    got = [0]
    buf = [b""]

    def drain(timeout):
        s.settimeout(timeout)
        try:
            data = s.recv(1 << 16)
        except socket.timeout:
            return
        buf[0] += data
        while len(buf[0]) >= 16:
            n = xsraw.HDR.unpack_from(buf[0])[3]
            if len(buf[0]) < 16 + n:
                break
            buf[0] = buf[0][16 + n:]
            got[0] += 1

    # Nobody reads the FIFO: the broker stops reading the client.
    def stalled():
        drain(0.05)
        return "does not keep up" in d.stderr()
    wait_until(stalled, timeout=20, what="back-pressure")
    # Requests already with the engine still get replies; then nothing
    # moves while the sink is blocked.
    def settled():
        before = got[0]
        t0 = time.monotonic()
        while time.monotonic() - t0 < 0.5:
            drain(0.05)
        return got[0] == before
    wait_until(settled, timeout=20, what="clients to stall")
    # What any client sends now waits: the broker does not read it.
    late = 100
    s2 = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s2.connect(d.socket)
    s2.sendall(b"".join(xsraw.HDR.pack(xsraw.WRITE, 50000 + i, 0, 13)
                        + b"/bp/l%04d\0xyz" % i for i in range(late)))
    s2.settimeout(0.5)
    with pytest.raises(socket.timeout):
        s2.recv(1)
    assert d.alive()

    # Now read it: everything arrives, nothing was dropped.
    seen = set()
    reader_done = threading.Event()

    def reader():
        with open(fifo, "rb") as f:
            pending = b""
            while len(seen) < total + late:
                chunk = f.read1(1 << 16)
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    r = json.loads(line.decode("utf-8"))
                    if r.get("type") == "WRITE" and r.get("path", "").startswith("/bp/"):
                        seen.add(r["req_id"])
        reader_done.set()
    threading.Thread(target=reader, daemon=True).start()
    deadline = time.monotonic() + 30
    while got[0] < total and time.monotonic() < deadline:
        drain(0.2)
    assert got[0] == total
    s2.settimeout(30)
    late_buf = b""
    while len(late_buf) < late * 19:
        late_buf += s2.recv(1 << 16)
    assert reader_done.wait(30)
    assert seen == set(range(1000, 1000 + total)) | set(range(50000, 50000 + late))
    s2.close()
    wait_until(lambda: "caught up" in d.stderr(), timeout=10, what="recovery log")
    s.close()


def test_unanswered_request_survives_sigkill(tmp_path):
    """A request is on disk once the broker reads it, not when (if ever) its
    reply comes: an engine that never answers, then the broker killed with
    SIGKILL (as the OOM killer would), still leaves its record."""
    log = str(tmp_path / "audit.log")
    d = Daemon(["--audit-log", log], name="auditkill").start()
    try:
        (engine,) = _engines(d.proc.pid)
        os.kill(engine, signal.SIGSTOP)
        c = d.raw()
        c.send(xsraw.WRITE, b"/never/answered\0v", req_id=777)
        (r,) = wait_records(log, lambda r: r["kind"] == "request"
                            and r.get("path") == "/never/answered",
                            what="the request's record", join=False)
        os.killpg(d.proc.pid, signal.SIGKILL)
        d.proc.wait()
        rs = records(log)
        (q,) = [x for x in rs if x.get("path") == "/never/answered"]
        assert q["req_id"] == 777 and q["type"] == "WRITE"
        assert q["pid"] == os.getpid() and q["bytes_in"] == 16 + 17
        assert q["value"] == {"len": 1, "sha256": sha(b"v")}
        assert not any(x.get("req") == q["seq"] for x in rs)
        c.close()
    finally:
        d.kill()
        d.cleanup()


def vm_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s for %d" % (field, pid))


def opened_by(pid):
    """The files process pid has open."""
    out = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            out.add(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            pass
    return out


class FifoReader:
    """Reads the records from a FIFO while not paused."""

    def __init__(self, path, paused=False):
        self.seen = []
        self.go = threading.Event()
        if not paused:
            self.go.set()
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        pending = b""
        while not self.stop:
            if not self.go.wait(0.1):
                continue
            r, _, _ = select.select([self.fd], [], [], 0.1)
            if not r:
                continue
            try:
                chunk = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                continue
            pending += chunk
            *lines, pending = pending.split(b"\n")
            self.seen.extend(json.loads(l) for l in lines)

    def close(self):
        self.stop = True
        self.thread.join(5)
        os.close(self.fd)


def test_blocked_sink_bounds_memory_and_counts_drops(audited, monkeypatch):
    """Watch events cannot be held back from the client side: with the sink
    blocked, records past the bound (4 MiB waiting) are dropped, the
    broker's memory stays within it, and one record counts them once the
    sink takes records again. The same flood of events first goes to a
    file, so that the memory the flood takes elsewhere is already counted
    in the broker's peak when the sink blocks."""
    # Under AddressSanitizer, freed memory is held in quarantine rather
    # than used again, which would count the flood's twice.
    monkeypatch.setenv("ASAN_OPTIONS", ":".join(
        filter(None, [os.environ.get("ASAN_OPTIONS"), "quarantine_size_mb=0"])))
    nconn, nwatch, nwrite = 2, 500, 100
    # Read-only clients have the guests' watch quota (-W) of their own.
    d = audited(extra=("-W", str(nwatch)))
    watchers = []
    for k in range(nconn):
        w = d.raw(ro=True, timeout=30)
        for i in range(nwatch):
            w.send(xsraw.WATCH, xsraw.z("/flood", "token-%05d" % i))
        got = 0
        while got < nwatch:
            got += w.recv_msg().type == xsraw.WATCH
        watchers.append(w)
    writer = d.raw(timeout=30)

    def flood():
        # Read-only watchers that do not read: each gets 1 MiB of events
        # queued, the rest dropped.
        writer.sock.sendall(b"".join(
            xsraw.HDR.pack(xsraw.WRITE, i, 0, 10) + b"/flood\0%03d" % i
            for i in range(nwrite)))
        for _ in range(nwrite):
            assert writer.recv_reply().type == xsraw.WRITE

    def drain_watchers(runs):
        # Until each says it reads again, and then nothing more comes.
        def caught_up():
            for w in watchers:
                w.sock.settimeout(0.05)
                try:
                    w.sock.recv(1 << 20)
                except socket.timeout:
                    pass
            return d.stderr().count("it reads again") >= runs
        wait_until(caught_up, timeout=60, what="the watchers to catch up")
        for w in watchers:
            w.sock.settimeout(0.3)
            try:
                while w.sock.recv(1 << 20):
                    pass
            except socket.timeout:
                pass
            w.sock.settimeout(30)

    flood()
    wait_records(d.audit_log, lambda r: r.get("req_id") == nwrite - 1
                 and r.get("type") == "WRITE", what="the first flood",
                 join=False)
    drain_watchers(nconn)
    # Each watcher's run of dropped events is one record, with a count.
    runs = wait_records(d.audit_log, lambda r: r["kind"] == "watch_event"
                        and r.get("result", "").startswith("dropped"),
                        n=nconn, what="the runs of dropped events")
    assert len(runs) == nconn
    assert all(r["result"] == "dropped: the client's queue is full"
               and r["count"] > 0 and r["bytes_out"] == 0 for r in runs)
    # The sink blocks: a FIFO nobody reads, where the file was.
    os.rename(d.audit_log, d.audit_log + ".1")
    os.mkfifo(d.audit_log)
    os.kill(d.proc.pid, signal.SIGHUP)
    wait_until(lambda: d.audit_log in opened_by(d.proc.pid), timeout=10,
               what="the FIFO opened")
    peak = vm_kb(d.proc.pid, "VmHWM")
    sink = FifoReader(d.audit_log, paused=True)
    # Every event is with the broker once the writer has every reply.
    flood()
    wait_until(lambda: "does not keep up" in d.stderr(), timeout=30,
               what="the sink to block")
    grown = vm_kb(d.proc.pid, "VmHWM") - peak
    # The margin: a record past the bound, and the sanitizers' allocator,
    # whose realloc holds the old buffer and the new at once. Without the
    # bound, this flood takes some 20 MB more.
    assert grown < (4 << 10) + (6 << 10), grown
    assert "dropping records until it does" in d.stderr()

    sink.go.set()
    drain_watchers(2 * nconn)
    (drop,) = wait_until(lambda: [r for r in list(sink.seen)
                                  if r.get("event") == "dropped"],
                         timeout=30, what="the record of the drops")
    assert drop["kind"] == "audit" and drop["watch_events"] > 0
    assert drop["records"] == sum(drop.get(k, 0) for k in (
        "requests", "replies", "watch_events", "others"))
    sink.close()
    before = records(d.audit_log + ".1")
    seqs = [r["seq"] for r in before + sink.seen]
    assert seqs == list(range(1, len(seqs) + 1))
    assert [r for r in sink.seen if r.get("event") == "dropped"] == [drop]
    wait_until(lambda: "took records again" in d.stderr(), timeout=10,
               what="recovery log")


def test_ring_error_style_close_reason(audited):
    d = audited()
    with d.raw() as c:
        c.send(xsraw.READ, b"/x\0", length=5000)
        with pytest.raises((xsraw.Closed, TimeoutError)):
            c.recv_reply(timeout=5)
    # Other connections of this process (the daemon's readiness probe)
    # close too, and may be recorded first: wait for this one's record.
    rs = wait_records(d.audit_log, lambda r: r["kind"] == "conn_close"
                      and r.get("pid") == os.getpid()
                      and r["reason"] == "oversized message", what="close")
    assert rs[-1]["reason"] == "oversized message"


def test_sigusr1_counts_records(audited):
    d = audited()
    run(d, "xenstore-write", "/cnt", "1")
    wait_records(d.audit_log, lambda r: r["kind"] == "conn_close"
                 and r.get("pid") != os.getpid(), what="write's close")
    os.kill(d.proc.pid, signal.SIGUSR1)
    wait_until(lambda: re.search(r"audit: \d+ records written", d.stderr()),
               timeout=10, what="stats line")
    (st,) = wait_records(d.audit_log, lambda r: r.get("event") == "stats",
                         what="stats record")
    with open(d.audit_log, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    before = lines[:st["seq"] - 1]
    assert json.loads(lines[st["seq"] - 1]) == st and st["kind"] == "audit"
    # What reached the file before the record was made (a batch may wait).
    assert 0 < st["records_written"] <= len(before)
    assert st["bytes_written"] + st["bytes_waiting"] == len(b"".join(before))
    assert st["stalls"] == 0 and st["write_errors"] == 0


# -- --audit-key: values hashed with HMAC-SHA256 ----------------------------

KEY_LABEL = b"split-xenstored audit key id"


def hmac_hex(key, value):
    return hmac.new(key, value, hashlib.sha256).hexdigest()


def key_file(tmp_path, name="audit.key", key=None, mode=0o600):
    key = os.urandom(32) if key is None else key
    path = tmp_path / name
    path.write_bytes(key)
    os.chmod(path, mode)
    return str(path), key


def test_audit_key_hashes_values_with_hmac(audited, tmp_path):
    kpath, key = key_file(tmp_path)
    d = audited(extra=["--audit-key", kpath])
    run(d, "xenstore-write", "/k/pin", "1234")
    rpid, out = run(d, "xenstore-read", "/k/pin")
    assert out == b"1234\n"
    rs = wait_records(d.audit_log, lambda r: r.get("pid") == rpid
                      and r["kind"] == "request", what="read")
    rs = joined(records(d.audit_log))
    assert rs[0]["event"] == "start" and "HMAC-SHA256" in rs[0]["detail"]
    assert rs[0]["key_id"] == hmac_hex(key, KEY_LABEL)[:16]
    vals = [r["value"] for r in rs if r.get("path") == "/k/pin"]
    assert vals == [{"len": 4, "hmac_sha256": hmac_hex(key, b"1234")}] * 2
    # The plain hash of the secret, which anyone could look up, is not there.
    text = open(d.audit_log).read()
    assert sha(b"1234") not in text and '"sha256"' not in text


@pytest.mark.parametrize("mode,key,why", [
    (0o644, b"k" * 32, "chmod 600"),
    (0o600, b"short", "16 to 4096 bytes"),
    (0o600, b"k" * 4097, "16 to 4096 bytes"),
])
def test_audit_key_refused(tmp_path, mode, key, why):
    kpath, _ = key_file(tmp_path, key=key, mode=mode)
    env = dict(os.environ, XENSTORED_RUNDIR=str(tmp_path))
    p = subprocess.run([os.path.join(XS_BUILD, "bin", "xs-broker"),
                        "--socket-only", "-N", "--audit-log",
                        str(tmp_path / "a.log"), "--audit-key", kpath],
                       env=env, capture_output=True, timeout=30)
    assert p.returncode != 0
    assert why in p.stderr.decode(), p.stderr
    assert not os.path.exists(tmp_path / "socket")


def test_audit_key_symlink_refused(tmp_path):
    kpath, _ = key_file(tmp_path)
    os.symlink(kpath, str(tmp_path / "link.key"))
    env = dict(os.environ, XENSTORED_RUNDIR=str(tmp_path))
    p = subprocess.run([os.path.join(XS_BUILD, "bin", "xs-broker"),
                        "--socket-only", "-N", "--audit-log",
                        str(tmp_path / "a.log"), "--audit-key",
                        str(tmp_path / "link.key")],
                       env=env, capture_output=True, timeout=30)
    assert p.returncode != 0 and b"link.key" in p.stderr


def test_audit_key_reloaded_on_sighup(audited, tmp_path):
    kpath, k1 = key_file(tmp_path)
    d = audited(extra=["--audit-key", kpath])

    def read():
        pid, _ = run(d, "xenstore-read", "/k/v")
        wait_records(d.audit_log, lambda r: r.get("pid") == pid
                     and r["kind"] == "conn_close", what="read %d" % pid)
        return pid

    def hup(event):
        os.kill(d.proc.pid, signal.SIGHUP)
        wait_records(d.audit_log, lambda r: r.get("event") == event,
                     what=event)

    run(d, "xenstore-write", "/k/v", "secret")
    p1 = read()
    k2 = os.urandom(48)
    with open(kpath, "wb") as f:
        f.write(k2)
    hup("key-loaded")
    p2 = read()
    # A key file others may read is refused; the key before it stays.
    os.chmod(kpath, 0o640)
    hup("key-rejected")
    p3 = read()
    rs = joined(records(d.audit_log))
    ids = [(r["event"], r["key_id"]) for r in rs if "key_id" in r]
    id1, id2 = hmac_hex(k1, KEY_LABEL)[:16], hmac_hex(k2, KEY_LABEL)[:16]
    assert ids == [("start", id1), ("reopened", id1), ("key-loaded", id2),
                   ("reopened", id2)]
    (rej,) = [r for r in rs if r.get("event") == "key-rejected"]
    assert "chmod 600" in rej["detail"]
    got = {r["pid"]: r["value"]["hmac_sha256"] for r in rs
           if r.get("type") == "READ"}
    assert got == {p1: hmac_hex(k1, b"secret"), p2: hmac_hex(k2, b"secret"),
                   p3: hmac_hex(k2, b"secret")}
    assert "key not reloaded" in d.stderr()

    # xs-audit finds each value under the key the log names for it.
    with open(tmp_path / "k1", "wb") as f:
        f.write(k1)
    os.chmod(tmp_path / "k1", 0o600)
    os.chmod(kpath, 0o600)
    rc, out, err = xa("-o", "READ", "-v", "secret", d.audit_log)
    assert rc == 1 and "give the key with --key" in err
    rc, out, err = xa("-o", "READ", "-v", "secret", "--key",
                      str(tmp_path / "k1"), d.audit_log)
    assert rc == 0 and pids_of(out) == [p1]
    assert "2 values hashed under a key were not checked" in err
    rc, out, _ = xa("-o", "READ", "-v", "secret", "--key", kpath, d.audit_log)
    assert pids_of(out) == [p2, p3]
    assert xa("-c", "-v", "other", "--key", kpath, d.audit_log)[1] == "0\n"


def test_xs_audit_pairs_requests_with_replies(audited):
    """On a log the broker wrote, xs-audit prints each request with its
    reply, filtering on the request's fields and the reply's together."""
    d = audited()
    wpid, _ = run(d, "xenstore-write", "/pair/a", "value-1")
    rpid, _ = run(d, "xenstore-read", "/pair/a")
    mpid, _ = run(d, "xenstore-read", "/pair/missing", check=False)
    wait_records(d.audit_log, lambda r: r.get("pid") == mpid
                 and r["kind"] == "conn_close", what="the last close")

    def pairs(out):
        rs = [json.loads(l) for l in out.splitlines()]
        assert [r["kind"] for r in rs] == ["request", "reply"] * (len(rs) // 2)
        for q, r in zip(rs[::2], rs[1::2]):
            assert r["req"] == q["seq"] and r["conn"] == q["conn"]
        return [(q["pid"], q["type"], r["result"]) for q, r in
                zip(rs[::2], rs[1::2])]

    rc, out, _ = xa("-r", "ENOENT", d.audit_log)
    assert rc == 0 and pairs(out) == [(mpid, "READ", "ENOENT")]
    # The value of a READ is in its reply, of a WRITE in its request.
    rc, out, _ = xa("-p", "/pair", "-v", "value-1", d.audit_log)
    assert pairs(out) == [(wpid, "WRITE", "OK"), (rpid, "READ", "OK")]
    rc, out, _ = xa("-s", "-d", "0", "-p", "/pair", d.audit_log)
    assert re.search(r"^\s+0 READ\s+2\s+1\s", out, re.M), out
    assert re.search(r"^\s+0 WRITE\s+1\s+0\s", out, re.M), out


# -- xs-audit against a known log ---------------------------------------

def xa(*args):
    p = subprocess.run([XS_AUDIT] + list(args), capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def seqs_of(out):
    return [json.loads(l)["seq"] for l in out.splitlines()]


def pids_of(out):
    """The clients of the requests printed (each with its reply)."""
    return [r["pid"] for r in map(json.loads, out.splitlines())
            if r["kind"] == "request"]


def test_xs_audit_filters():
    rc, out, err = xa(SAMPLE)
    assert rc == 0
    # A request is printed with its reply, once that is read; one that
    # never got one, at the end.
    assert seqs_of(out) == [1, 2, 3, 4, 5, 6, 8, 7, 9, 10, 11, 12, 13, 14,
                            15, 17, 18, 19, 20]
    assert "line 16 is not a JSON record" in err
    assert seqs_of(xa("-d", "5", SAMPLE)[1]) == [5, 6, 8, 7, 9, 10, 11, 12,
                                                 13, 14, 19]
    assert seqs_of(xa("-o", "WRITE", SAMPLE)[1]) == [3, 4, 7, 9, 12, 13]
    assert seqs_of(xa("-o", "READ,RM", "-d", "5", SAMPLE)[1]) == [6, 8, 10, 11]
    # Component-wise, and a guest's relative paths count under its home.
    assert seqs_of(xa("-p", "/local/domain/5", SAMPLE)[1]) == [3, 4, 6, 8, 7,
                                                               9, 14, 17, 18]
    assert seqs_of(xa("-p", "/local/domain/5/data/", SAMPLE)[1]) == [7, 9, 14]
    # The result is the reply's, the operation and domain the request's.
    assert seqs_of(xa("-r", "error", SAMPLE)[1]) == [10, 11, 12, 13]
    assert seqs_of(xa("-r", "EACCES,OK", "-o", "READ", SAMPLE)[1]) == [6, 8,
                                                                       10, 11]
    assert seqs_of(xa("-k", "conn_open,conn_close", SAMPLE)[1]) == [2, 5, 19]
    assert seqs_of(xa("-p", "/never", SAMPLE)[1]) == [20]
    # A pair is as old as its request.
    assert seqs_of(xa("--since", "2024-05-01T12:10", "--until",
                      "2024-05-01T12:20", SAMPLE)[1]) == [6, 8, 7, 9, 10, 11,
                                                          12, 13]
    assert xa("-c", "-d", "5", "-r", "error", SAMPLE)[1] == "2\n"
    rc, out, _ = xa("-d", "77", SAMPLE)
    assert rc == 1 and out == ""
    with open(SAMPLE, "rb") as f:
        p = subprocess.run([XS_AUDIT, "-o", "RM"], stdin=f,
                           capture_output=True, timeout=30)
    assert p.returncode == 0 and seqs_of(p.stdout.decode()) == [17, 18]


def test_xs_audit_summary():
    rc, out, _ = xa("-s", "-n", "3", SAMPLE)
    assert rc == 0
    assert "lines read: 20, records matching: 13" in out
    assert "integrity: 1 invalid lines, 1 sequence gaps" in out
    rows = re.findall(r"^\s+(\d+) (\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", out, re.M)
    assert rows == [("0", "READ", "1", "0", "0", "0"),
                    ("0", "RM", "1", "0", "2500", "2500"),
                    ("0", "WRITE", "1", "0", "120", "120"),
                    ("5", "READ", "2", "1", "37", "40"),
                    ("5", "WRITE", "2", "1", "480", "900")]
    assert re.search(r"^\s+4 OK$", out, re.M)
    assert re.search(r"^\s+2 EACCES$", out, re.M)
    slow = out.split("slowest requests")[1].strip().splitlines()[1:]
    assert [l.split()[0] for l in slow] == ["2500", "900", "120"]
    assert "RM req 2 /local/domain/5 OK" in slow[0]


def test_xs_audit_follow(tmp_path):
    log = tmp_path / "f.log"
    log.write_text("")
    p = subprocess.Popen([XS_AUDIT, "-f", "-o", "RM", str(log)],
                         stdout=subprocess.PIPE)
    try:
        with open(SAMPLE) as src, open(log, "a") as dst:
            dst.write(src.read())
        assert json.loads(p.stdout.readline())["seq"] == 17
        assert json.loads(p.stdout.readline())["seq"] == 18
    finally:
        p.kill()
        p.wait()


def test_xs_audit_value(tmp_path):
    """--value against values in clear, as SHA-256 and as HMAC-SHA256,
    including bytes the broker escapes."""
    key = b"K" * 32
    kid = hmac_hex(key, KEY_LABEL)[:16]
    weird = "a\\b\x01\u00e9"
    recs = [
        {"seq": 1, "kind": "broker", "event": "start"},
        {"seq": 2, "kind": "request", "type": "WRITE", "value": "plain"},
        {"seq": 3, "kind": "request", "type": "READ",
         "value": {"len": 5, "sha256": sha(b"plain")}},
        {"seq": 4, "kind": "request", "type": "READ",
         "value": {"len": 5, "sha256": sha(b"other")}},
        {"seq": 5, "kind": "request", "type": "DIRECTORY",
         "reply": {"len": 5, "sha256": sha(b"plain")}},
        {"seq": 6, "kind": "request", "type": "WRITE",
         "value": "a\\\\b\\x01" + "\u00e9"},
        {"seq": 7, "kind": "audit", "event": "key-loaded", "key_id": kid},
        {"seq": 8, "kind": "request", "type": "READ",
         "value": {"len": 5, "hmac_sha256": hmac_hex(key, b"plain")}},
        {"seq": 9, "kind": "request", "type": "READ",
         "value": {"len": 4, "hmac_sha256": hmac_hex(key, b"else")}},
    ]
    log = tmp_path / "v.log"
    log.write_text("".join(json.dumps(r) + "\n" for r in recs))
    kpath, _ = key_file(tmp_path, key=key)
    assert seqs_of(xa("-v", "plain", str(log))[1]) == [2, 3, 5]
    assert seqs_of(xa("-v", "plain", "--key", kpath, str(log))[1]) == [2, 3, 5, 8]
    assert seqs_of(xa("-v", weird.encode("utf-8", "surrogateescape").decode(),
                      str(log))[1]) == [6]
    rc, _, err = xa("-c", "-v", "else", str(log))
    assert rc == 1 and "1 values hashed under a key were not checked" in err
    assert xa("--key", kpath, str(log))[0] == 2


def test_xs_audit_help():
    rc, out, _ = xa("--help")
    assert rc == 0
    for word in ("--domain", "--op", "--path", "--result", "--since", "--until",
                 "--summary", "--follow", "Integrity", "sha256", "\\xNN",
                 "--value", "--key", "hmac_sha256", "key_id"):
        assert word in out, word


def test_audit_to_dev_null(xsd_factory):
    """/dev/null is a device epoll cannot watch: the broker writes to it as
    to a file instead of refusing to start."""
    d = xsd_factory(args=["--audit-log", "/dev/null"], name="null")
    with d.raw() as c:
        c.write("/null", "x")
        assert c.read("/null") == b"x"
