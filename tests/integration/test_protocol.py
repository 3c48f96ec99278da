# SPDX-License-Identifier: GPL-2.0-only
"""Raw wire protocol: each message type's success and error replies, as C
xenstored 4.17 gives them (docs/misc/xenstore.txt)."""

import pytest

from xsraw import (CONTROL, DIRECTORY, DIRECTORY_PART, ERROR, GET_DOMAIN_PATH,
                   GET_PERMS, GET_QUOTA, IS_DOMAIN_INTRODUCED, MKDIR, READ,
                   RESET_WATCHES, RM, SET_PERMS, TRANSACTION_END,
                   TRANSACTION_START, UNWATCH, WATCH, WATCH_EVENT, WRITE, z)


@pytest.fixture
def c(xsd):
    with xsd.raw() as conn:
        yield conn


# -- READ / WRITE / MKDIR / RM ------------------------------------------------

def test_write_read_exact(c, base):
    c.write(base + "/k", b"value")
    m = c.request(READ, z(base + "/k"))
    assert (m.type, m.payload) == (READ, b"value")


def test_write_binary_value_with_nul(c, base):
    c.write(base + "/bin", b"a\0b\xff")
    assert c.read(base + "/bin") == b"a\0b\xff"


def test_write_empty_value(c, base):
    c.write(base + "/e", b"")
    m = c.request(READ, z(base + "/e"))
    assert (m.type, m.payload) == (READ, b"")


def test_write_creates_parents_with_empty_values(c, base):
    c.write(base + "/p/q/r", b"x")
    assert c.read(base + "/p") == b""
    assert c.read(base + "/p/q") == b""


def test_overwrite(c, base):
    c.write(base + "/o", b"1")
    c.write(base + "/o", b"22")
    assert c.read(base + "/o") == b"22"


def test_read_missing_enoent(c, base):
    assert c.err(READ, z(base + "/missing")) == "ENOENT"


def test_read_root(c):
    m = c.request(READ, z("/"))
    assert m.type == READ


BAD_PATHS = ["/a b", "//", "/a//b", "/a/", "", "/local/domain/", "/a\x01",
             "/a*", "/é"]


@pytest.mark.parametrize("path", BAD_PATHS)
def test_invalid_path_einval(c, path):
    p = path.encode("utf-8")
    assert c.err(READ, p + b"\0") == "EINVAL"
    assert c.err(WRITE, p + b"\0v") == "EINVAL"
    assert c.err(MKDIR, p + b"\0") == "EINVAL"
    assert c.err(DIRECTORY, p + b"\0") == "EINVAL"
    assert c.err(GET_PERMS, p + b"\0") == "EINVAL"


def test_write_special_path_einval(c):
    assert c.err(WRITE, z("@foo") + b"1") == "EINVAL"


def test_valid_punctuation(c, base):
    p = base + "/A-z_0@9"
    c.write(p, b"ok")
    assert c.read(p) == b"ok"


def test_mkdir(c, base):
    c.mkdir(base + "/m/n")
    assert c.read(base + "/m/n") == b""
    c.write(base + "/m", b"keep")
    c.mkdir(base + "/m")
    assert c.read(base + "/m") == b"keep"


def test_rm_root_einval(c):
    assert c.err(RM, z("/")) == "EINVAL"


def test_rm_subtree(c, base):
    c.write(base + "/t/a/b", b"1")
    c.write(base + "/t/c", b"2")
    c.rm(base + "/t")
    assert c.err(READ, z(base + "/t/a/b")) == "ENOENT"
    assert c.err(READ, z(base + "/t")) == "ENOENT"
    assert "t" not in c.directory(base)


def test_rm_missing_parent_exists_ok(c, base):
    c.mkdir(base)
    assert c.request(RM, z(base + "/nope")).payload == b"OK\0"


def test_rm_missing_parent_missing_enoent(c, base):
    assert c.err(RM, z(base + "/nope/nope")) == "ENOENT"


