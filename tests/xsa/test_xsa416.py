# SPDX-License-Identifier: GPL-2.0-only
"""XSA-416: C xenstored kept a request's temporary allocations until its
reply had been read, so a guest that sent requests with large replies and
read none made the daemon hold ever more memory. Checked: a guest that
keeps its request ring full of READs of a 2 KB node and reads nothing
has only a bounded number of them taken (the outstanding quota, 20 by
default, plus at most a ring's worth read ahead), others are served meanwhile, and every reply arrives whole and
in order once it reads."""

from xsa_common import (X, dom0, host, kind, sim, start,  # noqa: F401
                        survived)

OUTSTANDING = 20
ROUNDS = 5


def test_xsa416_unread_replies_hold_bounded_work(sim, kind):
    d = start(sim, kind)
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
    greedy = sim.introduce(d, 5)
    other = sim.introduce(d, 6)
    big = b"B" * 2000
    greedy.write("big", big)
    msg = X.HDR.pack(X.READ, 0, 0, 4) + b"big\0"
    base = greedy.ring.req_cons
    sent = 0
    with dom0(d) as c:
        for rnd in range(ROUNDS):
            while greedy.req_space() >= len(msg):
                assert greedy.put(msg) == len(msg)
                sent += 1
            greedy.notify()
            # Work of others the daemon serves meanwhile.
            for i in range(10):
                c.write("/xsa/busy", "%d" % i)
                other.write("n", "%d" % i)
                assert other.read("n") == b"%d" % i
        taken = ((greedy.ring.req_cons - base) & 0xffffffff) // len(msg)
    # A daemon that took whatever came would have taken all ROUNDS rings.
    ring = X.RING_SIZE // len(msg)
    assert taken <= OUTSTANDING + ring + 5, (taken, sent)
    assert sent > taken, (taken, sent)
    for i in range(sent):
        m = greedy.recv()
        assert m.type == X.READ and m.payload == big, (i, m)
    greedy.write("after", "a")
    survived(d, ("/xsa/keep", b"k"), ("/local/domain/5/after", b"a"),
             ("/local/domain/6/n", b"9"))
    greedy.close()
    other.close()
