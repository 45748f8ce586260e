#!/usr/bin/env python3
"""How tests/dashboard/fixtures was made (kept to redo it after a format
change): real results of `tools/run bench`, cut down to a few cases.

    make_fixtures.py NEW1.json NEW2.json NEW3.json OLD.json   (NEW3 the oldest)

NEW1 and NEW2: two runs on this machine with the CPU and latency counters
(tools/run bench --repetitions 6 --filter '^(mutex/(handoff|counter|
uncontended)|cond/(pingpong|signal_no_waiter)|mpsc/pingpong|once/done)');
NEW3: a third such run, filed under a made-up second machine name (its
context says so) so that the machine selector has two machines to switch;
OLD: a committed result from before the CPU column, cut to the same cases.
Aggregate entries (mean, median, stddev, cv) stay in: the loader skips them.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
KEEP = re.compile(r"^(mutex/(handoff|counter|uncontended)|cond/(pingpong|signal_no_waiter)|"
                  r"mpsc/pingpong|once/done)(_lat)?/")
OTHER_MACHINE = "x86_64-fixture-second-machine-2c"


def cut(path, machine=None):
    with open(path) as f:
        data = json.load(f)
    data["benchmarks"] = [b for b in data["benchmarks"] if KEEP.match(b["run_name"])]
    ctx = data["context"]
    ctx.pop("executable", None)
    if machine:
        ctx["weft_note"] = (f"test fixture: a run on {ctx['weft_machine']} filed as a second "
                            "machine to exercise the machine selector")
        ctx["weft_machine"] = machine
    name = os.path.basename(path)
    out_dir = os.path.join(OUT, ctx["weft_machine"])
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, name), "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.write("\n")


def main():
    new1, new2, new3, old = sys.argv[1:5]
    cut(new1)
    cut(new2)
    cut(new3, OTHER_MACHINE)
    cut(old)


if __name__ == "__main__":
    main()
