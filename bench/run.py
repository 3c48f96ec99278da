#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""`make bench`: split-xenstored against Debian's C xenstored and oxenstored.

Every case (one workload at one size, over the socket or from simulated
guests) runs on each daemon in turn -- ours, C, oxenstored, ours, C, ... --
each time on a fresh daemon under the simulated hypervisor (tests/xensim/)
and a fresh simulated host.  The load comes from bench/xsload (C); this
script starts the daemons, introduces the guests, collects xsload's JSON
lines, and reports medians and ratios to C xenstored.

Ratio convention: every ratio is "times better than C xenstored", so > 1.0
means faster (higher throughput, or lower latency/time/memory) and < 1.0
slower.  For rates it is ours/C, for times and latencies C/ours.

  bench/run.py [--quick] [--repeats N] [--only SUBSTR,..] [--targets ours,c,ox,audit]

--quick (make bench-smoke) runs every workload small, once per daemon, and
fails on any error, never on a timing.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "xensim"))
import xensim as X  # noqa: E402

BUILD = os.path.abspath(os.environ.get("XS_BUILD", os.path.join(REPO, "build")))
XSLOAD = os.path.join(BUILD, "bench", "xsload")
BROKER = os.path.join(BUILD, "bin", "xs-broker")

# Quotas raised equally on all three where a workload needs it: a guest
# pipelining requests has more than C xenstored's default of 20 requests
# outstanding (oxenstored's default is already 1024).  dom0 (the socket
# clients) is not subject to quotas in any of the three.
OUTSTANDING = 1024

TARGETS = {
    "ours": "split-xenstored",
    "c": "C xenstored 4.17",
    "ox": "oxenstored 4.17",
    # Only for the throughput and pipeline cases: the cost of recording
    # every request (the audit log's budget is 10%), in its own table.
    "audit": "split-xenstored, audit on",
}


def children(pid):
    out = []
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def start_target(sim, target):
    if target == "ours":
        # XS_BENCH_OURS_ARGS: extra options, to compare settings of ours.
        d = sim.start_daemon([BROKER, "-N", "-Q", "outstanding=%d" % OUTSTANDING]
                             + os.environ.get("XS_BENCH_OURS_ARGS", "").split())
    elif target == "audit":
        # Every request and reply recorded, values hashed (the default
        # policy), to a file in the daemon's run directory.
        rundir = tempfile.mkdtemp(prefix="xsbench-audit-")
        d = sim.start_daemon([BROKER, "-N", "-Q", "outstanding=%d" % OUTSTANDING,
                              "--audit-log", os.path.join(rundir, "audit.jsonl")],
                             rundir=rundir)
        # Removed with the daemon: a log left behind would be written back
        # to disk while the next daemon is measured.
        d._owns = True
    elif target == "c":
        # No -T: tracing every request is not how it runs in production.
        d = sim.start_daemon([X.XENSTORED, "-N", "-Q",
                              "outstanding=%d" % OUTSTANDING])
    else:
        d = start_oxenstored(sim)
    # Ours: the broker, its spawner and the spawner's engine.
    pids = [d.proc.pid] + children(d.proc.pid)
    pids += [g for c in pids[1:] for g in children(c)]
    return d, pids


def start_oxenstored(sim):
    """oxenstored with Debian's /etc/xen/oxenstored.conf settings (logging
    at its defaults, but into the run directory), and the simulated dom0
    ring."""
    rundir = tempfile.mkdtemp(prefix="xsbench-oxs-")
    ring, _ = sim.dom0()
    conf = os.path.join(rundir, "oxenstored.conf")
    with open(conf, "w") as f:
        f.write("\n".join([
            "pid-file = %s/xenstored.pid" % rundir,
            "xenstored-kva = %s" % ring,
            "xenstored-port = %s/xsd_port" % sim.dir,
            "test-eagain = false",
            "merge-activate = true",
            "conflict-burst-limit = 5.0",
            "conflict-max-history-seconds = 0.05",
            "conflict-rate-limit-is-aggregate = true",
            "perms-activate = true",
            "perms-watch-activate = true",
            "quota-activate = true",
            "quota-maxentity = 1000",
            "quota-maxsize = 2048",
            "quota-maxwatch = 100",
            "quota-transaction = 10",
            "quota-maxrequests = 1024",
            "quota-path-max = 1024",
            "quota-maxoutstanding = %d" % OUTSTANDING,
            "quota-maxwatchevents = 1024",
            "persistent = false",
            "xenstored-log-file = %s/xenstored.log" % rundir,
            "access-log-file = %s/access.log" % rundir,
            ""]))
    env = dict(os.environ)
    env["XENSIM_XS_RUNDIR"] = rundir
    d = sim.start_daemon([X.OXENSTORED, "--no-fork", "--config-file", conf],
                         rundir=rundir, env=env)
    d._owns = True
    return d