# -- DIRECTORY / DIRECTORY_PART -------------------------------------------------

def test_directory(c, base):
    for n in ("zz", "aa", "mm"):
        c.write(base + "/d/" + n, b"1")
    c.write(base + "/d/aa/deeper", b"1")
    m = c.request(DIRECTORY, z(base + "/d"))
    assert m.type == DIRECTORY
    # "name\0" per child, no extra terminator; order is not specified.
    assert m.payload.endswith(b"\0") and not m.payload.endswith(b"\0\0")
    assert sorted(m.strings) == ["aa", "mm", "zz"]


def test_directory_empty(c, base):
    c.mkdir(base + "/leaf")
    m = c.request(DIRECTORY, z(base + "/leaf"))
    assert (m.type, m.payload) == (DIRECTORY, b"")


def test_directory_missing(c, base):
    assert c.err(DIRECTORY, z(base + "/missing")) == "ENOENT"


def _dir_part(c, path, off):
    m = c.request(DIRECTORY_PART, z(path, str(off)))
    assert m.type == DIRECTORY_PART, m
    gen, rest = m.payload.split(b"\0", 1)
    assert gen.isdigit(), m
    return gen, rest


def test_directory_part_small(c, base):
    for n in ("zz", "aa", "mm"):
        c.write(base + "/dp/" + n, b"1")
    gen, rest = _dir_part(c, base + "/dp", 0)
    # complete list: each name NUL-terminated plus a final empty string
    assert rest.endswith(b"\0\0")
    names = rest[:-2].split(b"\0")
    assert sorted(names) == [b"aa", b"mm", b"zz"]
    # offset is a byte offset into that list
    first = names[0]
    gen2, rest2 = _dir_part(c, base + "/dp", len(first) + 1)
    assert gen2 == gen
    assert rest2 == rest[len(first) + 1:]
    # offset at the end: just the terminator
    gen3, rest3 = _dir_part(c, base + "/dp", len(rest) - 1)
    assert (gen3, rest3) == (gen, b"\0")


def test_directory_part_paging(c, base):
    names = ["child-%04d-%s" % (i, "x" * 20) for i in range(300)]
    for n in names:
        c.write(base + "/big/" + n, b"")
    off, got, gens, rounds = 0, [], set(), 0
    while True:
        rounds += 1
        assert rounds < 50
        gen, rest = _dir_part(c, base + "/big", off)
        gens.add(gen)
        if rest.endswith(b"\0\0") or rest == b"\0":
            got += [x for x in rest[:-2].split(b"\0") if x] if rest != b"\0" else []
            break
        assert rest.endswith(b"\0"), "a page must end on a whole name"
        got += rest[:-1].split(b"\0")
        off += len(rest)
    assert rounds > 1, "9000 bytes of names must need several pages"
    assert len(gens) == 1
    assert sorted(x.decode() for x in got) == sorted(names)


def test_directory_part_generation_changes(c, base):
    c.write(base + "/g/a", b"")
    gen1, _ = _dir_part(c, base + "/g", 0)
    c.write(base + "/g/b", b"")
    gen2, rest = _dir_part(c, base + "/g", 0)
    assert gen1 != gen2
    assert sorted(rest[:-2].split(b"\0")) == [b"a", b"b"]


def test_directory_part_errors(c, base):
    assert c.err(DIRECTORY_PART, z(base + "/missing", "0")) == "ENOENT"
    c.mkdir(base + "/x")
    assert c.err(DIRECTORY_PART, z(base + "/x")) == "EINVAL"


# -- permissions ----------------------------------------------------------------

def test_get_perms_default(c, base):
    c.write(base + "/p", b"1")
    m = c.request(GET_PERMS, z(base + "/p"))
    assert (m.type, m.payload) == (GET_PERMS, b"n0\0")


