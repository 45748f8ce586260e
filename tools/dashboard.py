#!/usr/bin/env python3
"""weft's benchmark dashboard: one self-contained HTML page from result files.

    dashboard.py [FILES or DIRS...] [--out PATH] [--quiet]
    dashboard.py --compare A.json B.json     # the A/B view as text

Reads Google Benchmark JSON written by `tools/run bench` (default: every
result under results/), writes one HTML page with everything inlined (no
network: the page's script and style come from tools/dashboard/page.*),
prints its path and, per machine, the bars of tools/bars.json met or missed
by that machine's latest run.

The page: per primitive/case, items/s against thread count (one line per
implementation, median of the repetitions, min-max band), CPU ns per item
beside it, latency percentiles for the rows that record them, the ratio
table weft / each baseline, the bars met or missed, machine and run
selectors, the machine context of the run, and an A/B view of any two runs
whose changes are tested with the Mann-Whitney U test over the repetitions
(the same test is implemented here, in mann_whitney(), and in the page).
"""
import argparse
import datetime
import fnmatch
import json
import math
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE_DIR = os.path.join(ROOT, "tools", "dashboard")
BARS_FILE = os.path.join(ROOT, "tools", "bars.json")
DEFAULT_OUT = os.path.join(os.environ.get("WEFT_BUILD_ROOT") or os.path.join(ROOT, "build"),
                           "dashboard", "index.html")

# Two-sided significance level of the A/B view's Mann-Whitney U test.
ALPHA = 0.05
# Suffix of a latency row's case (bench/shim.h, "Latency").
LAT_SUFFIX = "_lat"
LAT_KEYS = (("p50", "weft_lat_p50_ns"), ("p99", "weft_lat_p99_ns"),
            ("p99.9", "weft_lat_p999_ns"))
# Steal time (the hypervisor running other work, weft_steal_pct) above which
# the bar summary warns that the run's figures are not comparable.
STEAL_NOTE_PCT = 2.0
CONTEXT_KEYS = ("weft_condition", "weft_machine", "weft_cpu_model", "weft_cores", "weft_cpus_usable",
                "weft_kernel", "weft_compiler", "weft_cflags", "weft_build_type",
                "weft_allocator", "weft_rustc", "weft_git_commit", "date", "host_name",
                "num_cpus", "mhz_per_cpu", "load_avg", "weft_repetitions",
                "weft_min_time_s", "weft_interleaved", "weft_relax_hints_per_us",
                "weft_note", "weft_go", "weft_go_note", "weft_steal_pct")
# Per-run counters kept beside items/s (bench/bench_rt.c's sleepers rows:
# time to all done and peak memory), judged by bars with "counter".
KEPT_COUNTERS = ("weft_done_ms", "weft_peak_rss_mib", "weft_base_rss_mib", "weft_most_asleep",
                 "idle_cpu_us_per_s")


# ------------------------------------------------------------------ results

def parse_name(run_name):
    """'mutex/counter/weft/real_time/threads:2' -> ('mutex/counter', 'weft', 2)."""
    parts = run_name.split("/")
    threads = 1
    for p in parts:
        if p.startswith("threads:"):
            threads = int(p.split(":")[1])
    core = [p for p in parts if p != "real_time" and ":" not in p]
    return "/".join(core[:-1]), core[-1], threads


def is_weft(impl):
    return impl == "weft" or impl.startswith("weft_")


def result_files(paths):
    """Every .json under the given files and directories, sorted."""
    out = []
    for p in paths:
        if os.path.isdir(p):
            for d, _, files in os.walk(p):
                out += [os.path.join(d, f) for f in files if f.endswith(".json")]
        elif os.path.exists(p):
            out.append(p)
        else:
            sys.exit(f"dashboard: no such file or directory: {p}")
    return sorted({os.path.abspath(p) for p in out})


def sig(v, digits=5):
    """v rounded to `digits` significant digits (keeps the page small)."""
    if v is None or v == 0 or not math.isfinite(v):
        return v
    return round(v, digits - 1 - int(math.floor(math.log10(abs(v)))))


def repetition_rows(data):
    """{run_name: [repetition, ...]}: the per-repetition entries only."""
    reps = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        if "items_per_second" not in b:
            continue
        reps.setdefault(b["run_name"], []).append(b)
    return reps


