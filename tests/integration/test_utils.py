# SPDX-License-Identifier: GPL-2.0-only
"""xenstore-utils (libxenstore's command-line clients) against the daemon."""

import subprocess

TIMEOUT = 60


def xs(xsd, *argv, ro=False, check=True, timeout=TIMEOUT):
    r = subprocess.run(list(argv), env=xsd.env(ro=ro), capture_output=True,
                       text=True, timeout=timeout)
    if check:
        assert r.returncode == 0, "%s -> %d\nstdout: %s\nstderr: %s" % (
            argv, r.returncode, r.stdout, r.stderr)
    return r


def test_write_read(xsd, base):
    xs(xsd, "xenstore-write", base + "/a", "hello", base + "/b", "world")
    r = xs(xsd, "xenstore-read", base + "/a", base + "/b")
    assert r.stdout == "hello\nworld\n"


def test_read_missing_fails(xsd, base):
    r = xs(xsd, "xenstore-read", base + "/missing", check=False)
    assert r.returncode != 0
    assert r.stdout == ""


def test_ls_tree(xsd, base):
    xs(xsd, "xenstore-write", base + "/t/x", "1", base + "/t/y/z", "2",
       base + "/t/y/w", "3")
    r = xs(xsd, "xenstore-ls", "-f", base + "/t")
    lines = sorted(r.stdout.splitlines())
    assert lines == sorted([
        '%s/t/x = "1"' % base,
        '%s/t/y = ""' % base,
        '%s/t/y/z = "2"' % base,
        '%s/t/y/w = "3"' % base,
    ])
    r = xs(xsd, "xenstore-ls", base + "/t")
    # nested output: children of y are indented by one space
    assert sorted(r.stdout.splitlines()) == sorted(
        [' w = "3"', ' z = "2"', 'x = "1"', 'y = ""'])


def test_list(xsd, base):
    xs(xsd, "xenstore-write", base + "/l/one", "1", base + "/l/two", "2",
       base + "/l/three", "")
    r = xs(xsd, "xenstore-list", base + "/l")
    assert sorted(r.stdout.split()) == ["one", "three", "two"]


def test_rm_subtree(xsd, base):
    xs(xsd, "xenstore-write", base + "/r/a/b", "1", base + "/r/c", "2",
       base + "/keep", "k")
    xs(xsd, "xenstore-rm", base + "/r")
    assert xs(xsd, "xenstore-exists", base + "/r", check=False).returncode == 1
    assert xs(xsd, "xenstore-exists", base + "/r/a/b", check=False).returncode == 1
    assert xs(xsd, "xenstore-read", base + "/keep").stdout == "k\n"
    assert xs(xsd, "xenstore-list", base).stdout.split() == ["keep"]


def test_chmod_and_perms(xsd, base):
    xs(xsd, "xenstore-write", base + "/c/x", "1")
    xs(xsd, "xenstore-chmod", base + "/c/x", "b0", "r3")
    r = xs(xsd, "xenstore-ls", "-p", base + "/c")
    line = r.stdout.strip()
    assert line.startswith('x = "1"'), line
    assert line.endswith("(b0,r3)"), line
    xs(xsd, "xenstore-chmod", base + "/c/x", "n0")
    r = xs(xsd, "xenstore-ls", "-p", base + "/c")
    assert r.stdout.strip().endswith("(n0)")


def test_chmod_recursive(xsd, base):
    xs(xsd, "xenstore-write", base + "/cr/a/b", "1")
    xs(xsd, "xenstore-chmod", "-r", base + "/cr", "n0", "r4")
    r = xs(xsd, "xenstore-ls", "-p", base + "/cr")
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    assert len(lines) == 2
    assert all(l.endswith("(n0,r4)") for l in lines), lines


def test_exists(xsd, base):
    xs(xsd, "xenstore-write", base + "/e", "")
    assert xs(xsd, "xenstore-exists", base + "/e").returncode == 0
    r = xs(xsd, "xenstore-exists", base + "/missing", check=False)
    assert r.returncode == 1


def test_watch(xsd, base):
    xs(xsd, "xenstore-write", base + "/w", "0")
    p = subprocess.Popen(["xenstore-watch", "-n", "2", base + "/w"],
                         env=xsd.env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        # The first line is the initial event; only then is the watch
        # certainly registered.
        first = p.stdout.readline()
        assert first == base + "/w\n"
        xs(xsd, "xenstore-write", base + "/w/child", "1")
        out, err = p.communicate(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert out == base + "/w/child\n"


def test_ro_socket_read(xsd, base):
    xsd.require_ro()
    xs(xsd, "xenstore-write", base + "/ro", "data")
    r = xs(xsd, "xenstore-read", base + "/ro", ro=True)
    assert r.stdout == "data\n"
    r = xs(xsd, "xenstore-ls", "-f", base, ro=True)
    assert r.stdout == '%s/ro = "data"\n' % base


def test_ro_socket_write_fails(xsd, base):
    xsd.require_ro()
    xs(xsd, "xenstore-write", base + "/ro", "data")
    r = xs(xsd, "xenstore-write", base + "/ro", "changed", ro=True, check=False)
    assert r.returncode != 0
    r = xs(xsd, "xenstore-rm", base + "/ro", ro=True, check=False)
    assert r.returncode != 0
    assert xs(xsd, "xenstore-read", base + "/ro").stdout == "data\n"
