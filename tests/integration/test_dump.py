# SPDX-License-Identifier: GPL-2.0-only
"""Dump and restore: `xs-engine --dump` writes the running store as a
xenstore migration stream without disturbing it, `xs-broker --restore`
starts an identical store from it, and a truncated or corrupt dump is
refused with the reason while the running store is untouched."""

import os
import struct
import subprocess

import pytest

import xsraw
from conftest import REFERENCE, XS_BUILD, Daemon

pytestmark = pytest.mark.skipif(REFERENCE, reason="split-xenstored's tools")

ENGINE = os.path.join(XS_BUILD, "bin", "xs-engine")


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


def dump(d, path):
    r = subprocess.run([ENGINE, "--dump", path], env=d.env(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    assert r.returncode == 0, r.stderr.decode()


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