def cpu_per_item(b):
    """CPU ns per item of one repetition, or None (results older than the
    shim's CPU counters)."""
    if b.get("weft_cpu_ns") is None or not b.get("weft_items"):
        return None
    return b["weft_cpu_ns"] / b["weft_items"]


def make_row(run_name, bs):
    group, impl, threads = parse_name(run_name)
    cpus = [cpu_per_item(b) for b in bs]
    row = {"g": group, "i": impl, "t": threads,
           "rate": [sig(b["items_per_second"]) for b in bs],
           "cpu": [sig(c) for c in cpus] if all(c is not None for c in cpus) else None}
    kept = {k: [sig(b[k]) for b in bs] for k in KEPT_COUNTERS if all(k in b for b in bs)}
    if kept:
        row["counters"] = kept
    if all(key in b for b in bs for _, key in LAT_KEYS):
        row["lat"] = {name: [sig(b[key]) for b in bs] for name, key in LAT_KEYS}
        row["lat"]["laps"] = [b.get("weft_lat_laps", 0) for b in bs]
    return row


def load_run(path):
    """One result file as the page's run record, or None if it is not a
    Google Benchmark result."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        print(f"dashboard: skipping {path}: {e}", file=sys.stderr)
        return None
    if not isinstance(data, dict) or "benchmarks" not in data:
        return None
    ctx = data.get("context", {})
    machine = ctx.get("weft_machine") or os.path.basename(os.path.dirname(path)) or "unknown"
    rel = os.path.relpath(os.path.abspath(path), ROOT)
    rows = [make_row(n, bs) for n, bs in sorted(repetition_rows(data).items())]
    return {"id": rel, "file": rel, "machine": machine, "date": ctx.get("date", ""),
            "condition": condition_of(ctx),
            "context": {k: ctx[k] for k in CONTEXT_KEYS if k in ctx}, "rows": rows}


# tools/conditions.py's descriptions (the result's weft_condition) by their
# first word; a result without one ran before conditions existed: quiet.
CONDITION_WORDS = {"quiet": "quiet", "pinned": "pinned", "cgroup": "quota",
                   "busy-loop": "neighbour"}


def condition_of(ctx):
    """The machine condition a run was taken under (tools/conditions.py)."""
    words = (ctx.get("weft_condition") or "quiet").split()
    return CONDITION_WORDS.get(words[0] if words else "quiet", words[0])


def is_quiet(run):
    return run.get("condition", "quiet") == "quiet"


def load_runs(paths):
    runs = [r for r in map(load_run, result_files(paths)) if r and r["rows"]]
    runs.sort(key=lambda r: (r["machine"], r["date"], r["id"]))
    return runs


def medians(run):
    """{(group, impl, threads): {"rate": median items/s, "cpu": median CPU
    ns/item or None}} of a run."""
    out = {}
    for r in run["rows"]:
        out[(r["g"], r["i"], r["t"])] = {
            "rate": statistics.median(r["rate"]),
            "cpu": statistics.median(r["cpu"]) if r["cpu"] else None,
            "counters": {k: statistics.median(v) for k, v in r.get("counters", {}).items()}}
    return out


# ------------------------------------------------------------ Mann-Whitney

def _u_distribution(n1, n2):
    """Number of orderings of n1 + n2 distinct values giving each U in
    0..n1*n2: the coefficients of the Gaussian binomial [n1+n2 choose n1]_q,
    built as the product over i = 1..n1 of (1 - q^(n2+i)) / (1 - q^i)."""
    size = n1 * n2 + 1
    c = [0] * size
    c[0] = 1
    for i in range(1, n1 + 1):
        for k in range(size - 1, n2 + i - 1, -1):  # times (1 - q^(n2+i))
            c[k] -= c[k - n2 - i]
        for k in range(i, size):  # divided by (1 - q^i): exact
            c[k] += c[k - i]
    return c


def _ranks(values):
    """Mid-ranks (1-based; tied values share their mean rank) and the tie
    group sizes."""
    order = sorted(range(len(values)), key=lambda k: values[k])
    ranks = [0.0] * len(values)
    ties = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


# Exact p-values up to this many values in all (the distribution has
# n1*n2+1 entries; above it the normal approximation is close).
EXACT_MAX = 60


def mann_whitney(a, b, method="auto"):
    """Two-sided Mann-Whitney U test of samples a and b: (U of a, p-value,
    method used). "auto": the exact distribution when there are no ties
    and at most EXACT_MAX values, otherwise "normal": the normal
    approximation with tie and continuity corrections (both as
    scipy.stats.mannwhitneyu computes them)."""
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        return None, 1.0, "none"
    ranks, ties = _ranks(list(a) + list(b))
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    if method == "auto":
        method = "exact" if all(t == 1 for t in ties) and n1 + n2 <= EXACT_MAX else "normal"
    if method == "exact":
        dist = _u_distribution(n1, n2)
        total = sum(dist)
        k = int(round(u1))
        low = sum(dist[:k + 1]) / total
        high = sum(dist[k:]) / total
        return u1, min(1.0, 2 * min(low, high)), "exact"
    n = n1 + n2
    mu = n1 * n2 / 2
    tie_term = sum(t ** 3 - t for t in ties) / (n * (n - 1))
    var = n1 * n2 / 12 * ((n + 1) - tie_term)
    if var <= 0:
        return u1, 1.0, "normal"
    z = max(0.0, abs(u1 - mu) - 0.5) / math.sqrt(var)
    return u1, min(1.0, math.erfc(z / math.sqrt(2))), "normal"


def min_p(n1, n2):
    """The smallest two-sided p-value the exact test can give for these
    sample sizes (all of a below all of b): 2 / C(n1+n2, n1)."""
    if n1 == 0 or n2 == 0:
        return 1.0
    return min(1.0, 2 / math.comb(n1 + n2, n1))


def compare_runs(run_a, run_b, alpha=ALPHA):
    """Rows in both runs: [(group, impl, threads, median a, median b,
    change, p, verdict)], verdict 'faster', 'slower', 'noise' or 'too few
    repetitions' (the test cannot reach alpha)."""
    rows_a = {(r["g"], r["i"], r["t"]): r for r in run_a["rows"]}
    out = []
    for r in run_b["rows"]:
        key = (r["g"], r["i"], r["t"])
        if key not in rows_a:
            continue
        a, b = rows_a[key]["rate"], r["rate"]
        ma, mb = statistics.median(a), statistics.median(b)
        _, p, _ = mann_whitney(a, b)
        if min_p(len(a), len(b)) >= alpha:
            verdict = "too few repetitions"
        elif p < alpha:
            verdict = "faster" if mb > ma else "slower"
        else:
            verdict = "noise"
        out.append((*key, ma, mb, mb / ma - 1, p, verdict))
    return out