def test_set_get_perms(c, base):
    c.write(base + "/x", b"1")
    m = c.request(SET_PERMS, z(base + "/x", "b0", "r1"))
    assert (m.type, m.payload) == (SET_PERMS, b"OK\0")
    m = c.request(GET_PERMS, z(base + "/x"))
    assert (m.type, m.payload) == (GET_PERMS, b"b0\0r1\0")


def test_set_perms_all_kinds(c, base):
    c.write(base + "/y", b"1")
    c.set_perms(base + "/y", ["n0", "r1", "w2", "b3"])
    assert c.get_perms(base + "/y") == ["n0", "r1", "w2", "b3"]


def test_new_child_inherits_parent_perms(c, base):
    c.write(base + "/inh", b"")
    c.set_perms(base + "/inh", ["n0", "r7"])
    c.write(base + "/inh/kid", b"1")
    assert c.get_perms(base + "/inh/kid") == ["n0", "r7"]


def test_set_perms_owner_not_introduced_enoent(c, base):
    # The owner must be a known domain (dom0 is; domain 5 was never
    # introduced), so stale domids cannot own nodes.
    c.write(base + "/own", b"1")
    assert c.err(SET_PERMS, z(base + "/own", "n5", "r0")) == "ENOENT"
    assert c.get_perms(base + "/own") == ["n0"]


@pytest.mark.parametrize("perms", [["x0"], [], ["b"], ["0"]])
def test_set_perms_invalid(c, base, perms):
    c.write(base + "/z", b"1")
    assert c.err(SET_PERMS, z(base + "/z", *perms)) == "EINVAL"
    assert c.get_perms(base + "/z") == ["n0"]


def test_perms_missing_node(c, base):
    assert c.err(GET_PERMS, z(base + "/missing")) == "ENOENT"
    assert c.err(SET_PERMS, z(base + "/missing", "n0")) == "ENOENT"


# -- watches ----------------------------------------------------------------------

def test_watch_initial_event(c, base):
    m = c.request(WATCH, z(base + "/w", "tok"))
    assert (m.type, m.payload) == (WATCH, b"OK\0")
    ev = c.wait_event()
    assert (ev.type, ev.req_id, ev.tx_id) == (WATCH_EVENT, 0, 0)
    assert ev.payload == z(base + "/w", "tok")
    c.unwatch(base + "/w", "tok")


def test_watch_fires_for_child_write(xsd, c, base):
    c.watch(base + "/wp", "t1")
    assert c.wait_event().payload == z(base + "/wp", "t1")
    with xsd.raw() as other:
        other.write(base + "/wp/child/grand", b"1")
    paths = set()
    while base + "/wp/child/grand" not in paths:
        ev = c.wait_event()
        s = ev.strings
        assert s[1] == "t1" and s[0].startswith(base + "/wp")
        paths.add(s[0])
    c.unwatch(base + "/wp", "t1")


def test_watch_not_fired_for_sibling(c, base):
    c.watch(base + "/ws/a", "t")
    c.wait_event()
    c.write(base + "/ws/b", b"1")
    c.write(base + "/ws/a", b"1")
    ev = c.wait_event()
    assert ev.payload == z(base + "/ws/a", "t")


def test_watch_rm_event(xsd, c, base):
    c.write(base + "/wr/x", b"1")
    c.watch(base + "/wr", "t")
    c.wait_event()
    c.rm(base + "/wr")
    seen = set()
    while base + "/wr" not in seen:
        s = c.wait_event().strings
        assert s[1] == "t" and s[0].startswith(base + "/wr")
        seen.add(s[0])


def test_watch_duplicate_eexist(c, base):
    c.watch(base + "/dup", "t")
    assert c.err(WATCH, z(base + "/dup", "t")) == "EEXIST"
    # another token on the same path is fine
    c.watch(base + "/dup", "t2")


def test_unwatch_unknown_enoent(c, base):
    assert c.err(UNWATCH, z(base + "/never", "t")) == "ENOENT"
    c.watch(base + "/uw", "t")
    assert c.err(UNWATCH, z(base + "/uw", "other")) == "ENOENT"
    c.unwatch(base + "/uw", "t")
    assert c.err(UNWATCH, z(base + "/uw", "t")) == "ENOENT"