def introduce_guests(sim, d, first, n):
    """The toolstack's part for n guests, without attaching to them (xsload
    does)."""
    for domid in range(first, first + n):
        gfn, port = sim.create(domid)
        home = b"/local/domain/%d" % domid
        for t, p in ((X.WRITE, home + b"\0"),
                     (X.SET_PERMS, home + b"\0n%d\0" % domid)):
            m = X.sock_request(d.socket, t, p)
            if m.is_error:
                raise X.Error("%s: %r" % (home, m))
        X.introduce(d.socket, domid, gfn, port)


# -- cases --------------------------------------------------------------------

class Case:
    """One workload at one size and mode: xsload arguments, metrics."""

    def __init__(self, name, workload, args, metrics, guests=0, repeats=None,
                 timeout=600, only=None, audited=False):
        self.name = name
        self.workload = workload
        self.args = [str(a) for a in args]
        self.metrics = metrics  # [(json key, label, unit, higher_is_better)]
        self.guests = guests
        self.repeats = repeats
        self.timeout = timeout
        self.only = only  # the targets it applies to (None: all)
        # Also run with the audit log on ("audit"), for its cost.
        self.audited = audited


# What the daemon's processes (all of them: for ours the broker, its
# spawner and the engine) spent on a CPU during the timed section, divided
# by its requests: what serving costs the rest of dom0.
CPU = ("cpu_us_per_req", "daemon CPU per request", "us", False)
LAT = [("read_p50_us", "READ p50", "us", False),
       ("read_p99_us", "READ p99", "us", False),
       ("write_p50_us", "WRITE p50", "us", False),
       ("write_p99_us", "WRITE p99", "us", False),
       ("read_ops_s", "sequential READs", "/s", True),
       CPU]
TP = [("ops_s", "requests", "/s", True), CPU]
PIPE = [("ops_s", "READs", "/s", True), CPU]
BOOT = [("secs", "total", "s", False),
        ("commits_s", "commits", "/s", True),
        ("eagain", "EAGAIN retries", "", None),
        CPU]
WATCH = [("events_s", "events", "/s", True),
         ("lag_p99_us", "lag p99", "us", False),
         ("lag_max_us", "worst lag", "us", False)]
SCALE = [("populate_s_est", "populate", "s", False),
         ("populate_rate", "populate rate", "nodes/s", True),
         ("dir_ms", "list 10k-child dir", "ms", False),
         ("rss_bytes_per_node", "RSS per node", "B", False)]
RECOVERY = [("recovery_ms", "engine killed to serving again", "ms", False),
            ("recovery_max_ms", "worst of the kills", "ms", False)]
BIGTX = [("commit_ms", "commit", "ms", False),
         ("total_ms", "start+5k writes+commit", "ms", False)]