# ------------------------------------------------------------------- bars

def load_bars(path=BARS_FILE):
    with open(path) as f:
        return json.load(f)


def _bar_groups(bar, groups):
    out = []
    for pattern in bar.get("rows", []):
        out += sorted(g for g in groups if fnmatch.fnmatchcase(g, pattern)
                      and not g.endswith(LAT_SUFFIX) and g not in out)
    return out


def _bar_cells(bar, med):
    """Every (group, threads) the bar names, with weft's and the
    baseline's medians or None where a row is missing."""
    weft = bar.get("weft", "weft")
    groups = _bar_groups(bar, {k[0] for k in med})
    cells = []
    for g in groups:
        threads = bar.get("threads") or sorted(t for (gg, i, t) in med if gg == g and i == weft)
        vs_group = bar.get("vs_group", g)
        for t in threads:
            w = med.get((g, weft, t))
            vs = bar["vs"]
            if vs == ["*"]:
                vs = sorted({i for (gg, i, tt) in med if gg == vs_group and tt == t
                             and not is_weft(i)})
            bases = [(name, med.get((vs_group, name, t))) for name in vs]
            if bar.get("vs_mode") == "present":
                # Each row against the listed baselines it has (e.g. the
                # pthread channel: a list for unbounded rows, a ring for
                # bounded ones); a row with none of them is missing.
                bases = [x for x in bases if x[1]] or [(",".join(vs), None)]
            if bar.get("vs_mode") == "best":
                present = [x for x in bases if x[1]]
                if len(present) == len(bases) and present:
                    bases = [max(present, key=lambda x: x[1]["rate"])]
                else:
                    bases = [(",".join(vs), None)]
            for name, base in bases:
                cells.append({"group": g, "threads": t, "vs": name, "weft": w, "base": base})
    # A "*" bar only counts rows that have both sides.
    if "*" in "".join(bar.get("rows", [])):
        cells = [c for c in cells if c["weft"] and c["base"]]
    return cells


