# SPDX-License-Identifier: GPL-2.0-only
"""A subverted engine gains nothing.

The broker runs impostor.py in place of its engine: the real engine serves
behind it, and each test has the impostor say what a guest that took over
the engine would have it say. The broker is judged from outside: what the
simulated hypervisor's pages show, whether clients and guests are still
served, what it logged, how much memory it holds.
"""

import base64
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "xensim"))

import xensim as X  # noqa: E402
import xsraw  # noqa: E402
from xsraw import z  # noqa: E402
from conftest import rss_kb  # noqa: E402

XS_BUILD = os.path.abspath(os.environ.get("XS_BUILD",
                                          os.path.join(REPO, "build")))
BROKER = os.path.join(XS_BUILD, "bin", "xs-broker")
ENGINE = os.path.join(XS_BUILD, "bin", "xs-engine")
DEADLINE = 60.0
# Priv replies to ids from here on are the impostor's (impostor.py).
INJECTED_ID = 0x40000000
SANITIZED = "build-san" in XS_BUILD
WATCH_EVENT = 15

WRAPPER_C = r"""
#include <fcntl.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	char *v[argc + 6];
	int n = 0, i, log = open(LOG, O_WRONLY | O_CREAT | O_APPEND, 0600);

	if (log >= 0)
		dup2(log, 2);
	v[n++] = "/usr/bin/python3";
	v[n++] = IMPOSTOR;
	v[n++] = PBDIR;
	v[n++] = CTL;
	v[n++] = REAL;
	for (i = 1; i < argc; i++)
		v[n++] = argv[i];
	v[n] = 0;
	execv(v[0], v);
	return 127;
}
"""


def wait_for(cond, what, timeout=DEADLINE):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.02)


class Engine:
    """One impostor, as the broker started it: what it was told."""

    def __init__(self, sock):
        self.sock = sock
        self.seen = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        buf = b""
        while True:
            try:
                d = self.sock.recv(1 << 20)
            except OSError:
                return
            if not d:
                return
            buf += d
            while b"\n" in buf:
                line, _, buf = buf.partition(b"\n")
                with self.lock:
                    self.seen.extend(json.loads(line)["from_broker"])

    def tell(self, **cmd):
        self.sock.sendall(json.dumps(cmd).encode() + b"\n")

    def send(self, *msgs):
        self.tell(send=list(msgs))

    def opened(self, pred):
        """The ConnOpen (or ConnSync entry) matching pred, once seen."""
        def find():
            with self.lock:
                for m in self.seen:
                    for o in ([m["open"]] if "open" in m else
                              m.get("sync", {}).get("conns", [])):
                        if pred(o):
                            return o
            return None
        return wait_for(find, "a connection")


class Impostor:
    def __init__(self, tmp):
        self.dir = str(tmp)
        proto = os.path.join(REPO, "proto")
        subprocess.run(["protoc", "--python_out=" + self.dir, "-I", proto,
                        os.path.join(proto, "xsp.proto")], check=True)
        ctl = os.path.join(self.dir, "ctl")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(ctl)
        self.listener.listen(8)
        self.wrapper = os.path.join(self.dir, "engine-wrapper")
        src = self.wrapper + ".c"
        with open(src, "w") as f:
            f.write(WRAPPER_C)
        defs = {"LOG": os.path.join(self.dir, "impostor.log"),
                "IMPOSTOR": os.path.join(HERE, "impostor.py"),
                "PBDIR": self.dir, "CTL": ctl, "REAL": ENGINE}
        subprocess.run(["cc", "-o", self.wrapper, src] +
                       ['-D%s="%s"' % kv for kv in defs.items()], check=True)
        self.engines = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                s, _ = self.listener.accept()
            except OSError:
                return
            self.engines.append(Engine(s))

    def args(self):
        return ["--engine", self.wrapper, "--unsafe-no-sandbox"]

    def engine(self, n=1):
        """The n-th engine the broker started (1: the first)."""
        wait_for(lambda: len(self.engines) >= n, "engine %d" % n)
        return self.engines[n - 1]

    def close(self):
        self.listener.close()
        for e in self.engines:
            e.sock.close()


@pytest.fixture(scope="module")
def _host():
    s = X.Sim(build=os.path.join(XS_BUILD, "xensim"))
    yield s
    s.close()


@pytest.fixture
def sim(_host):
    yield _host
    _host.reset()


@pytest.fixture
def imp(tmp_path):
    i = Impostor(tmp_path)
    yield i
    i.close()


def daemon(sim, imp, *args):
    d = sim.start_daemon([BROKER, "-N"] + imp.args() + list(args),
                         timeout=DEADLINE)
    imp.engine(1)
    return d


def broken(d, why):
    """The broker replaced its engine for saying what it may not."""
    wait_for(lambda: "engine is broken (%s)" % why in d.stderr(),
             "the broker to judge the engine broken (%s)" % why)


def served(d):
    with xsraw.XsRaw(d.socket, DEADLINE) as c:
        c.write("/served", "yes")
        assert c.read("/served") == b"yes"


