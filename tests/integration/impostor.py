# SPDX-License-Identifier: GPL-2.0-only
"""A subverted engine, for tests of what the broker lets an engine do.

xs-broker runs this in place of xs-engine (through a wrapper given with
--engine): it starts the real engine behind itself and passes every frame
through, so the daemon serves as usual, and a test drives it over a control
socket to act as an engine taken over by a guest would: send frames the
real engine never would, stop reading its channel, flood it.

    impostor.py PB_DIR CONTROL_SOCKET REAL_ENGINE [engine args...]

PB_DIR holds xsp_pb2.py (protoc --python_out of proto/xsp.proto). The
control socket takes one JSON object a line:

    {"send": [ToBroker as a dict, ...]}   one EngineFrame to the broker
    {"raw": "hex", "times": N}            bytes to the broker, as they are
    {"flood": {"msgs": [...], "frames": N}}  N frames of msgs, at once
    {"reading": false}                    stop (or resume) reading the broker
    {"exit": STATUS}                      leave at once

and writes one line per frame from the broker:
    {"from_broker": [ToEngine as a dict, ...]}
Priv replies to ids at or above INJECTED_ID go to the control socket only,
never to the real engine, which did not ask.
"""

import json
import os
import select
import socket
import struct
import subprocess
import sys

INJECTED_ID = 0x40000000
CHAN = 3


def main():
    pb_dir, ctl_path, real = sys.argv[1], sys.argv[2], sys.argv[3]
    sys.path.insert(0, pb_dir)
    import xsp_pb2  # noqa: E402
    from google.protobuf import json_format  # noqa: E402

    ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ctl.connect(ctl_path)
    mine, theirs = socket.socketpair()
    # The real engine gets the channel as fd 3 and keeps the state fds.
    os.dup2(theirs.fileno(), 6)
    engine = subprocess.Popen(
        [real] + sys.argv[4:], pass_fds=(CHAN, 4, 5, 6),
        preexec_fn=lambda: os.dup2(6, CHAN), close_fds=True)
    theirs.close()
    os.close(6)
    broker = socket.socket(fileno=CHAN)
    state = {"reading": True}
    from_broker = bytearray()
    from_engine = bytearray()
    ctl_buf = bytearray()

    def frames(buf):
        out = []
        while len(buf) >= 4:
            (n,) = struct.unpack(">I", buf[:4])
            if len(buf) < 4 + n:
                break
            out.append(bytes(buf[4:4 + n]))
            del buf[:4 + n]
        return out

    def to_broker(body):
        broker.sendall(struct.pack(">I", len(body)) + body)

    def engine_frame(msgs):
        f = xsp_pb2.EngineFrame()
        for m in msgs:
            json_format.ParseDict(m, f.msgs.add())
        return f.SerializeToString()

    def command(c):
        if "send" in c:
            to_broker(engine_frame(c["send"]))
        elif "raw" in c:
            raw = bytes.fromhex(c["raw"])
            for _ in range(c.get("times", 1)):
                broker.sendall(raw)
        elif "flood" in c:
            body = engine_frame(c["flood"]["msgs"])
            for _ in range(c["flood"]["frames"]):
                to_broker(body)
        elif "reading" in c:
            state["reading"] = c["reading"]
        elif "exit" in c:
            os._exit(c["exit"])

    while True:
        rd = [ctl, mine] + ([broker] if state["reading"] else [])
        r, _, _ = select.select(rd, [], [])
        if ctl in r:
            d = ctl.recv(65536)
            if not d:
                os._exit(0)
            ctl_buf += d
            while b"\n" in ctl_buf:
                line, _, rest = bytes(ctl_buf).partition(b"\n")
                ctl_buf[:] = rest
                try:
                    command(json.loads(line))
                except OSError:
                    # The broker hung up on us: the test sees why.
                    pass
        if mine in r:
            d = mine.recv(1 << 20)
            if not d:
                os._exit(0)
            from_engine += d
            for body in frames(from_engine):
                to_broker(body)
        if broker in r:
            d = broker.recv(1 << 20)
            if not d:
                engine.kill()
                os._exit(0)
            from_broker += d
            for body in frames(from_broker):
                bf = xsp_pb2.BrokerFrame()
                bf.ParseFromString(body)
                seen = [json_format.MessageToDict(m) for m in bf.msgs]
                ctl.sendall(json.dumps({"from_broker": seen}).encode() +
                            b"\n")
                keep = [m for m in bf.msgs
                        if not (m.HasField("priv_reply") and
                                m.priv_reply.id >= INJECTED_ID)]
                if len(keep) != len(bf.msgs):
                    bf = xsp_pb2.BrokerFrame(msgs=keep)
                    if not keep:
                        continue
                    body = bf.SerializeToString()
                mine.sendall(struct.pack(">I", len(body)) + body)


if __name__ == "__main__":
    main()