def _cell_value(bar, c):
    """The cell's ratio in the bar's own terms, and whether it passes."""
    wall = c["weft"]["rate"] / c["base"]["rate"]
    if "time_max" in bar:
        value = 1 / wall
        return value, value <= bar["time_max"]
    return wall, wall >= bar["wall_min"]


def _judge_highest(res, cells, present, limit, where_suffix, rows_note):
    """The verdict of a bar whose (group, threads, value) cells must stay
    at or below limit: the highest present cell is the figure; missed if
    any is above, met only when every cell is present."""
    worst = max(present, key=lambda c: c[2])
    res["value"] = worst[2]
    res["where"] = f"{worst[0]} {worst[1]}t{where_suffix}"
    if any(v > limit for _, _, v in present):
        res["status"] = "missed"
    elif len(present) < len(cells):
        res["note"] = f"{len(present)} of {len(cells)} {rows_note}"
    else:
        res["status"] = "met"
    return res


def evaluate_counter_bar(bar, med, res):
    """A bar on a counter of weft's own rows (no baseline): at every row
    it names, the median of bar["counter"] is at most bar["counter_max"]."""
    weft = bar.get("weft", "weft")
    groups = _bar_groups(bar, {k[0] for k in med})
    only = bar.get("only_if")  # {"counter": name, "min": value}: else not judged
    cells, unmet = [], []
    for g in groups:
        threads = bar.get("threads") or sorted(t for (gg, i, t) in med if gg == g and i == weft)
        for t in threads:
            row = med.get((g, weft, t))
            value = row["counters"].get(bar["counter"]) if row else None
            if value is not None and only:
                guard = row["counters"].get(only["counter"])
                if guard is None or guard < only["min"]:
                    unmet.append(f"{g} {t}t: {only['counter'].removeprefix('weft_')} "
                                 f"{guard if guard is not None else 'absent'} < {only['min']:g}")
                    value = None
            cells.append((g, t, value))
    present = [c for c in cells if c[2] is not None]
    if not present:
        res["note"] = "; ".join(unmet) if unmet else "rows or counter not in this run"
        return res
    return _judge_highest(res, cells, present, bar["counter_max"], f" {weft}", "rows in this run")


def companion_run(run, runs, condition):
    """The run under `condition` taken beside `run` (a quiet run): same
    machine and commit, the nearest in time (tools/run conditions writes
    the quiet run, then the pinned one, a minute or so apart), or None."""
    commit = run["context"].get("weft_git_commit")
    near = [r for r in runs or () if r.get("condition") == condition
            and r["machine"] == run["machine"] and commit
            and r["context"].get("weft_git_commit") == commit]
    if not near:
        return None

    def seconds(r):
        try:
            return datetime.datetime.fromisoformat(r["date"]).timestamp()
        except (TypeError, ValueError):
            return 0.0
    t = seconds(run)
    return min(near, key=lambda r: (abs(seconds(r) - t), r["id"]))


def evaluate_condition_bar(bar, med, cond_med, res):
    """A bar on how weft's rows slow down under a machine condition: at
    every row it names, the quiet run's median items/s over the condition
    run's is at most bar["slowdown_max"]. cond_med: the medians of the
    companion run (companion_run), or None."""
    if cond_med is None:
        res["note"] = (f"needs a --condition {bar['condition']} run of the same commit "
                       f"beside this one (tools/run conditions)")
        return res
    weft = bar.get("weft", "weft")
    groups = _bar_groups(bar, {k[0] for k in med})
    cells = []
    for g in groups:
        threads = bar.get("threads") or sorted(t for (gg, i, t) in med if gg == g and i == weft)
        for t in threads:
            quiet, cond = med.get((g, weft, t)), cond_med.get((g, weft, t))
            cells.append((g, t, quiet["rate"] / cond["rate"] if quiet and cond else None))
    present = [c for c in cells if c[2] is not None]
    if not present:
        res["note"] = f"rows not in this run or its {bar['condition']} run"
        return res
    return _judge_highest(res, cells, present, bar["slowdown_max"],
                          f" {weft}, {bar['condition']}",
                          f"rows in this run and its {bar['condition']} run")