def cases(quick):
    q = quick
    out = []
    for mode, g in (("socket", 0), ("guest", 1)):
        out.append(Case("latency/%s" % mode, "latency",
                        ["-n", 2000 if q else 20000], LAT, guests=g))
    for mode in ("socket", "guest"):
        for c in (1, 4, 16, 64):
            out.append(Case("throughput/%s/%d" % (mode, c), "throughput",
                            ["-c", c, "-k", 10000, "-s", 0.3 if q else 2],
                            TP, guests=c if mode == "guest" else 0,
                            audited=True))
    for mode, g in (("socket", 0), ("guest", 1)):
        out.append(Case("pipeline/%s" % mode, "pipeline",
                        ["-d", 64, "-n", 10000 if q else 200000], PIPE,
                        guests=g, audited=True))
    for counter in (True, False):
        for doms in ((50,) if q else (200, 1000)):
            out.append(Case("bootstorm/%d/%s" % (doms, "counter" if counter
                                                 else "disjoint"),
                            "bootstorm",
                            ["-D", doms, "-c", 16] + (["--counter"] if counter
                                                       else []), BOOT))
    for mode in ("socket", "guest"):
        w = 20 if q else 100
        out.append(Case("watch/%s" % mode, "watch",
                        ["-c", w, "-n", 500 if q else 10000], WATCH,
                        guests=w if mode == "guest" else 0))
    if q:
        out.append(Case("scale/20k", "scale", ["-k", 20000, "-b", 10, "-r", 2],
                        SCALE, repeats=1))
    else:
        for n in (100000, 1000000):
            out.append(Case("scale/%s" % ("100k" if n == 100000 else "1M"),
                            "scale", ["-k", n, "-b", 60, "-r", 5], SCALE,
                            repeats=1, timeout=1200))
    out.append(Case("bigtx/5000", "bigtx", ["-k", 5000], BIGTX))
    # Only split-xenstored survives the death of the process holding the
    # store; the target is under 100 ms with 100k nodes.
    out.append(Case("recovery/%s" % ("20k" if q else "100k"), "recovery",
                    ["-k", 20000 if q else 100000, "-r", 1 if q else 3],
                    RECOVERY, repeats=1, only=("ours",)))
    return out


def run_one(case, target, log):
    """Runs case on target in a fresh interpreter (libxsguest caches one
    context per simulated host for the life of a process)."""
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--one",
                        case.name, target],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=case.timeout + 60,
                       env=dict(os.environ, XSBENCH_QUICK="1" if QUICK else ""))
    lines = r.stdout.decode().strip().splitlines()
    if r.returncode or not lines:
        raise X.Error("%s on %s: %s" % (case.name, target, (
            lines[-1] if lines else r.stderr.decode().strip()[-1500:])))
    res = json.loads(lines[-1])
    log.write(json.dumps({"case": case.name, "target": target,
                          "result": res}) + "\n")
    log.flush()
    return res


def run_here(case, target):
    sim = X.Sim(build=os.path.join(BUILD, "xensim"))
    d = None
    try:
        d, pids = start_target(sim, target)
        args = [XSLOAD, "--socket", d.socket,
                "--pids", ",".join(map(str, pids))]
        if case.guests:
            introduce_guests(sim, d, 1, case.guests)
            args += ["--guests", "%s:1" % sim.dir]
        args += [case.workload] + case.args
        t0 = time.monotonic()
        r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=case.timeout)
        wall = time.monotonic() - t0
        out = r.stdout.decode().strip().splitlines()
        res = None
        for line in out:
            try:
                res = json.loads(line)
            except ValueError:
                pass
        if r.returncode or not res or not res.get("ok"):
            err = (res or {}).get("error") or r.stderr.decode().strip()[-500:]
            raise X.Error("%s on %s: %s" % (case.name, target, err))
        if not d.alive():
            raise X.Error("%s: %s died:\n%s" % (case.name, target,
                                                 d.stderr()[-2000:]))
        res["wall_s"] = round(wall, 3)
        return res
    finally:
        if d is not None:
            d.stop(timeout=3.0)
        sim.close()


# -- report -------------------------------------------------------------------

def fmt(v, unit):
    if v is None:
        return "-"
    if unit in ("/s", "nodes/s"):
        return "%.0f" % v if v >= 100 else "%.1f" % v
    if unit == "":
        return "%.0f" % v if abs(v) >= 10 else "%.1f" % v
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def ratio(ours, c, higher):
    if higher is None or ours is None or c is None or ours <= 0 or c <= 0:
        return None
    return ours / c if higher else c / ours


# Two groups of runs are called modes when the jump between them is this
# ratio or more while each group lies within MODE_TIGHT of itself: C
# xenstored with 1 and with 4-16 clients is fast or slow from one run to
# the next as the scheduler places it, and a median of such runs is one
# of them by chance.
MODE_GAP = 1.35
MODE_TIGHT = 1.15


def modes(vals):
    """[(median, runs), (median, runs)] low then high, or None."""
    v = sorted(vals)
    if len(v) < 3 or v[0] <= 0:
        return None
    gap, i = max((v[k + 1] / v[k], k) for k in range(len(v) - 1))
    lo, hi = v[:i + 1], v[i + 1:]
    if gap < MODE_GAP or lo[-1] / lo[0] > MODE_TIGHT or \
            hi[-1] / hi[0] > MODE_TIGHT:
        return None
    return [(statistics.median(lo), len(lo)), (statistics.median(hi), len(hi))]


