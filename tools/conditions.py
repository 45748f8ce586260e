"""Machine conditions for tools/run bench --condition (issue: performance that
holds on any machine). Each condition runs the benchmark binary as a user
on a different machine would meet it:

    quiet      as is (the reference)
    pinned     taskset to one CPU: every thread of a run shares it
    quota      a cgroup CPU quota of half the CPUs (at least one CPU's worth),
               cgroup v2 cpu.max or v1 cpu.cfs_quota_us (needs root)
    neighbour  a busy-loop process on the last CPU for the whole run, at the
               same priority (a noisy host: a vCPU the guest does not fully own)

wrap(cmd, condition) returns the command to run and a cleanup function.
`python3 tools/conditions.py CONDITION CMD...` runs one command under a
condition and exits with its status (77: the condition is unavailable here,
e.g. no writable cgroup); tools/run test runs the stress tests so.
compare(runs) prints how each row moves against the quiet run and flags
collapses: a weft row below 0.9x its pthread baseline, or any row more than
10x slower than in the quiet run. A row past either line in its medians is
a collapse ('!') only if its repetitions say so too: the one-sided
question "below the line?" answered by the Mann-Whitney U test of the
repetitions' items/s against the line (the baseline's repetitions times 0.9,
or the quiet run's divided by 10) at tools/dashboard.py's ALPHA. Otherwise
the row is printed with '~' (past the line in the medians, within the
spread of the repetitions) and not counted. With too few repetitions for
the test to reach ALPHA (fewer than 4 of each) every row past a line counts.
On a 2-vCPU guest beside a busy neighbour single repetitions of the same
build spread 10x (docs/tuning.md, "Conditions: collapse or spread"), so a
median alone flags rows that the next run clears.
"""
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dashboard import ALPHA, mann_whitney, min_p  # noqa: E402

CONDITIONS = ("quiet", "pinned", "quota", "neighbour")


def _allowed_cpus():
    return sorted(os.sched_getaffinity(0))


class Unavailable(Exception):
    """The condition cannot be made on this machine (say why)."""


def _cgroup_with_quota(cpus):
    """A fresh cgroup limited to `cpus` CPUs: (procs file, dir)."""
    period = 100000
    quota = int(cpus * period)
    name = f"weft-bench-{os.getpid()}"
    for base, qfile, text in (("/sys/fs/cgroup", "cpu.max", f"{quota} {period}"),
                              ("/sys/fs/cgroup/unified", "cpu.max", f"{quota} {period}"),
                              ("/sys/fs/cgroup/cpu", "cpu.cfs_quota_us", str(quota))):
        d = os.path.join(base, name)
        try:
            if not os.path.exists(os.path.join(base, "cgroup.procs")):
                continue
            os.mkdir(d)
        except OSError:
            continue
        try:
            with open(os.path.join(d, qfile), "w") as f:
                f.write(text)
            return os.path.join(d, "cgroup.procs"), d
        except OSError:
            os.rmdir(d)
    raise Unavailable("quota: no writable cgroup cpu controller (run as root)")


def wrap(cmd, condition):
    """(command, cleanup, description) for running cmd under condition."""
    cpus = _allowed_cpus()
    if condition == "quiet":
        return cmd, lambda: None, "quiet"
    if condition == "pinned":
        return (["taskset", "-c", str(cpus[0])] + cmd, lambda: None,
                f"pinned to CPU {cpus[0]} (taskset)")
    if condition == "quota":
        share = max(1.0, len(cpus) / 2)
        procs, d = _cgroup_with_quota(share)
        # The shell enters the cgroup before exec: every thread starts in it.
        shell = ["sh", "-c", f'echo $$ > "{procs}" && exec "$@"', "sh"] + cmd

        def cleanup():
            try:
                os.rmdir(d)
            except OSError:
                pass
        return shell, cleanup, f"cgroup CPU quota {share:g} of {len(cpus)} CPUs"
    if condition == "neighbour":
        spin = subprocess.Popen(["taskset", "-c", str(cpus[-1]), "sh", "-c",
                                 "while :; do :; done"])

        def cleanup():
            spin.kill()
            spin.wait()
        return cmd, cleanup, f"busy-loop neighbour on CPU {cpus[-1]}"
    raise ValueError(f"unknown condition {condition!r}; one of {', '.join(CONDITIONS)}")


