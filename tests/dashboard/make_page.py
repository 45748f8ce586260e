#!/usr/bin/env python3
"""Generate the dashboard from tests/dashboard/fixtures and write what the
browser test (browser_test.cjs) must find in it, computed by
tools/dashboard.py from the same files.

    make_page.py OUT_DIR      # writes OUT_DIR/index.html, OUT_DIR/expect.json
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tools"))
import dashboard  # noqa: E402

FIXTURES = os.path.join(HERE, "fixtures")
# Samples whose p-values the page's JavaScript must compute as Python does:
# exact (no ties), normal with ties, normal past the exact size limit.
MW_CASES = [
    ([19, 22, 16, 29, 24], [20, 11, 17, 12]),
    ([1, 2, 2, 3, 5, 5, 8], [2, 3, 5, 6, 8, 9, 9, 10]),
    (list(range(0, 70, 2)), list(range(1, 61, 2))),
]


def charts_of(run):
    """{card: {chart kind: [series]}} as the page must draw them."""
    groups = {}
    for r in run["rows"]:
        lat = r["g"].endswith(dashboard.LAT_SUFFIX) and "lat" in r
        name = r["g"][:-len(dashboard.LAT_SUFFIX)] if lat else r["g"]
        g = groups.setdefault(name, {"rate": set(), "cpu": set(), "latency": set()})
        if lat:
            g["latency"].add(r["i"])
        else:
            g["rate"].add(r["i"])
            if r["cpu"]:
                g["cpu"].add(r["i"])
    out = {}
    for name, g in groups.items():
        if not g["rate"]:
            continue
        charts = {"rate": sorted(g["rate"]), "cpu": sorted(g["cpu"])}
        if g["latency"]:
            charts["latency"] = sorted(g["latency"])
        out[name] = charts
    return out


def thread_counts(run):
    """{card: number of thread counts} (the 'who wins' cells)."""
    out = {}
    for r in run["rows"]:
        if not (r["g"].endswith(dashboard.LAT_SUFFIX) and "lat" in r):
            out.setdefault(r["g"], set()).add(r["t"])
    return {g: len(ts) for g, ts in out.items()}


def expectations(runs, bars_doc):
    by_machine = {}
    for k, r in enumerate(runs):
        by_machine.setdefault(r["machine"], []).append(k)
    newest = max(range(len(runs)), key=lambda k: runs[k]["date"])
    machine = runs[newest]["machine"]
    other = [m for m in by_machine if m != machine]
    old = [k for k, r in enumerate(runs) if all(not row["cpu"] for row in r["rows"])]
    mine = by_machine[machine]
    if not other or not old or len(mine) < 2:
        sys.exit("fixtures need two machines, an old-format run and two runs of the newest machine")
    if runs[old[0]]["machine"] != machine:
        sys.exit("fixtures: the old-format run must be on the newest run's machine")
    # A/B: the old-format run against the newest (days apart: real changes).
    a, b = old[0], newest
    ab = {f"{g}/{i}/{t}": {"p": p, "verdict": v}
          for g, i, t, _, _, _, p, v in dashboard.compare_runs(runs[a], runs[b])}
    return {
        "runs": [{"id": r["id"], "machine": r["machine"], "groups": charts_of(r),
                  "threads": thread_counts(r),
                  "commit": r["context"].get("weft_git_commit", ""),
                  "bars": {x["id"]: x["status"] for x in dashboard.evaluate_bars(r, bars_doc, runs)}}
                 for r in runs],
        "run_index": list(range(len(runs))),
        "default_run": newest,
        "other_machine_run": by_machine[other[0]][-1],
        "old_run": old[0],
        "ab": {"a": a, "b": b, "rows": ab},
        "mann_whitney": [{"a": x, "b": y, "p": dashboard.mann_whitney(x, y)[1],
                          "method": dashboard.mann_whitney(x, y)[2]} for x, y in MW_CASES],
    }


def main():
    out_dir = sys.argv[1]
    runs = dashboard.load_runs([FIXTURES])
    bars_doc = dashboard.load_bars()
    page = dashboard.write_page(runs, os.path.join(out_dir, "index.html"), bars_doc)
    with open(os.path.join(out_dir, "expect.json"), "w") as f:
        json.dump(expectations(runs, bars_doc), f, indent=1)
    print(page)


if __name__ == "__main__":
    main()
