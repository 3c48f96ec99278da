# SPDX-License-Identifier: GPL-2.0-only
"""test-xenstore from xen-utils-4.17: every test it has must pass."""

import os
import subprocess

import pytest

XSTEST = "/usr/lib/xen-4.17/bin/test-xenstore"
TIMEOUT = 120


def list_tests():
    if not os.access(XSTEST, os.X_OK):
        return []
    r = subprocess.run([XSTEST, "-l"], capture_output=True, text=True,
                       timeout=TIMEOUT)
    return [l.split(":", 1)[0].strip() for l in r.stdout.splitlines() if ":" in l]


TESTS = list_tests()


def run(xsd, *args):
    return subprocess.run([XSTEST] + list(args), env=xsd.env(),
                          capture_output=True, text=True, timeout=TIMEOUT)


def test_xstest_available():
    assert os.access(XSTEST, os.X_OK), "install xen-utils-4.17"
    assert len(TESTS) >= 12, TESTS
    for name in ("read 1", "write 2000", "rm dir", "ta rmw", "ta err"):
        assert name in TESTS


@pytest.mark.parametrize("name", TESTS)
def test_xstest_single(xsd, name):
    r = run(xsd, "-t", name, "-i", "3")
    assert r.returncode == 0, "stdout:\n%s\nstderr:\n%s" % (r.stdout, r.stderr)
    assert r.stdout.startswith(name), r.stdout
    assert " ns" in r.stdout, r.stdout


def test_xstest_all(xsd):
    r = run(xsd)
    assert r.returncode == 0, "stdout:\n%s\nstderr:\n%s" % (r.stdout, r.stderr)
    reported = [l.split(":", 1)[0].strip() for l in r.stdout.splitlines() if ":" in l]
    assert reported == TESTS, r.stdout
