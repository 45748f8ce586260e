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
10x slower than in the quiet run.
"""
import os
import subprocess
import sys

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


def compare(runs, collect, is_weft):
    """runs: {condition: result data}. Prints, per row, the weft/pthread wall
    ratio in each condition and the slowdown against quiet; returns the
    number of collapses found."""
    samples = {c: collect(d) for c, d in runs.items()}
    quiet = samples.get("quiet", {})
    conds = [c for c in CONDITIONS if c in samples]
    collapses = 0
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
                rate = row[impl]["rate"]
                base = [row[b]["rate"] for b in row if b.startswith("pthread")]
                ratio = rate / max(base) if base and is_weft(impl) else None
                slow = quiet.get(key, {}).get(impl, {}).get("rate", 0) / rate if rate else 0
                bad = (ratio is not None and ratio < 0.9) or slow > 10
                collapses += bad
                cell = (f"{ratio:.2f}x " if ratio is not None else "") + f"/{slow:.1f}"
                cells.append(f"{cell + ('!' if bad else ''):>19}")
            print(f"  {group + '/' + impl + '@' + str(threads):<34}" + "".join(
                f" {x}" for x in cells))
    print(f"\n'!' = collapse (weft < 0.9x pthread, or > 10x slower than quiet): {collapses}")
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
