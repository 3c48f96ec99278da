# SPDX-License-Identifier: GPL-2.0-only
"""XSA-38: a guest's ring indexes, which it may set to anything, must not
make the daemon read or write outside the ring: producer and consumer
further apart than the ring holds end that ring's service, no one
else's."""

from xsa_common import (X, dom0, host, kind, sim, start,  # noqa: F401
                        survived)


def test_xsa038_ring_indexes_past_the_ring(sim, kind):
    d = start(sim, kind)
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    bad = sim.introduce(d, 5)
    good = sim.introduce(d, 6)
    good.write("mine", "m")
    # Requests claimed far beyond what the ring can hold.
    bad.set_indexes(req_cons=0, req_prod=0x7fffffff)
    good.write("after", "a")
    assert good.read("mine") == b"m"
    survived(d, ("/xsa/keep", b"k"),
             ("/local/domain/6/after", b"a"))
    bad.close()
    good.close()
