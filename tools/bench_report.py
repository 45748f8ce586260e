#!/usr/bin/env python3
"""Run weft's benchmark binary and report weft rows against their baselines.

    bench_report.py run --binary B --results DIR [--full] [--repetitions N] [--filter RE] [--cmake-cache F]
    bench_report.py table FILE.json          # re-print the table of a result

`run` writes Google Benchmark JSON to DIR/<machine>/<UTC timestamp>.json with
the machine context (CPU model, cores, kernel, compiler and flags, allocator,
git commit) added to its "context", showing progress while it runs, then
prints the table, writes the dashboard over every result of DIR
(tools/dashboard.py; build/dashboard/index.html), prints its path and the
bars of tools/bars.json met or missed by this run. With --go-binary it then
runs the Go peer (bench/go) as a process of its own and merges its rows
(impl "go") into the same result. Naming contract (bench/shim.h): "<primitive>/<case>/<impl>";
impl "weft" or "weft_*" is a weft row, every other impl a baseline.
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conditions  # noqa: E402
from dashboard import STEAL_NOTE_PCT, cpu_per_item, is_weft, parse_name  # noqa: E402


def wrap_or_exit(cmd, condition):
    """conditions.wrap, or stop with the reason the condition is unavailable."""
    try:
        return conditions.wrap(cmd, condition)
    except (conditions.Unavailable, ValueError) as e:
        sys.exit(f"--condition {condition}: {e}")


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "CPU part"):
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit():
    def git(*args):
        return subprocess.run(["git", "-C", ROOT, *args], capture_output=True,
                              text=True).stdout.strip()
    commit = git("rev-parse", "HEAD") or "unknown"
    return commit + ("-dirty" if git("status", "--porcelain", "--", "lib", "include",
                                     "bench") else "")


def machine_slug(model, cores):
    words = re.sub(r"\(.*?\)|@.*|processor|cpu|\d+-core", " ", model.lower())
    slug = "-".join(re.findall(r"[a-z0-9]+", words)[:4]) or "unknown"
    return f"{platform.machine()}-{slug}-{cores}c"


def machine_context():
    model, cores = cpu_model(), os.cpu_count()
    return {
        "weft_machine": machine_slug(model, cores),
        "weft_cpu_model": model,
        "weft_cores": str(cores),
        "weft_kernel": platform.release(),
        "weft_git_commit": git_commit(),
        "weft_note": ("threads > cores measure oversubscription, not scaling"),
    }


def cpu_times():
    """The machine's CPU time counters (/proc/stat's first line, in ticks):
    (steal, total), or None where there is no /proc/stat."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice]:
    # guest time is already counted in user and nice.
    return ticks[7] if len(ticks) > 7 else 0, sum(ticks[:8])


def steal_pct(before, after):
    """The share of the machine's CPU time the hypervisor gave to others
    between two cpu_times() readings, in percent (None if unknown). Above
    STEAL_NOTE_PCT a row's figures move between runs: a guest's vCPU that
    the host does not run stalls whatever runs on it, weft and its peers
    alike."""
    if not before or not after or after[1] <= before[1]:
        return None
    return 100.0 * (after[0] - before[0]) / (after[1] - before[1])


def list_benchmarks(binary, flt):
    out = subprocess.run([binary, "--benchmark_list_tests=true",
                          f"--benchmark_filter={flt}"], capture_output=True,
                         text=True, check=True).stdout
    return [line for line in out.splitlines() if line.strip()]


# Rows that can stall for minutes on a small machine, run only with --full.
# ck_ring_mpmc at 2:2 (4 threads): a producer preempted between reserving
# and committing its slot makes the others spin inside CK, with no yield,
# for a whole time slice; on 2 cores one run took 393 s (20261127T024749Z).
FULL_ONLY = {
    "ring/mpmc/ck_ring_mpmc/real_time/threads:4",
}


