# SPDX-License-Identifier: GPL-2.0-only
"""python3-pyxs (a pure-Python client with its own protocol code)."""

import errno
import queue

import pytest

# python3-pyxs: run the suite with /usr/bin/python3
import pyxs
import pyxs._internal

EVENT_TIMEOUT = 30


@pytest.fixture
def client(xsd):
    with pyxs.Client(unix_socket_path=xsd.socket) as c:
        yield c


def b(s):
    return s.encode()


def next_event(mon):
    """The monitor's next (path, token), waiting at most EVENT_TIMEOUT."""
    try:
        return mon.events.get(timeout=EVENT_TIMEOUT)
    except queue.Empty:
        raise AssertionError("no watch event within %ss" % EVENT_TIMEOUT)


def test_read_write(client, base):
    client.write(b(base + "/k"), b"v1")
    assert client.read(b(base + "/k")) == b"v1"
    client[b(base + "/k")] = b"v2"
    assert client[b(base + "/k")] == b"v2"


def test_read_missing(client, base):
    with pytest.raises(pyxs.PyXSError) as e:
        client.read(b(base + "/missing"))
    assert e.value.args[0] == errno.ENOENT
    assert client.read(b(base + "/missing"), b"dflt") == b"dflt"


def test_mkdir_ls_exists_rm(client, base):
    client.mkdir(b(base + "/d/x"))
    client.mkdir(b(base + "/d/y"))
    client.write(b(base + "/d/z"), b"1")
    assert client.read(b(base + "/d/x")) == b""
    assert sorted(client.list(b(base + "/d"))) == [b"x", b"y", b"z"]
    assert client.exists(b(base + "/d/y"))
    client.delete(b(base + "/d/y"))
    assert not client.exists(b(base + "/d/y"))
    assert sorted(client.list(b(base + "/d"))) == [b"x", b"z"]
    client.delete(b(base + "/d"))
    assert not client.exists(b(base + "/d"))
    assert not client.exists(b(base + "/d/x"))


def test_rm_missing_parent(client, base):
    with pytest.raises(pyxs.PyXSError) as e:
        client.delete(b(base + "/no/such"))
    assert e.value.args[0] == errno.ENOENT


def test_perms(client, base):
    client.write(b(base + "/p"), b"1")
    assert client.get_perms(b(base + "/p")) == [b"n0"]
    client.set_perms(b(base + "/p"), [b"b0", b"r1", b"w2"])
    assert client.get_perms(b(base + "/p")) == [b"b0", b"r1", b"w2"]


def test_domain_queries(client):
    assert client.get_domain_path(0) == b"/local/domain/0"
    assert client.get_domain_path(12) == b"/local/domain/12"
    assert client.is_domain_introduced(0) is True
    assert client.is_domain_introduced(9) is False


def test_transaction_commit(client, base):
    client.transaction()
    client.write(b(base + "/t/a"), b"1")
    client.write(b(base + "/t/b"), b"2")
    assert client.commit() is True
    assert client.read(b(base + "/t/a")) == b"1"
    assert client.read(b(base + "/t/b")) == b"2"


def test_transaction_rollback(client, base):
    client.transaction()
    client.write(b(base + "/rb"), b"1")
    client.rollback()
    assert not client.exists(b(base + "/rb"))


def test_transaction_conflict_eagain(xsd, client, base):
    client.write(b(base + "/c"), b"0")
    with pyxs.Client(unix_socket_path=xsd.socket) as other:
        client.transaction()
        assert client.read(b(base + "/c")) == b"0"
        client.write(b(base + "/c"), b"from-tx")
        other.write(b(base + "/c"), b"direct")
        # commit() turns EAGAIN into False; the raw ack shows the error.
        with pytest.raises(pyxs.PyXSError) as e:
            client.ack(pyxs._internal.Op.TRANSACTION_END, b"T\0")
        assert e.value.args[0] == errno.EAGAIN
        client.tx_id = 0
    assert client.read(b(base + "/c")) == b"direct"


def test_transaction_conflict_commit_false(xsd, client, base):
    client.write(b(base + "/c2"), b"0")
    with pyxs.Client(unix_socket_path=xsd.socket) as other:
        client.transaction()
        client.read(b(base + "/c2"))
        client.write(b(base + "/c2"), b"from-tx")
        other.write(b(base + "/c2"), b"direct")
        assert client.commit() is False
    assert client.read(b(base + "/c2")) == b"direct"


def test_monitor_events(xsd, client, base):
    client.write(b(base + "/m"), b"0")
    with client.monitor() as mon:
        mon.watch(b(base + "/m"), b"tok")
        assert next_event(mon) == (b(base + "/m"), b"tok")
        with pyxs.Client(unix_socket_path=xsd.socket) as other:
            other.write(b(base + "/m/kid"), b"1")
            assert next_event(mon) == (b(base + "/m/kid"), b"tok")
            other.write(b(base + "/m"), b"2")
            assert next_event(mon) == (b(base + "/m"), b"tok")
            other.delete(b(base + "/m/kid"))
            assert next_event(mon) == (b(base + "/m/kid"), b"tok")
        mon.unwatch(b(base + "/m"), b"tok")


def test_monitor_two_tokens(client, base):
    with client.monitor() as mon:
        mon.watch(b(base + "/x"), b"t1")
        mon.watch(b(base + "/x/y"), b"t2")
        got = {next_event(mon), next_event(mon)}
        assert got == {(b(base + "/x"), b"t1"), (b(base + "/x/y"), b"t2")}
        client.write(b(base + "/x/y"), b"1")
        got = {next_event(mon), next_event(mon)}
        assert got == {(b(base + "/x/y"), b"t1"), (b(base + "/x/y"), b"t2")}