# The lines of the collapse rule (issue 16): a weft row below this times
# its pthread baseline, or any row more than this many times slower than in
# the quiet run.
BASELINE_MIN = 0.9
SLOWDOWN_MAX = 10


def past_line(rates, line_rates):
    """'!' if rates (items/s of a row's repetitions) are below line_rates in
    their medians and the repetitions show it (one-sided Mann-Whitney at
    ALPHA, or too few repetitions to test), '~' if only the medians do,
    '' if the row is not below the line."""
    if not rates or not line_rates:
        return ""
    if statistics.median(rates) >= statistics.median(line_rates):
        return ""
    if min_p(len(rates), len(line_rates)) >= ALPHA:
        return "!"  # cannot be tested: count it, as the medians say
    _, p, _ = mann_whitney(rates, line_rates)
    # two-sided p, and the medians already point down: one-sided is p / 2
    return "!" if p / 2 < ALPHA else "~"


def worst(*marks):
    return "!" if "!" in marks else "~" if "~" in marks else ""


def compare(runs, collect, is_weft):
    """runs: {condition: result data}; collect(data) gives {(group, threads):
    {impl: {"rate": median items/s, "rates": [items/s per repetition]}}}.
    Prints, per row, the weft/pthread wall ratio (of the medians; against
    the best pthread row) in each condition and the slowdown against quiet,
    marked as past_line says; returns the number of collapses ('!')."""
    samples = {c: collect(d) for c, d in runs.items()}
    quiet = samples.get("quiet", {})
    conds = [c for c in CONDITIONS if c in samples]
    collapses = spreads = 0
    print("\nwall ratio weft/pthread* (best pthread row) per condition; "
          "slowdown = quiet items/s / condition items/s")
    print(f"  {'row':<34}" + "".join(f" {c:>19}" for c in conds))
    for key in sorted({k for s in samples.values() for k in s}):
        group, threads = key
        impls = sorted({i for s in samples.values() for i in s.get(key, {})})
        for impl in impls:
            cells = []
            for c in conds:
                row = samples[c].get(key, {})
                if impl not in row:
                    cells.append(f"{'-':>19}")
                    continue
                me = row[impl]
                rate = me["rate"]
                base = [row[b] for b in row if b.startswith("pthread")]
                ratio = mark = None
                if base and is_weft(impl):
                    best = max(base, key=lambda b: b["rate"])
                    ratio = rate / best["rate"]
                    mark = past_line(me["rates"], [BASELINE_MIN * r for r in best["rates"]])
                was = quiet.get(key, {}).get(impl)
                slow = was["rate"] / rate if was and rate else 0
                slow_mark = (past_line(me["rates"], [r / SLOWDOWN_MAX for r in was["rates"]])
                             if was else "")
                flag = worst(mark or "", slow_mark)
                collapses += flag == "!"
                spreads += flag == "~"
                cell = (f"{ratio:.2f}x " if ratio is not None else "") + f"/{slow:.1f}"
                cells.append(f"{cell + flag:>19}")
            print(f"  {group + '/' + impl + '@' + str(threads):<34}" + "".join(
                f" {x}" for x in cells))
    print(f"\n'!' = collapse (weft < {BASELINE_MIN}x pthread, or > {SLOWDOWN_MAX}x slower "
          f"than quiet; repetitions Mann-Whitney p < {ALPHA}): {collapses}")
    print(f"'~' = past a line in the medians only, within the repetitions' spread "
          f"(not counted): {spreads}")
    return collapses


def main(argv):
    if len(argv) < 2:
        sys.exit(f"usage: conditions.py {'|'.join(CONDITIONS)} CMD...")
    try:
        cmd, cleanup, description = wrap(argv[1:], argv[0])
    except Unavailable as e:
        print(f"condition unavailable: {e}", file=sys.stderr)
        return 77
    except ValueError as e:
        sys.exit(str(e))
    print(f"condition: {description}", file=sys.stderr)
    try:
        return subprocess.call(cmd)
    finally:
        cleanup()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
