# SPDX-License-Identifier: GPL-2.0-only
"""XSA-420: a request header claiming between 1 and 2 GiB of payload
turned negative in oxenstored's 31-bit integers; the exception it raised
left the packet on the ring, to be raised again on every later pass: a
livelock. Here guests send headers with such lengths (and others past the
payload maximum): each has its own connection marked broken, while the
daemon and every other guest are served all along."""

import time

from xsa_common import (DEADLINE, X, dom0, host, kind, sim,  # noqa: F401
                        start, survived)

LENGTHS = (0x40000000, 0x40000001, 0x7fffffff, 0x80000000, 0xffffffff,
           X.PAYLOAD_MAX + 1)


def test_xsa420_payload_length_beyond_31_bits(sim, kind):
    d = start(sim, kind)
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    good = sim.introduce(d, 6)
    good.write("mine", "m")
    bad = []
    for i, n in enumerate(LENGTHS):
        g = sim.introduce(d, 10 + i)
        g.write("before", "b")
        g.send(X.WRITE, b"x\0y", length=n)
        g.notify()
        bad.append(g)
        # Served between each: the daemon does not spin on the packet.
        good.write("n%d" % i, str(n))
        assert good.read("mine") == b"m"
    # Each bad connection is marked broken, as the fix has it.
    deadline = time.monotonic() + DEADLINE
    for g in bad:
        while g.error == 0:
            assert time.monotonic() < deadline, "dom%d not marked" % g.domid
            g.wait_event(0.05)
    survived(d, ("/xsa/keep", b"k"), ("/local/domain/6/mine", b"m"),
             *(("/local/domain/6/n%d" % i, str(n).encode())
               for i, n in enumerate(LENGTHS)))
    for g in bad:
        g.close()
    good.close()