class Cell:
    """One daemon's runs of one metric: median, spread, modes."""

    def __init__(self, vals):
        self.vals = sorted(vals)
        self.med = statistics.median(vals) if vals else None
        self.modes = modes(vals)


def summarise(all_cases, results, targets):
    """rows: [(case, key, label, unit, {target: Cell}, {target: ratio},
    {target: note})]."""
    rows = []
    for case in all_cases:
        per = results.get(case.name)
        if not per:
            continue
        for key, label, unit, higher in case.metrics:
            cells, extra = {}, {}
            for t in targets:
                vals = [r[key] for r in per.get(t, []) if r.get(key) is not None
                        and r[key] >= 0]
                cells[t] = Cell(vals)
                rs = per.get(t, [])
                if case.workload == "scale" and rs and rs[0].get("capped"):
                    extra[t] = "capped at %d of %d nodes after %.0f s" % (
                        rs[0]["populated"], rs[0]["nodes"], rs[0]["budget_s"])
            c = cells.get("c")
            rat = {t: ratio(cells[t].med, c.med if c else None, higher)
                   for t in targets if t != "c"}
            rows.append((case, key, label, unit, cells, rat, extra, higher))
    return rows


def audit_table(rows):
    """The audit log's cost: each audited case's first metric and its CPU
    per request, audit on against off, from the same interleaved runs."""
    lines = ["| case | metric | audit off | audit on | on / off | change |",
             "|---|---|---:|---:|---:|---:|"]
    for case, key, label, unit, cells, rat, extra, higher in rows:
        if not case.audited or key not in (case.metrics[0][0], CPU[0]):
            continue
        off, on = cells.get("ours"), cells.get("audit")
        if not off or not on or not off.med or not on.med:
            continue
        lines.append("| %s | %s | %s | %s | %.2f | %+.0f%% |" % (
            case.name, label + (" (%s)" % unit if unit else ""),
            spread(off, unit), spread(on, unit), on.med / off.med,
            (on.med / off.med - 1) * 100))
    return "\n".join(lines) + "\n" if len(lines) > 2 else ""


def spread(cell, unit):
    """The median, and the lowest and highest run where there are several."""
    if cell.med is None:
        return "-"
    if len(cell.vals) < 2:
        return fmt(cell.med, unit)
    return "%s (%s–%s)" % (fmt(cell.med, unit), fmt(cell.vals[0], unit),
                           fmt(cell.vals[-1], unit))


def mode_notes(rows, targets):
    """One line per metric where a daemon's runs fell into two modes: both,
    each with its runs, and ours against each of C xenstored's."""
    out = []
    for case, key, label, unit, cells, rat, extra, higher in rows:
        for t in targets:
            m = cells[t].modes if t in cells else None
            if not m:
                continue
            line = "`%s` %s on %s: %s in %d run%s, %s in %d run%s" % (
                case.name, label, TARGETS[t], fmt(m[0][0], unit), m[0][1],
                "s" if m[0][1] > 1 else "", fmt(m[1][0], unit), m[1][1],
                "s" if m[1][1] > 1 else "")
            ours = cells.get("ours")
            if t == "c" and ours and ours.med and higher is not None:
                line += "; ours against each: %s and %s" % tuple(
                    "%.2f" % ratio(ours.med, v, higher) for v, _ in m)
            out.append(line)
    return out


