# SPDX-License-Identifier: GPL-2.0-only
"""Advisories whose attack needs guests over their rings (tests/xensim/).

XSA-206: a guest that rewrites, as fast as its ring allows, a node that
dom0's backend transaction reads must not starve dom0: its commit gets
through within a few retries, the flooder's writes still go (slowed), and a
guest that has nothing to do with the conflicts is not held back meanwhile.
"""

import os
import threading

import pytest

# xsa_common puts tests/integration and tests/xensim on the path.
from xsa_common import BROKER, DEADLINE, host, sim  # noqa: F401
import xensim as X  # noqa: E402
import xsraw  # noqa: E402
from conftest import wait_until  # noqa: E402

# What docs/security.md promises: a dom0 transaction commits within this many
# retries whatever guests write.
RETRIES_MAX = 5
TRANSACTIONS = 20
BYSTANDER_WRITES = 200


def start(host, kind):
    if kind == "ours":
        return host.start_daemon([BROKER, "-N"], timeout=DEADLINE)
    if not os.path.exists(X.XENSTORED):
        pytest.skip("no C xenstored")
    return host.start_xenstored(timeout=DEADLINE)


class Writer(threading.Thread):
    """A guest writing one node of its own until told to stop, or a
    given number of times, with up to ``depth`` writes in flight."""

    def __init__(self, guest, path, count=None, depth=1):
        super().__init__(daemon=True)
        self.guest, self.path, self.count = guest, path, count
        self.depth = depth
        self.sent = self.done = 0
        self.error = None
        self.stop = threading.Event()

    def _send(self):
        self.guest.send(X.WRITE, b"%s\0%d" % (self.path.encode(), self.sent))
        self.sent += 1

    def run(self):
        try:
            while self.sent - self.done < self.depth and \
                    self.sent != self.count:
                self._send()
            while self.done != self.sent:
                m = self.guest.recv()
                assert m.type == X.WRITE, m
                self.done += 1
                if not self.stop.is_set() and self.sent != self.count:
                    self._send()
        except Exception as ex:  # reported by the test's thread
            self.error = ex


def backend_transaction(c, domid):
    """The toolstack's usual backend transaction; how many retries it
    took, or None if it did not commit within RETRIES_MAX * 3 tries."""
    fe = "/local/domain/%d/device/vif/0" % domid
    be = "/local/domain/0/backend/vif/%d/0" % domid
    for tries in range(RETRIES_MAX * 3):
        t = c.tx_start()
        state = c.read(fe + "/state", t)
        c.read(fe + "/mac", t)
        c.read(be + "/frontend", t)
        c.write(be + "/state", b"4" if state else b"1", t)
        err = c.tx_end(t)
        if err is None:
            return tries
        assert err == "EAGAIN", err
    return None


# C xenstored withstands this flood too (it checks the test, not us): run
# it with XS_XSA_REFERENCE=1.
KINDS = ["ours"] + (["xenstored"] if os.environ.get("XS_XSA_REFERENCE")
                    else [])


@pytest.mark.parametrize("kind", KINDS)
def test_xsa206_guest_cannot_starve_dom0(sim, kind):
    host = sim
    d = start(host, kind)
    try:
        flooder = host.introduce(d, 5)
        bystander = host.introduce(d, 6)
        fe = "/local/domain/5/device/vif/0"
        be = "/local/domain/0/backend/vif/5/0"
        with xsraw.XsRaw(d.socket, DEADLINE) as c:
            c.write(fe + "/mac", b"00:16:3e:00:00:05")
            c.set_perms(fe, ["n5", "r0"])
            c.set_perms(fe + "/mac", ["n5", "r0"])
            c.write(be + "/frontend", fe.encode())
            flooder.write("device/vif/0/state", "1")
            flood = Writer(flooder, "device/vif/0/state", depth=8)
            other = Writer(bystander, "data/n", BYSTANDER_WRITES)
            flood.start()
            wait_until(lambda: flood.done > 10 or flood.error, DEADLINE,
                       "the flood to begin")
            other.start()
            retries = []
            try:
                for _ in range(TRANSACTIONS):
                    retries.append(backend_transaction(c, 5))
                    if retries[-1] is None:
                        break
                # The other guest is not held back with the flooder: it
                # finishes its writes while the flood still goes on.
                wait_until(lambda: not other.is_alive(), DEADLINE,
                           "the other guest's writes")
                assert flood.is_alive() and flood.error is None, flood.error
            finally:
                flood.stop.set()
                flood.join(DEADLINE)
                other.join(DEADLINE)
            assert not flood.is_alive() and flood.error is None, flood.error
            assert other.error is None, other.error
            assert other.done == BYSTANDER_WRITES
            assert None not in retries, retries
            assert max(retries) <= RETRIES_MAX, retries
            # The flooder was slowed, not stopped: its writes all went.
            assert flooder.read("device/vif/0/state") == (
                "%d" % (flood.done - 1)).encode()
        assert d.alive(), d.stderr()[-3000:]
    finally:
        host.reset()