def run(args):
    ctx = machine_context()
    names = list_benchmarks(args.binary, args.filter)
    if not args.full:
        skipped = [n for n in names if n in FULL_ONLY]
        names = [n for n in names if n not in FULL_ONLY]
        for n in skipped:
            print(f"skipping {n} (can stall for minutes; run with --full)")
    if not names:
        sys.exit(f"no benchmark matches filter {args.filter!r}")
    # Default: 5 repetitions of 0.03 s (the time of 3 of 0.05 s): with 5 a
    # side the dashboard's A/B test can tell a change from noise (p down to
    # 0.008; with 3 a side it cannot go below 0.10).
    reps, min_time = (10, 0.5) if args.full else (5, 0.03)
    if args.condition == "quota":
        # A CFS quota is enforced per 100 ms period: a repetition shorter
        # than a few periods measures whether it hit a throttled window
        # (0.03 s repetitions read 0.5x pthread on rows that, at 0.3 s,
        # ran 1.15x-4x it).
        min_time = max(min_time, 0.3)
    if args.repetitions < 0:
        sys.exit("--repetitions must be a positive count")
    if args.repetitions:
        reps = args.repetitions
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out_dir = os.path.join(args.results, ctx["weft_machine"])
    os.makedirs(out_dir, exist_ok=True)
    suffix = "" if args.condition == "quiet" else "-" + args.condition
    out = os.path.join(out_dir, stamp + suffix + ".json")
    exact = "^(" + "|".join(re.escape(n) for n in names) + ")$"
    cmd = [args.binary, f"--benchmark_filter={exact}",
           f"--benchmark_repetitions={reps}", f"--benchmark_min_time={min_time}",
           # Repetitions of all rows run in random order, so a weft row and
           # its baselines sample the same stretch of machine noise (a
           # shared VM's neighbours come and go within a run).
           "--benchmark_enable_random_interleaving=true",
           f"--benchmark_out={out}", "--benchmark_out_format=json"]
    total = len(names) * reps
    print(f"running {len(names)} benchmarks x {reps} repetitions, interleaved "
          f"(min {min_time}s each) on {ctx['weft_cpu_model']}, {ctx['weft_cores']} cores",
          flush=True)
    done = 0
    cmd, cleanup, condition = wrap_or_exit(cmd, args.condition)
    ticks_before = cpu_times()
    print(f"condition: {condition}", flush=True)
    try:
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as p:
            for line in p.stdout:
                m = re.match(r"(\S+/real_time\S*)\s+(\S+ \S+)", line)
                if m and not re.search(r"_(mean|median|stddev|cv)$", m.group(1)):
                    done += 1
                    print(f"[{done}/{total}] {m.group(1)}  {m.group(2)}", flush=True)
    finally:
        cleanup()
    if p.returncode != 0:
        sys.exit(f"benchmark binary failed with status {p.returncode}")
    steal = steal_pct(ticks_before, cpu_times())
    with open(out) as f:
        data = json.load(f)
    merge_go_rows(data, args, reps, min_time)
    data["context"].update(ctx)
    data["context"]["weft_repetitions"] = str(reps)
    data["context"]["weft_min_time_s"] = str(min_time)
    data["context"]["weft_interleaved"] = "random"
    data["context"]["weft_condition"] = condition
    if steal is not None:
        data["context"]["weft_steal_pct"] = f"{steal:.1f}"
    with open(out, "w") as f:
        json.dump(data, f, indent=1)
    print(f"\nwrote {os.path.relpath(out, ROOT)}\n")
    print_table(data)
    print_dashboard(args.results, out)