def test_unwatch_stops_events(c, base):
    c.watch(base + "/us", "t")
    c.wait_event()
    c.unwatch(base + "/us", "t")
    c.write(base + "/us", b"1")
    c.read(base + "/us")
    assert c.no_event()


def test_watch_special_path(c):
    m = c.request(WATCH, z("@releaseDomain", "rd"))
    assert (m.type, m.payload) == (WATCH, b"OK\0")
    assert c.wait_event().payload == z("@releaseDomain", "rd")
    c.unwatch("@releaseDomain", "rd")


def test_reset_watches(c, base):
    c.watch(base + "/rw", "t")
    c.wait_event()
    m = c.request(RESET_WATCHES, b"")
    assert (m.type, m.payload) == (RESET_WATCHES, b"OK\0")
    c.write(base + "/rw", b"1")
    c.read(base + "/rw")
    assert c.no_event()
    # the watch is gone, so it can be added again
    c.watch(base + "/rw", "t")


# -- transactions -----------------------------------------------------------------

def test_transaction_start_id(c):
    m = c.request(TRANSACTION_START, b"\0")
    assert m.type == TRANSACTION_START
    assert m.payload.endswith(b"\0") and m.payload[:-1].isdigit()
    tid = int(m.payload[:-1])
    assert tid != 0
    assert c.tx_end(tid, False) is None


def test_transaction_commit_and_isolation(xsd, c, base):
    tid = c.tx_start()
    c.write(base + "/tx", b"1", tx_id=tid)
    assert c.read(base + "/tx", tx_id=tid) == b"1"
    assert c.err(READ, z(base + "/tx")) == "ENOENT"
    assert c.tx_end(tid) is None
    assert c.read(base + "/tx") == b"1"


def test_transaction_abort(c, base):
    tid = c.tx_start()
    c.write(base + "/ab", b"1", tx_id=tid)
    assert c.tx_end(tid, commit=False) is None
    assert c.err(READ, z(base + "/ab")) == "ENOENT"
    # the id is gone
    assert c.err(READ, z(base + "/ab"), tx_id=tid) == "ENOENT"


def test_unknown_tx_id_enoent(c, base):
    c.write(base + "/u", b"1")
    assert c.err(READ, z(base + "/u"), tx_id=0x7777) == "ENOENT"
    assert c.err(WRITE, z(base + "/u") + b"2", tx_id=0x7777) == "ENOENT"
    assert c.err(TRANSACTION_END, b"T\0", tx_id=0x7777) == "ENOENT"
    assert c.read(base + "/u") == b"1"


def test_transaction_end_without_tx_enoent(c):
    assert c.err(TRANSACTION_END, b"T\0") == "ENOENT"


def test_transaction_end_bad_arg_einval(c):
    tid = c.tx_start()
    assert c.err(TRANSACTION_END, b"X\0", tx_id=tid) == "EINVAL"
    assert c.tx_end(tid, False) is None


def test_transactions_disjoint_same_parent_both_commit(xsd, base):
    with xsd.raw() as a, xsd.raw() as b:
        a.mkdir(base + "/par")
        ta, tb = a.tx_start(), b.tx_start()
        a.write(base + "/par/fe", b"1", tx_id=ta)
        b.write(base + "/par/be", b"2", tx_id=tb)
        assert a.tx_end(ta) is None
        assert b.tx_end(tb) is None
        assert a.read(base + "/par/fe") == b"1"
        assert a.read(base + "/par/be") == b"2"


def test_transactions_disjoint_existing_nodes_both_commit(xsd, base):
    with xsd.raw() as a, xsd.raw() as b:
        a.write(base + "/q/a", b"1")
        a.write(base + "/q/b", b"1")
        ta, tb = a.tx_start(), b.tx_start()
        a.write(base + "/q/a", b"2", tx_id=ta)
        b.write(base + "/q/b", b"2", tx_id=tb)
        assert a.tx_end(ta) is None
        assert b.tx_end(tb) is None