def markdown(rows, targets, meta):
    audit = "audit" in targets and "ours" in targets
    targets = [t for t in targets if t != "audit"]
    hdr = ["case", "metric"] + [TARGETS[t] for t in targets]
    rt = [t for t in targets if t != "c" and "c" in targets]
    hdr += ["%s / C" % t for t in rt]
    lines = ["| " + " | ".join(hdr) + " |",
             "|" + "|".join(["---"] * 2 + ["---:"] * (len(hdr) - 2)) + "|"]
    notes = []
    for case, key, label, unit, cells, rat, extra, higher in rows:
        row = [case.name, label + (" (%s)" % unit if unit else "")]
        for t in targets:
            v = spread(cells[t], unit)
            if cells[t].modes:
                v += " ‡"
            if extra.get(t) and key in ("populate_s_est",
                                        "rss_bytes_per_node",
                                        "populate_rate"):
                v += " *"
                note = ("`%s` on %s: %s; its populate time is "
                        "extrapolated at the rate measured so far (the rate "
                        "falls as the store grows, so the real time is "
                        "longer), RSS per node is over the nodes written" % (
                            case.name, TARGETS[t], extra[t]))
                if note not in notes:
                    notes.append(note)
            row.append(v)
        for t in rt:
            r = rat.get(t)
            row.append("-" if r is None else "%.2f" % r)
        lines.append("| " + " | ".join(row) + " |")
    out = "\n".join(lines) + "\n"
    if notes:
        out += "\n" + "\n".join("\\* " + n for n in notes) + "\n"
    mn = mode_notes(rows, targets)
    if mn:
        out += ("\n‡ Two modes: the runs fell into two groups far apart, so "
                "the median is one of them by chance:\n\n" +
                "\n".join("- " + n for n in mn) + "\n")
    out += ("\nEach figure: the median of %s, then the lowest and highest "
            "run. Ratios (medians): times better than C xenstored (> 1.0 is "
            "better: rates ours/C, times, latencies and CPU C/ours).\n"
            % meta["repeats_text"])
    at = audit_table(rows) if audit else ""
    if at:
        out += ("\nThe audit log's cost (`--audit-log` in the daemon's run "
                "directory, the default policy: values hashed), from the "
                "same runs:\n\n" + at)
    return out


def plot(rows, targets, outdir):
    """bench/plot.gp draws the ratios of ours and oxenstored to C."""
    dat = os.path.join(outdir, "latest.dat")
    rt = [t for t in ("ours", "ox") if t in targets]
    nrows = 0
    with open(dat, "w") as f:
        f.write("# label " + " ".join(rt) + "\n")
        for case, key, label, unit, cells, rat, extra, higher in rows:
            if key == CPU[0]:
                continue
            if case.workload == "latency" and key not in ("read_p50_us",
                                                         "write_p50_us"):
                continue
            if case.workload == "scale" and key not in ("populate_rate",
                                                       "rss_bytes_per_node",
                                                       "dir_ms"):
                continue
            if case.workload == "watch" and key == "lag_p99_us":
                continue
            if all(rat.get(t) is None for t in rt):
                continue
            name = "%s %s" % (case.name, label)
            nrows += 1
            f.write('"%s" %s\n' % (name.replace('"', "'"), " ".join(
                "%.4f" % rat[t] if rat.get(t) else "NaN" for t in rt)))
    png = os.path.join(outdir, "latest.png")
    if nrows == 0:
        return None  # nothing compared to C xenstored in this run
    if not shutil.which("gnuplot"):
        print("gnuplot not found: no plot", file=sys.stderr)
        return None
    subprocess.run(["gnuplot", "-e", "datafile='%s'; outfile='%s'" % (dat, png),
                    os.path.join(HERE, "plot.gp")], check=True)
    return png


QUICK = False

DOCS = os.path.join(REPO, "docs", "bench.md")
BEGIN = "<!-- results: written by make bench from here -->"
END = "<!-- results: written by make bench up to here -->"


def write_docs(md, meta, png):
    """Replaces the results part of docs/bench.md (between BEGIN and END);
    the rest of the page says what the workloads are and is written by
    hand."""
    with open(DOCS) as f:
        page = f.read()
    if BEGIN not in page or END not in page:
        sys.exit("%s: no %s ... %s" % (DOCS, BEGIN, END))
    head, rest = page.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    body = ["", "Produced by `%s` (%.0f s) on %s, %s." % (
        meta["command"], meta["total_s"], meta["machine"], meta["date"]), ""]
    if png:
        shutil.copyfile(png, os.path.join(REPO, "docs", "bench.png"))
        body += ["![ratios of the medians to C xenstored](bench.png)", "",
                 ""]
    with open(DOCS, "w") as f:
        f.write(head + BEGIN + "\n" + "\n".join(body) + md + "\n" + END +
                tail)


def one(name, target):
    """--one: a single run, its JSON result on stdout, errors as text."""
    for case in cases(QUICK):
        if case.name == name:
            try:
                print(json.dumps(run_here(case, target)))
            except (X.Error, OSError, subprocess.TimeoutExpired) as e:
                print(str(e).replace("\n", " | "))
                sys.exit(1)
            return
    sys.exit("no case %s" % name)


