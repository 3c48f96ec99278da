# SPDX-License-Identifier: GPL-2.0-only
"""libxenstore (C) through tests/tools/xs_client.c."""

import os
import subprocess

from conftest import tool

TIMEOUT = 120


def run_client(xsd, base):
    exe = tool("xs_client")
    assert os.access(exe, os.X_OK), "%s not built (make integration builds it)" % exe
    return subprocess.run([exe, base], env=xsd.env(), capture_output=True,
                          text=True, timeout=TIMEOUT)


EXPECTED_CHECKS = [
    "write", "read", "read-missing-enoent", "mkdir", "directory", "rm",
    "rm-gone", "rm-missing-parent-enoent", "get-perms-default", "set-perms",
    "get-perms-after-set", "tx-start", "tx-read-own-write", "tx-isolated",
    "tx-commit", "tx-committed-visible", "tx-abort", "tx-abort-discarded",
    "tx-conflict-read", "tx-conflict-eagain", "tx-conflict-kept-other",
    "watch", "watch-initial-event", "watch-child-event", "unwatch",
    "unwatch-no-event", "unwatch-unknown-enoent", "domain-path-0",
    "domain-path-7", "dom0-introduced", "dom9-not-introduced", "cleanup",
]


def test_xs_client(xsd, base):
    r = run_client(xsd, base)
    lines = r.stdout.splitlines()
    failed = [l for l in lines if l.startswith("FAIL")]
    assert not failed, "\n".join(failed) + "\nstderr: " + r.stderr
    assert r.returncode == 0, r.stdout + r.stderr
    passed = [l[3:] for l in lines if l.startswith("ok ")]
    assert passed == EXPECTED_CHECKS
    assert lines[-1] == "PASSED: 0 failure(s)"


def test_xs_client_leaves_nothing(xsd, base):
    r = run_client(xsd, base)
    assert r.returncode == 0, r.stdout + r.stderr
    with xsd.raw() as c:
        assert c.err(2, (base + "\0").encode()) == "ENOENT"


def test_xs_client_concurrent(xsd, base):
    procs = [subprocess.Popen([tool("xs_client"), "%s/%d" % (base, i)],
                              env=xsd.env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
             for i in range(4)]
    for p in procs:
        out, _ = p.communicate(timeout=TIMEOUT)
        assert p.returncode == 0, out