def evaluate_bar(bar, med, cpu_limit, cond_med=None):
    """One bar against one run's medians: {"status": met / missed / not
    measured, "value": the worst cell's ratio, "where": that cell, "cpu":
    met / missed / not measured / "-" (no CPU rule), "cpu_value": the
    highest CPU ratio, "note"}. cond_med: for a bar with "condition", the
    medians of the run taken under it beside this one."""
    res = {"id": bar["id"], "status": "not measured", "value": None, "where": "",
           "cpu": "-", "cpu_value": None, "note": ""}
    if bar.get("manual"):
        res["note"] = "needs " + bar["manual"]
        return res
    if "condition" in bar:
        return evaluate_condition_bar(bar, med, cond_med, res)
    if "counter" in bar:
        return evaluate_counter_bar(bar, med, res)
    cells = _bar_cells(bar, med)
    present = [c for c in cells if c["weft"] and c["base"]]
    if not present:
        res["note"] = "rows not in this run" + (" (names tentative)" if bar.get("tentative") else "")
        return res
    scored = [(c, *_cell_value(bar, c)) for c in present]
    # Worst cell: the largest time ratio, or the smallest wall ratio.
    worst = (max if "time_max" in bar else min)(scored, key=lambda s: s[1])
    res["value"] = worst[1]
    res["where"] = f"{worst[0]['group']} {worst[0]['threads']}t vs {worst[0]['vs']}"
    if not all(ok for _, _, ok in scored):
        res["status"] = "missed"
    elif len(present) < len(cells):
        res["note"] = f"{len(present)} of {len(cells)} rows in this run"
    else:
        res["status"] = "met"
    if bar.get("cpu"):
        cpus = [c["weft"]["cpu"] / c["base"]["cpu"] for c in present
                if c["weft"]["cpu"] and c["base"]["cpu"]]
        if cpus:
            res["cpu_value"] = max(cpus)
            res["cpu"] = "met" if res["cpu_value"] <= cpu_limit else "missed"
        else:
            res["cpu"] = "not measured"
    return res


def evaluate_bars(run, bars_doc, runs=None):
    """Every bar against one run. A bar with "condition" is judged on a
    quiet run against its companion among `runs` (companion_run); on a run
    taken under a condition it is not measured (the other bars judge any
    run, as issue 16's never-below bar asks of the condition runs)."""
    med = medians(run)
    out = []
    for b in bars_doc["bars"]:
        if "condition" in b and not is_quiet(run):
            out.append({"id": b["id"], "status": "not measured", "value": None, "where": "",
                        "cpu": "-", "cpu_value": None,
                        "note": f"judged on the quiet run beside this {run['condition']} run"})
            continue
        cond_med = None
        if "condition" in b:
            comp = companion_run(run, runs, b["condition"])
            cond_med = medians(comp) if comp else None
        out.append(evaluate_bar(b, med, bars_doc["cpu_limit"], cond_med))
    return out


def fmt_value(bar, v):
    if v is None:
        return "-"
    if "counter" in bar:
        return f"{v:.4g} {bar['counter'].removeprefix('weft_')}"
    if "condition" in bar:
        return f"{v:.2f}x slower"
    return f"{v:.2f}x the time" if "time_max" in bar else f"{v:.2f}x"


def summary_lines(run, bars_doc, runs=None):
    """The text summary of one run's bars (runs: where to find the runs
    taken under conditions beside it)."""
    results = evaluate_bars(run, bars_doc, runs)
    by_id = {b["id"]: b for b in bars_doc["bars"]}
    counts = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    cpu_missed = sum(1 for r in results if r["cpu"] == "missed")
    cond = "" if is_quiet(run) else f", {run['condition']}"
    lines = [f"bars ({run['machine']}, {run['date'] or run['id']}{cond}): "
             f"{counts.get('met', 0)} met, {counts.get('missed', 0)} missed, "
             f"{counts.get('not measured', 0)} not measured; "
             f"CPU > {bars_doc['cpu_limit']}x the baseline's at {cpu_missed}"]
    steal = float(run["context"].get("weft_steal_pct", 0) or 0)
    if steal > STEAL_NOTE_PCT:
        lines.append(f"  (the host took {steal:.1f}% of the CPU time during this run: "
                     "its figures are not comparable with a run without; measure again)")
    for r in results:
        bar = by_id[r["id"]]
        if r["status"] == "not measured" and bar.get("tentative"):
            continue  # another issue's rows, not landed yet
        cpu = "" if r["cpu"] in ("-", "not measured") else \
            f", CPU {r['cpu_value']:.2f}x ({r['cpu']})"
        where = f" at {r['where']}" if r["where"] else ""
        note = f" [{r['note']}]" if r["note"] else ""
        lines.append(f"  {r['status']:>12}  {bar['text']}: "
                     f"{fmt_value(bar, r['value'])}{where}{cpu}{note}")
    tentative = sum(1 for r in results if r["status"] == "not measured"
                    and by_id[r["id"]].get("tentative"))
    if tentative:
        lines.append(f"  ({tentative} bars of issues whose rows have not landed: not measured)")
    return lines