def test_transaction_read_then_conflict_eagain(xsd, base):
    with xsd.raw() as a, xsd.raw() as b:
        a.write(base + "/n", b"0")
        ta, tb = a.tx_start(), b.tx_start()
        assert a.read(base + "/n", tx_id=ta) == b"0"
        a.write(base + "/other", b"x", tx_id=ta)
        b.write(base + "/n", b"1", tx_id=tb)
        assert b.tx_end(tb) is None
        assert a.tx_end(ta) == "EAGAIN"
        assert a.err(READ, z(base + "/other")) == "ENOENT"
        assert a.read(base + "/n") == b"1"


def test_transaction_conflict_with_plain_write(xsd, base):
    with xsd.raw() as a, xsd.raw() as b:
        a.write(base + "/n", b"0")
        ta = a.tx_start()
        a.read(base + "/n", tx_id=ta)
        a.write(base + "/n", b"tx", tx_id=ta)
        b.write(base + "/n", b"direct")
        assert a.tx_end(ta) == "EAGAIN"
        assert a.read(base + "/n") == b"direct"


def test_transaction_watch_fires_on_commit_only(xsd, c, base):
    c.watch(base + "/tw", "t")
    c.wait_event()
    with xsd.raw() as w:
        tid = w.tx_start()
        w.write(base + "/tw/x", b"1", tx_id=tid)
        c.read("/")
        assert c.no_event()
        assert w.tx_end(tid) is None
    assert c.wait_event().payload == z(base + "/tw/x", "t")


# -- misc types -------------------------------------------------------------------

def test_unknown_type_enosys(c):
    assert c.err(99, b"x\0") == "ENOSYS"


def test_get_domain_path(c):
    m = c.request(GET_DOMAIN_PATH, z("5"))
    assert (m.type, m.payload) == (GET_DOMAIN_PATH, b"/local/domain/5\0")
    m = c.request(GET_DOMAIN_PATH, z("0"))
    assert m.payload == b"/local/domain/0\0"


def test_get_domain_path_no_arg_einval(c):
    assert c.err(GET_DOMAIN_PATH, b"") == "EINVAL"


def test_is_domain_introduced(c):
    m = c.request(IS_DOMAIN_INTRODUCED, z("0"))
    assert (m.type, m.payload) == (IS_DOMAIN_INTRODUCED, b"T\0")
    m = c.request(IS_DOMAIN_INTRODUCED, z("7"))
    assert (m.type, m.payload) == (IS_DOMAIN_INTRODUCED, b"F\0")


def test_control_help(c):
    m = c.request(CONTROL, z("help"))
    assert m.type == CONTROL
    text = m.payload.rstrip(b"\0").decode()
    words = [line.split()[0] for line in text.splitlines() if line.strip()
             and not line[0].isspace()]
    for cmd in ("check", "log", "quota"):
        assert cmd in words, text


def test_control_errors(c):
    assert c.err(CONTROL, b"") == "EINVAL"
    assert c.err(CONTROL, z("no-such-command")) == "EINVAL"


def test_get_quota_lists_names(c):
    m = c.request(GET_QUOTA, b"")
    assert m.type == GET_QUOTA, m
    names = m.payload.rstrip(b"\0").decode().split()
    for q in ("nodes", "watches", "transactions", "node-size", "permissions"):
        assert q in names, names


def test_get_quota_value(c):
    m = c.request(GET_QUOTA, z("nodes"))
    assert m.type == GET_QUOTA, m
    assert m.payload.endswith(b"\0") and m.payload[:-1].isdigit()


# -- read-only socket --------------------------------------------------------------

RO_MODIFYING = [
    (WRITE, lambda p: z(p) + b"v"),
    (MKDIR, lambda p: z(p)),
    (RM, lambda p: z(p)),
    (SET_PERMS, lambda p: z(p, "b0")),
]