def merge_go_rows(data, args, reps, min_time):
    """Run the Go peer (bench/go, issue 15) as a process of its own after
    the main binary, with the same filter, repetitions, minimum time and
    condition, and append its rows (impl "go") to data's benchmarks; its Go
    version goes to the context as weft_go. Any failure leaves the run as
    it is, with weft_go saying why the Go rows are missing."""
    if not args.go_binary:
        if args.go_missing:
            data["context"]["weft_go"] = f"missing: {args.go_missing}"
            print(f"Go rows missing: {args.go_missing}")
        return
    try:
        names = subprocess.run([args.go_binary, "-list", "-filter", args.filter],
                               capture_output=True, text=True, check=True,
                               timeout=60).stdout.split()
    except (OSError, subprocess.SubprocessError) as e:
        data["context"]["weft_go"] = f"missing: {args.go_binary} -list failed ({e})"
        print(f"Go rows missing: {e}")
        return
    if not names:
        return  # the filter selects no Go row
    workers = data["context"].get("weft_cpus_usable") or str(os.cpu_count())
    out = os.path.join(os.path.dirname(args.go_binary), "weft_bench_go.json")
    cmd = [args.go_binary, "-workers", workers, "-repetitions", str(reps),
           "-min_time", str(min_time), "-filter", args.filter, "-out", out]
    cmd, cleanup, _ = wrap_or_exit(cmd, args.condition)
    print(f"running the Go peer: {len(names)} rows x {reps} repetitions", flush=True)
    try:
        try:
            done = subprocess.run(cmd, stderr=subprocess.PIPE, text=True,
                                  timeout=GO_TIMEOUT_S)
        finally:
            cleanup()
        for line in done.stderr.splitlines():
            print(f"  go: {line}", flush=True)
        if done.returncode != 0:
            raise RuntimeError(f"exit status {done.returncode}")
        with open(out) as f:
            go = json.load(f)
    except (OSError, ValueError, RuntimeError, subprocess.SubprocessError) as e:
        data["context"]["weft_go"] = f"missing: the Go peer failed ({e})"
        print(f"Go rows missing: the Go peer failed ({e})")
        return
    base = 1 + max((b.get("family_index", 0) for b in data["benchmarks"]), default=-1)
    for b in go["benchmarks"]:
        b["family_index"] = base + b.get("family_index", 0)
    data["benchmarks"] += go["benchmarks"]
    data["context"]["weft_go"] = go["context"].get("weft_go", "unknown")
    data["context"]["weft_go_note"] = ("Go rows run in a separate process after the "
                                       "main binary (not interleaved with its rows)")


# The Go peer's whole run: a sleepers repetition is ~1 s, the rest ~0.1 s.
GO_TIMEOUT_S = 600


def print_dashboard(results_dir, out):
    """Write the dashboard over every result in results_dir (this run
    included), print its path and this run's bars met or missed."""
    import dashboard
    runs = dashboard.load_runs([results_dir, out])
    page = dashboard.write_page(runs, dashboard.DEFAULT_OUT)
    this = dashboard.load_run(out)
    print(f"\ndashboard: {page} ({len(runs)} runs; open in a browser)")
    print("\n".join(dashboard.summary_lines(this, dashboard.load_bars(), runs)))


def print_condition_bars(files):
    """The bars judged on a quiet run against a run under a condition
    (tools/bars.json "condition", e.g. chan-pinned), over these files."""
    import dashboard
    runs = [r for r in map(dashboard.load_run, files) if r and r["rows"]]
    doc = dashboard.load_bars()
    cond_bars = [b for b in doc["bars"] if "condition" in b]
    quiet = [r for r in runs if dashboard.is_quiet(r)]
    if not cond_bars or not quiet:
        return
    run = max(quiet, key=lambda r: (r["date"], r["id"]))
    only = dict(doc, bars=cond_bars)
    print("\n".join(dashboard.summary_lines(run, only, runs)))