# ------------------------------------------------------------------- page

def _read(name):
    with open(os.path.join(PAGE_DIR, name)) as f:
        return f.read()


def page_data(runs, bars_doc):
    for run in runs:
        run["bars"] = evaluate_bars(run, bars_doc, runs)
    return {"generated": datetime.datetime.now(datetime.timezone.utc)
            .strftime("%Y-%m-%d %H:%M UTC"),
            "alpha": ALPHA, "exact_max": EXACT_MAX, "lat_suffix": LAT_SUFFIX,
            "bars": bars_doc, "runs": runs}


def render_page(runs, bars_doc):
    data = json.dumps(page_data(runs, bars_doc), separators=(",", ":"))
    # Nothing in the data may close the <script> element it sits in: no
    # "<" at all (JSON reads the escape back as the same character).
    data = data.replace("<", "\\u003c")
    page = _read("page.html")
    for marker, text in (("/*@CSS@*/", _read("page.css")),
                         ("/*@JS@*/", _read("page.js")),
                         ("/*@DATA@*/", data)):
        page = page.replace(marker, text, 1)
    return page


def write_page(runs, out, bars_doc=None):
    bars_doc = bars_doc or load_bars()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        f.write(render_page(runs, bars_doc))
    return out


def latest_per_machine(runs):
    """Each machine's latest quiet run (runs under a condition sit beside
    one; they are not what the bars judge), or its latest run if none is
    quiet."""
    latest = {}
    quiet = {r["machine"] for r in runs if is_quiet(r)}
    for r in runs:
        if r["machine"] in quiet and not is_quiet(r):
            continue
        if r["machine"] not in latest or (r["date"], r["id"]) > (latest[r["machine"]]["date"],
                                                                 latest[r["machine"]]["id"]):
            latest[r["machine"]] = r
    return [latest[m] for m in sorted(latest)]


def print_comparison(path_a, path_b):
    a, b = load_run(path_a), load_run(path_b)
    if not a or not b:
        sys.exit("dashboard: --compare needs two benchmark result files")
    rows = compare_runs(a, b)
    counts = {}
    for r in rows:
        counts[r[-1]] = counts.get(r[-1], 0) + 1
    print(f"{len(rows)} rows in both: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())))
    print(f"(two-sided Mann-Whitney U over the repetitions' items/s, p < {ALPHA})")
    for g, i, t, ma, mb, change, p, verdict in rows:
        if verdict in ("faster", "slower"):
            print(f"  {verdict:>6}  {g}/{i} {t}t: {ma:.4g} -> {mb:.4g} items/s "
                  f"({100 * change:+.1f}%, p={p:.2g})")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*", help="result files or directories (default: results/)")
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--quiet", action="store_true", help="print only the page's path")
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"),
                    help="print the rows of result B that changed from result A beyond the noise")
    args = ap.parse_args(argv)
    if args.compare:
        print_comparison(*args.compare)
        return
    runs = load_runs(args.paths or [os.path.join(ROOT, "results")])
    if not runs:
        sys.exit("dashboard: no benchmark results found")
    bars_doc = load_bars()
    out = write_page(runs, args.out, bars_doc)
    machines = sorted({r["machine"] for r in runs})
    print(f"dashboard: {out} ({len(runs)} runs, {len(machines)} machines; open in a browser)")
    if not args.quiet:
        for run in latest_per_machine(runs):
            print("\n".join(summary_lines(run, bars_doc, runs)))


if __name__ == "__main__":
    main()