def private_netns():
    """The simulator's event queues long enough (xensim.private_netns)."""
    if not X.private_netns("XSBENCH_NETNS", __file__):
        print("warning: not root: guest workloads with more than 10 guests "
              "are slowed by the simulator's event queue", file=sys.stderr)


def main():
    global QUICK
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        QUICK = os.environ.get("XSBENCH_QUICK") == "1"
        one(sys.argv[2], sys.argv[3])
        return
    private_netns()
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true",
                    help="small sizes, one run per daemon (make bench-smoke)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", default="",
                    help="comma-separated substrings of case names")
    ap.add_argument("--targets", default="ours,c,ox,audit")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--no-docs", dest="docs", action="store_false",
                    help="leave docs/bench.md as it is after a whole run")
    a = ap.parse_args()
    targets = [t for t in a.targets.split(",") if t]
    for t in targets:
        if t not in TARGETS:
            ap.error("unknown target %s" % t)
    QUICK = a.quick
    repeats = 1 if a.quick else a.repeats
    all_cases = cases(a.quick)
    if a.only:
        want = a.only.split(",")
        all_cases = [c for c in all_cases if any(w in c.name for w in want)]
    for p in (XSLOAD, BROKER):
        if not os.path.exists(p):
            sys.exit("%s missing: make it first" % p)
    os.makedirs(a.out, exist_ok=True)
    tag = "smoke" if a.quick else "latest"
    raw_path = os.path.join(a.out, tag + ".raw.jsonl")
    results = {}
    t_start = time.monotonic()
    failures = []
    with open(raw_path, "w") as log:
        for case in all_cases:
            n = case.repeats if case.repeats and not a.quick else repeats
            for rep in range(n):
                for t in targets:  # interleaved: ours, C, ox, ours, ...
                    if case.only and t not in case.only:
                        continue
                    if t == "audit" and not case.audited:
                        continue
                    t0 = time.monotonic()
                    try:
                        res = run_one(case, t, log)
                    except (X.Error, OSError, subprocess.TimeoutExpired) as e:
                        failures.append(str(e))
                        print("FAIL %-28s %-5s %s" % (case.name, t, e),
                              flush=True)
                        continue
                    results.setdefault(case.name, {}).setdefault(t, []).append(res)
                    key = case.metrics[0][0]
                    print("%-28s %-5s run %d/%d  %s=%s  (%.1fs)" % (
                        case.name, t, rep + 1, n, key, res.get(key),
                        time.monotonic() - t0), flush=True)
    total = time.monotonic() - t_start
    meta = {
        "command": "make bench-smoke" if a.quick else "make bench",
        "machine": X.machine(),
        "repeats_text": ("1 run (quick mode)" if a.quick else
                         "%d runs per daemon, interleaved (scale: 1 run, "
                         "populating stops after 60 s)" % repeats),
        "total_s": round(total, 1),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    rows = summarise(all_cases, results, targets)
    md = markdown(rows, targets, meta)
    head = ("# split-xenstored benchmark (%s)\n\n`%s` on %s, %s; %.0f s.\n\n"
            % (tag, meta["command"], meta["machine"], meta["date"], total))
    with open(os.path.join(a.out, tag + ".md"), "w") as f:
        f.write(head + md)
    with open(os.path.join(a.out, tag + ".json"), "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    print()
    print(md)
    png = None
    if not a.quick and not failures:
        png = plot(rows, targets, a.out)
        if png:
            print("plot: %s" % os.path.relpath(png, REPO))
    # Only a whole run, every workload on every daemon, may stand for the
    # project's figures: the page is rewritten from it and nothing else.
    if (not a.quick and not a.only and not failures and a.docs and
            set(targets) == set(TARGETS)):
        write_docs(md, meta, png)
        print("docs: docs/bench.md")
    print("results: %s" % os.path.relpath(os.path.join(a.out, tag + ".md"), REPO))
    if failures:
        print("\n%d FAILED:\n  %s" % (len(failures), "\n  ".join(failures)))
        sys.exit(1)
    if a.quick:
        print("bench-smoke: every workload completed correctly on %s (%.0f s)"
              % (", ".join(TARGETS[t] for t in targets), total))


if __name__ == "__main__":
    main()