def varint(n):
    out = b""
    while True:
        b, n = n & 0x7f, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def domain_info(id_):
    """A ToBroker with PrivRequest DOMAIN_INFO of domain 1, encoded."""
    p = b"\x08" + varint(id_) + b"\x10\x03\x18\x01"
    return b"\x22" + varint(len(p)) + p


def frame_of(msg, count):
    """An EngineFrame of count times msg (a ToBroker), length first."""
    body = (b"\x0a" + varint(len(msg)) + msg) * count
    return struct.pack(">I", len(body)) + body


def priv(op, domid=0, id_=0, **kw):
    p = {"id": id_, "op": op, "domid": domid}
    p.update(kw)
    return {"priv": p}


def test_map_of_a_domain_nobody_introduced(sim, imp):
    d = daemon(sim, imp)
    gfn, port = sim.create(7)
    imp.engine(1).send(priv("MAP", 7, gfn=str(gfn), port=port))
    broken(d, "asked to map a ring no privileged client introduced")
    imp.engine(2)
    served(d)
    # Never mapped: the broker would have set up the page for service.
    g = sim.guest(7)
    assert g.server_features == 0 and g.connection == 0
    assert "domain 7: ring mapped" not in d.stderr()
    g.close()
    # What dom0 asks for still happens, through the same engine.
    sim.destroy(7)
    g = sim.introduce(d, 7)
    g.write("data", "x")
    assert g.read("data") == b"x"
    g.close()
    d.stop()


def test_map_again_after_the_introduction_was_answered(sim, imp):
    d = daemon(sim, imp)
    g = sim.introduce(d, 7)
    g.write("data", "x")
    port = sim.domains()[7][3]
    imp.engine(1).send(priv("MAP", 7, gfn="0", port=port))
    broken(d, "asked to map a ring no privileged client introduced")
    imp.engine(2)
    # The guest's connection was not reset: its store goes on.
    assert g.read("data") == b"x"
    assert "domain 7: ring mapped" in d.stderr()
    assert "introduced again" not in d.stderr()
    g.close()
    d.stop()


def test_unmap_of_a_domain_nobody_released(sim, imp):
    d = daemon(sim, imp)
    g = sim.introduce(d, 7)
    g.write("data", "x")
    imp.engine(1).send(priv("UNMAP", 7))
    broken(d, "asked to unmap a ring no privileged client released")
    imp.engine(2)
    assert g.read("data") == b"x"
    g.close()
    # A real release still unmaps it.
    with xsraw.XsRaw(d.socket, DEADLINE) as c:
        assert c.request(xsraw.RELEASE, z("7")).type == xsraw.RELEASE
    d.stop()


def test_live_update_file_nobody_named(sim, imp, tmp_path):
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    d = daemon(sim, imp)
    # A FIFO's open() would block the broker for good.
    imp.engine(1).send(priv("LIVE_UPDATE_FILE", path=fifo))
    broken(d, "named a live-update binary no privileged client named")
    imp.engine(2)
    served(d)
    d.stop()


def test_live_update_nobody_asked_for(sim, imp):
    d = daemon(sim, imp)
    imp.engine(1).send(priv("LIVE_UPDATE_EXEC", args=[]))
    broken(d, "started a live update no privileged client asked for")
    imp.engine(2)
    served(d)
    assert "live update:" not in d.stderr()
    d.stop()


def test_ready_twice(sim, imp):
    d = daemon(sim, imp)
    imp.engine(1).send({"ready": {"nodes": "1", "recovered": False}})
    broken(d, "said it was ready twice")
    imp.engine(2)
    served(d)
    d.stop()


def test_dom0_naming_a_fifo_for_live_update_gets_an_error(sim, imp,
                                                          tmp_path):
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    d = daemon(sim, imp)
    with xsraw.XsRaw(d.socket, DEADLINE) as c:
        m = c.request(xsraw.CONTROL, z("live-update") + z("-f") + z(fifo))
        assert m.type == xsraw.CONTROL
        assert m.payload.rstrip(b"\0") == b"Invalid argument", m
    link = str(tmp_path / "link")
    os.symlink(ENGINE, link)
    with xsraw.XsRaw(d.socket, DEADLINE) as c:
        m = c.request(xsraw.CONTROL, z("live-update") + z("-f") + z(link))
        assert m.payload.rstrip(b"\0") == b"Invalid argument", m
    served(d)
    assert len(imp.engines) == 1
    d.stop()


def test_engine_that_does_not_read_what_it_asked_for(sim, imp):
    d = daemon(sim, imp)
    e = imp.engine(1)
    e.tell(reading=False)
    # ~18 bytes of answer each: 2.5M answers are past ENGINE_QUEUE_MAX.
    e.tell(raw=frame_of(domain_info(INJECTED_ID), 10000).hex(), times=250)
    broken(d, "it does not read what it asked for")
    imp.engine(2)
    served(d)
    if not SANITIZED:
        # 32 MiB queue, one 8 MiB frame, the rest of the broker.
        assert rss_kb(d.proc.pid) < 96 * 1024
    d.stop()


