# SPDX-License-Identifier: GPL-2.0-only
"""XSA-353: oxenstored checked no permission but read's on the root node:
a guest could change the permissions of /, write there, list it, or
remove the whole store with RM /. Checked: each of these from a guest is
refused, the root keeps its permissions and dom0's nodes stay."""

from xsa_common import (X, dom0, host, kind, sim, start,  # noqa: F401
                        survived, z)


def test_xsa353_root_is_checked_like_any_node(sim, kind):
    d = start(sim, kind)
    with dom0(d) as c:
        c.write("/xsa/keep", "k")
        root_perms = c.get_perms("/")
    g = sim.introduce(d, 5)
    for t, payload in ((X.SET_PERMS, z("/", "b5")),
                       (X.SET_PERMS, z("/", "n5")),
                       (X.WRITE, z("/") + b"x"),
                       (X.MKDIR, z("/")),
                       (X.WRITE, z("/xsa-top") + b"x"),
                       (X.MKDIR, z("/xsa-top")),
                       (X.RM, z("/")),
                       (X.RM, z("/xsa")),
                       (X.DIRECTORY, z("/")),
                       (X.GET_PERMS, z("/"))):
        m = g.request(t, payload)
        assert m.is_error and m.strings[0] == "EACCES", (t, payload, m)
    g.write("mine", "m")
    with dom0(d) as c:
        assert c.get_perms("/") == root_perms
        assert "xsa-top" not in c.directory("/")
        assert c.read("/local/domain/5/mine") == b"m"
    survived(d, ("/xsa/keep", b"k"))
    g.close()