def collect(data):
    """{(group, threads): {impl: {"rate": items/s, "cpu": CPU ns/item,
    "rates": items/s of each repetition}}}, rate and cpu the medians over
    the repetitions of that row."""
    reps = {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        if "items_per_second" not in b:
            continue
        reps.setdefault(b["run_name"], []).append(b)
    samples = {}
    for run_name, bs in reps.items():
        group, impl, threads = parse_name(run_name)
        cpus = [c for c in map(cpu_per_item, bs) if c is not None]
        samples.setdefault((group, threads), {})[impl] = {
            "rate": statistics.median(b["items_per_second"] for b in bs),
            "rates": [b["items_per_second"] for b in bs],
            "cpu": statistics.median(cpus) if cpus else None,
        }
    return samples


# A wall-time win that costs more CPU per item than this times the
# baseline's is bought by spinning or yielding: not a win.
CPU_WIN_LIMIT = 1.5


def fmt_rate(v):
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if v >= scale:
            return f"{v / scale:.3g}{unit}"
    return f"{v:.3g}"


def fmt_cpu(v):
    return "-" if v is None else f"{v:.3g}"


def ratio_cell(w, b):
    """'2.31x/0.80c': wall ratio (weft items/s over the baseline's, > 1: weft
    faster) and CPU ratio (weft CPU ns/item over the baseline's, < 1: weft
    cheaper); '!' marks a wall win whose CPU exceeds CPU_WIN_LIMIT."""
    wall = w["rate"] / b["rate"]
    if w["cpu"] is None or not b["cpu"]:
        return f"{wall:.2f}x"
    cpu = w["cpu"] / b["cpu"]
    flag = "!" if wall > 1 and cpu > CPU_WIN_LIMIT else ""
    return f"{wall:.2f}x/{cpu:.2f}c{flag}"


def print_table(data):
    ctx = data["context"]
    cores = int(ctx.get("weft_cores", ctx.get("num_cpus", 0)) or 0)
    print(f"machine: {ctx.get('weft_cpu_model', '?')}, {ctx.get('weft_cores', '?')} cores"
          f" ({ctx.get('weft_cpus_usable', '?')} usable), kernel {ctx.get('weft_kernel', '?')}")
    print(f"build:   {ctx.get('weft_compiler', '?')}, flags '{ctx.get('weft_cflags', '?').strip()}', "
          f"{ctx.get('weft_allocator', '?')}, commit {ctx.get('weft_git_commit', '?')[:12]}")
    if "weft_steal_pct" in ctx:
        print(f"steal:   {ctx['weft_steal_pct']}% of the machine's CPU time went to the hypervisor's other"
              f" work during the run (above {STEAL_NOTE_PCT:g}%, rows move between runs)")
    print("items/s and CPU ns/item (all threads' CPU time over the items) are medians of repetitions;")
    print("vs X: wall ratio weft/X items/s (> 1: weft faster) / CPU ratio weft/X ns per item (< 1: cheaper);")
    print(f"'!' = a wall-time win costing more than {CPU_WIN_LIMIT}x the baseline's CPU: not a win")
    samples = collect(data)
    groups = sorted({g for g, _ in samples}, key=lambda g: g)
    for group in groups:
        if group.endswith("_lat"):
            continue  # print_latency below
        rows = sorted(t for g, t in samples if g == group)
        impls = sorted({i for t in rows for i in samples[(group, t)]})
        wefts = [i for i in impls if is_weft(i)]
        bases = [i for i in impls if not is_weft(i)]
        print(f"\n{group}")
        header = f"  {'threads':>7}  {'impl':<14} {'items/s':>9} {'cpu ns':>7}" + "".join(
            f"  {'vs ' + b:>20}" for b in bases)
        print(header)
        for t in rows:
            row = samples[(group, t)]
            note = "  (oversubscribed)" if cores and t > cores else ""
            for w in wefts:
                if w not in row:
                    continue
                cells = "".join(
                    f"  {ratio_cell(row[w], row[b]):>20}" if b in row else f"  {'-':>20}"
                    for b in bases)
                print(f"  {t:>7}  {w:<14} {fmt_rate(row[w]['rate']):>9} "
                      f"{fmt_cpu(row[w]['cpu']):>7}{cells}{note}")
            if not wefts:
                print(f"  {t:>7}  (no weft row)")
    print_latency(data)
    print_run_counters(data)


# Per-run counters of bench/bench_rt.c's sleepers rows (and bench/go's).
RUN_COUNTERS = (("weft_done_ms", "done ms"), ("weft_peak_rss_mib", "peak RSS MiB"),
                ("weft_base_rss_mib", "base RSS MiB"), ("weft_most_asleep", "most asleep at once"))


def print_run_counters(data):
    """Rows with time-to-done and peak-memory counters: their medians over
    the repetitions (tools/bars.json judges them with "counter" bars)."""
    reps = {}
    for b in data["benchmarks"]:
        if b.get("run_type") != "aggregate" and RUN_COUNTERS[0][0] in b:
            reps.setdefault(b["run_name"], []).append(b)
    if not reps:
        return
    print("\nper-run counters (medians of repetitions):")
    for name in sorted(reps):
        group, impl, _ = parse_name(name)
        cells = "  ".join(f"{label} {statistics.median(b.get(k, 0) for b in reps[name]):.4g}"
                          for k, label in RUN_COUNTERS)
        failed = sum(b.get("weft_failed_runs", 0) for b in reps[name])
        note = f"  ({failed:.0f} failed runs)" if failed else ""
        print(f"  {group:<22} {impl:<16} {cells}{note}")
    go = data["context"].get("weft_go")
    if go:
        print(f"Go peer: {go}")


LAT_COUNTERS = ("weft_lat_p50_ns", "weft_lat_p99_ns", "weft_lat_p999_ns")


def print_latency(data):
    """The latency rows (bench/shim.h, "Latency"): ns per round trip at
    p50, p99 and p99.9, medians over the repetitions."""
    reps = {}
    for b in data["benchmarks"]:
        if b.get("run_type") != "aggregate" and all(k in b for k in LAT_COUNTERS):
            reps.setdefault(b["run_name"], []).append(b)
    if not reps:
        return
    print("\nlatency per round trip, ns (p50 / p99 / p99.9, medians of repetitions;"
          " '*': fewer than 100 / 1000 round trips per thread, near the largest seen)")
    for name in sorted(reps):
        group, impl, threads = parse_name(name)
        laps = statistics.median(b.get("weft_lat_laps", 0) for b in reps[name])
        cells = " ".join(f"{statistics.median(b[k] for b in reps[name]):>10.0f}"
                         f"{'*' if laps < need else ' '}"
                         for k, need in zip(LAT_COUNTERS, (2, 100, 1000)))
        print(f"  {group:<22} {impl:<16} {cells}  {laps:.0f} round trips")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--binary", required=True)
    r.add_argument("--results", default=os.path.join(ROOT, "results"))
    r.add_argument("--full", action="store_true")
    r.add_argument("--repetitions", type=int, default=0,
                   help="repetitions per benchmark (default 5, 10 with --full)")
    r.add_argument("--filter", default=".")
    r.add_argument("--condition", default="quiet", choices=conditions.CONDITIONS,
                   help="machine condition to run under (tools/conditions.py)")
    r.add_argument("--go-binary", help="the Go peer (bench/go) to run after the main binary")
    r.add_argument("--go-missing", help="why there is no Go peer (recorded in the result)")
    c = sub.add_parser("conditions", help="compare result files of one "
                       "commit run under different conditions")
    c.add_argument("files", nargs="+")
    t = sub.add_parser("table")
    t.add_argument("file")
    args = ap.parse_args()
    if args.cmd == "run":
        run(args)
        return
    if args.cmd == "conditions":
        runs = {}
        for path in args.files:
            with open(path) as f:
                data = json.load(f)
            cond = data["context"].get("weft_condition", "quiet").split(" ")[0]
            cond = {"cgroup": "quota", "busy-loop": "neighbour"}.get(cond, cond)
            runs[cond] = data
        collapses = conditions.compare(runs, collect, is_weft)
        print_condition_bars(args.files)
        sys.exit(1 if collapses else 0)
    with open(args.file) as f:
        data = json.load(f)
    print_table(data)


if __name__ == "__main__":
    main()