def test_frame_of_a_million_messages(sim, imp):
    d = daemon(sim, imp)
    # 10 bytes each on the wire, over a hundred decoded.
    imp.engine(1).tell(raw=frame_of(domain_info(0), 800000).hex())
    broken(d, "frame does not decode")
    imp.engine(2)
    served(d)
    d.stop()


def test_watch_events_to_dom0_that_does_not_read(sim, imp):
    d = daemon(sim, imp)
    e = imp.engine(1)
    with e.lock:
        known = {o["conn"] for m in e.seen for o in
                 ([m["open"]] if "open" in m else [])}
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(d.socket)
    # The connection is known once the engine is told of it.
    o = e.opened(lambda o: o["conn"] not in known and
                 o.get("privileged") and not o.get("readonly"))
    payload = b"/local/domain/0/x\0" + b"t" * 4000 + b"\0"
    hdr = [o["conn"], WATCH_EVENT, 0, 0, len(payload)] * 200
    msg = {"repliesFixed": {"hdr": hdr, "payloads": base64.b64encode(
        payload * 200).decode()}}
    # 200 MB of events the client never reads.
    e.tell(flood={"msgs": [msg], "frames": 250})
    wait_for(lambda: "conn %d (domain 0): does not read its watch events"
             % o["conn"] in d.stderr(), "events to be dropped")
    served(d)
    assert len(imp.engines) == 1
    if not SANITIZED:
        assert rss_kb(d.proc.pid) < 128 * 1024
    s.close()
    d.stop()


def test_fence_it_was_not_sent(sim, imp):
    d = daemon(sim, imp)
    imp.engine(1).send({"fence": {"id": "12345"}})
    broken(d, "echoed a fence it was not sent")
    imp.engine(2)
    served(d)
    d.stop()


def test_engine_at_full_rate_with_clients_that_read_nothing(sim, imp,
                                                            tmp_path):
    """The broker's memory stays within its documented bound for N
    connections while an engine sends, at full rate and for a while, all
    it may: watch events to clients that read none, log lines (audited),
    questions whose answers it reads. IMPOSTOR_SECONDS sets how long
    (15 s; IMPOSTOR_SECONDS=60 for a minute)."""
    seconds = float(os.environ.get("IMPOSTOR_SECONDS", "15"))
    n_dom0, n_ro = 4, 16
    d = daemon(sim, imp, "--audit-log", str(tmp_path / "audit.log"))
    e = imp.engine(1)
    with e.lock:
        known = {o["conn"] for m in e.seen for o in
                 ([m["open"]] if "open" in m else [])}
    socks = []
    for ro in [False] * n_dom0 + [True] * n_ro:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(d.socket + "_ro" if ro else d.socket)
        socks.append(s)
    conns = []
    for s in socks:
        o = e.opened(lambda o: o["conn"] not in known and
                     o["conn"] not in conns)
        conns.append(o["conn"])
    payload = b"/local/domain/0/x\0" + b"t" * 4000 + b"\0"
    hdr = []
    for c in conns:
        hdr += [c, WATCH_EVENT, 0, 0, len(payload)] * 10
    events = {"repliesFixed": {"hdr": hdr, "payloads": base64.b64encode(
        payload * (len(hdr) // 5)).decode()}}
    log = {"log": {"level": 3, "text": "x" * 4000}}
    ask = priv("DOMAIN_INFO", 1, id_=INJECTED_ID)
    # Per connection: 16 MiB for dom0's, 1 MiB for others; the engine's
    # queue, a frame and its decoding; the audit's 4 MiB; the rest.
    bound = (n_dom0 * 16 + n_ro * 1 + 32 + 8 + 64 + 4 + 40) * 1024
    peak = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        e.tell(flood={"msgs": [events, log, ask] * 4, "frames": 10})
        peak = max(peak, rss_kb(d.proc.pid))
        if not SANITIZED:
            assert peak < bound, "broker RSS %d kB over %d kB" % (peak,
                                                                 bound)
        time.sleep(0.05)
    served(d)
    assert len(imp.engines) == 1, d.stderr()[-3000:]
    assert "does not read its watch events" in d.stderr()
    for s in socks:
        s.close()
    d.stop()


def test_log_flood_does_not_fill_the_host_log(sim, imp):
    """What the engine logs reaches syslog at a bounded rate, the rest
    counted: a guest can make the engine warn, a subverted engine can say
    anything."""
    d = daemon(sim, imp)
    t0 = time.monotonic()
    imp.engine(1).tell(flood={"msgs": [{"log": {"level": 1,
                                                "text": "flood"}}] * 1000,
                              "frames": 50})
    wait_for(lambda: "the rest are counted, not logged" in d.stderr(),
             "the flood to be held back")
    served(d)
    logged = d.stderr().count("xs-engine: flood")
    # A burst of 200, then 100 a second.
    assert logged <= 200 + 100 * (time.monotonic() - t0 + 1), logged
    assert len(imp.engines) == 1
    d.stop()