@pytest.mark.parametrize("type_,payload", RO_MODIFYING,
                         ids=["WRITE", "MKDIR", "RM", "SET_PERMS"])
def test_ro_socket_erofs(xsd, base, type_, payload):
    xsd.require_ro()
    with xsd.raw() as rw:
        rw.write(base + "/ro", b"orig")
    with xsd.raw(ro=True) as ro:
        assert ro.err(type_, payload(base + "/ro")) == "EROFS"
        assert ro.read(base + "/ro") == b"orig"
    with xsd.raw() as rw:
        assert rw.read(base + "/ro") == b"orig"
        assert rw.get_perms(base + "/ro") == ["n0"]


def test_ro_socket_transaction(xsd, base):
    """A read-only client may be refused a transaction (EROFS) or get one
    that can only read: every modification inside it is EROFS and ending
    it changes nothing."""
    xsd.require_ro()
    with xsd.raw() as rw:
        rw.write(base + "/rot", b"orig")
    with xsd.raw(ro=True) as ro:
        m = ro.request(TRANSACTION_START, b"\0")
        if m.type == ERROR:
            assert m.payload == b"EROFS\0"
            return
        assert m.type == TRANSACTION_START and m.payload[:-1].isdigit(), m
        tid = int(m.payload[:-1])
        assert ro.read(base + "/rot", tx_id=tid) == b"orig"
        assert ro.err(WRITE, z(base + "/rot") + b"new", tx_id=tid) == "EROFS"
        assert ro.err(MKDIR, z(base + "/rot/d"), tx_id=tid) == "EROFS"
        assert ro.err(RM, z(base + "/rot"), tx_id=tid) == "EROFS"
        assert ro.tx_end(tid) is None
    with xsd.raw() as rw:
        assert rw.read(base + "/rot") == b"orig"
        assert rw.directory(base + "/rot") == []


def test_ro_socket_reads(xsd, base):
    xsd.require_ro()
    with xsd.raw() as rw:
        rw.write(base + "/r/a", b"1")
    with xsd.raw(ro=True) as ro:
        assert ro.read(base + "/r/a") == b"1"
        assert ro.directory(base + "/r") == ["a"]
        assert ro.get_perms(base + "/r/a") == ["n0"]
        assert ro.err(READ, z(base + "/r/missing")) == "ENOENT"
        ro.watch(base + "/r", "t")
        assert ro.wait_event().payload == z(base + "/r", "t")
        with xsd.raw() as rw:
            rw.write(base + "/r/a", b"2")
        assert ro.wait_event().payload == z(base + "/r/a", "t")


# -- path length -----------------------------------------------------------------------

def test_deep_path_create_list_remove(c, base):
    # 1024 levels: the longest path of "/a" components (2048 chars) C
    # xenstored 4.17 lets dom0 create outside /local/domain.
    root = "/deep%d" % abs(hash(base) % 100000)
    path = root + "/a" * ((2048 - len(root)) // 2)
    assert len(path) <= 2048
    c.write(path, b"bottom")
    assert c.read(path) == b"bottom"
    parent = path[:-2]
    assert c.directory(parent) == ["a"]
    c.rm(root)
    assert c.err(READ, z(path)) == "ENOENT"
    assert c.err(READ, z(root)) == "ENOENT"


def test_deep_path_under_domain(c):
    # Under /local/domain/<id> the 2048 limit counts from the domain's home.
    home = "/local/domain/1"
    path = home + "/a" * 1024
    c.write(path, b"x")
    assert c.read(path) == b"x"
    assert c.directory(path[:-2]) == ["a"]
    c.rm(home + "/a")
    assert c.err(READ, z(path)) == "ENOENT"


def test_path_longer_than_abs_max_einval(c):
    p = "/" + "b" * 3072
    assert c.err(WRITE, z(p) + b"v") == "EINVAL"
    assert c.err(READ, z(p)) == "EINVAL"
