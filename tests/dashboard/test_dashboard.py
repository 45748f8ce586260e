#!/usr/bin/env python3
"""Tests of tools/dashboard.py: the Mann-Whitney U test against known
results and brute force, the bars of tools/bars.json, loading old and new
result files, and the generated page. Run by tools/run test; prints
"N passed, N failed" last.

    python3 tests/dashboard/test_dashboard.py
"""
import contextlib
import io
import itertools
import json
import os
import random
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import dashboard  # noqa: E402
import bench_report  # noqa: E402
import conditions  # noqa: E402

FIXTURES = os.path.join(HERE, "fixtures")


def brute_u(a, b):
    """U of a by its definition: pairs with a above b, ties counting 1/2."""
    return sum(1.0 if x > y else 0.5 if x == y else 0.0 for x in a for y in b)


def brute_exact_p(a, b):
    """Two-sided exact p by enumerating every split of the pooled values."""
    pooled = list(a) + list(b)
    u = brute_u(a, b)
    low = high = total = 0
    for idx in itertools.combinations(range(len(pooled)), len(a)):
        rest = [pooled[k] for k in range(len(pooled)) if k not in idx]
        v = brute_u([pooled[k] for k in idx], rest)
        total += 1
        low += v <= u
        high += v >= u
    return min(1.0, 2 * min(low, high) / total)


class MannWhitney(unittest.TestCase):
    # scipy.stats.mannwhitneyu's documented example (Conover's ages of male
    # and female patients): U = 17, exact p = 0.1111..., asymptotic
    # (continuity-corrected) p = 0.11134688653314041.
    MALES = [19, 22, 16, 29, 24]
    FEMALES = [20, 11, 17, 12]

    def test_known_example_exact(self):
        u, p, method = dashboard.mann_whitney(self.MALES, self.FEMALES)
        self.assertEqual(method, "exact")
        self.assertEqual(u, 17)
        self.assertAlmostEqual(p, 1 / 9, places=12)

    def test_known_example_normal(self):
        u, p, method = dashboard.mann_whitney(self.MALES, self.FEMALES, method="normal")
        self.assertEqual(u, 17)
        self.assertAlmostEqual(p, 0.11134688653314041, places=10)

    def test_u_counts_pairs_with_ties(self):
        rng = random.Random(7)
        for _ in range(200):
            a = [rng.randint(0, 6) for _ in range(rng.randint(1, 8))]
            b = [rng.randint(0, 6) for _ in range(rng.randint(1, 8))]
            self.assertEqual(dashboard.mann_whitney(a, b)[0], brute_u(a, b))

    def test_exact_p_matches_enumeration(self):
        rng = random.Random(11)
        for n1, n2 in ((1, 1), (2, 3), (3, 3), (4, 5), (5, 4), (6, 6)):
            for _ in range(5):
                vals = rng.sample(range(1000), n1 + n2)
                a, b = vals[:n1], vals[n1:]
                _, p, method = dashboard.mann_whitney(a, b)
                self.assertEqual(method, "exact")
                self.assertAlmostEqual(p, brute_exact_p(a, b), places=12)

    def test_distribution_is_the_gaussian_binomial(self):
        dist = dashboard._u_distribution(3, 3)
        self.assertEqual(dist, [1, 1, 2, 3, 3, 3, 3, 2, 1, 1])  # C(6,3) = 20 in all
        self.assertEqual(sum(dashboard._u_distribution(7, 5)), 792)  # C(12,5)

    def test_three_repetitions_cannot_reach_five_percent(self):
        self.assertAlmostEqual(dashboard.min_p(3, 3), 0.1)
        _, p, _ = dashboard.mann_whitney([1, 2, 3], [4, 5, 6])
        self.assertAlmostEqual(p, 0.1)
        self.assertLess(dashboard.min_p(5, 5), 0.05)

    def test_separated_samples_are_significant_with_enough_repetitions(self):
        _, p, _ = dashboard.mann_whitney([1, 2, 3, 4, 5, 6, 7], [11, 12, 13, 14, 15, 16, 17])
        self.assertLess(p, 0.001)
        _, p, _ = dashboard.mann_whitney([1, 5, 2, 6, 3, 7, 4], [4.5, 1.5, 6.5, 2.5, 5.5, 3.5, 7.5])
        self.assertGreater(p, 0.5)


def run_of(rows, machine="m", date="2026-01-01T00:00:00"):
    """A run record from {(group, impl, threads): (rates, cpus or None)}."""
    return {"id": f"{machine}/{date}", "file": "", "machine": machine, "date": date,
            "context": {}, "rows": [{"g": g, "i": i, "t": t, "rate": list(r), "cpu": c}
                                    for (g, i, t), (r, c) in rows.items()]}


def bar(**kw):
    b = {"id": "x", "source": "test", "text": "x", "cpu": True}
    b.update(kw)
    return b


class Bars(unittest.TestCase):
    RUN = run_of({
        ("mutex/counter", "weft", 1): ([300, 310, 290], [10, 10, 10]),
        ("mutex/counter", "pthread", 1): ([100, 100, 100], [5, 5, 5]),
        ("mutex/counter", "weft", 2): ([150, 150, 150], [10, 10, 10]),
        ("mutex/counter", "pthread", 2): ([100, 100, 100], [10, 10, 10]),
        ("q/x", "weft", 2): ([120], None), ("q/x", "a", 2): ([100], None),
        ("q/x", "b", 2): ([110], None),
        ("ring/bulk32", "weft", 2): ([300], None), ("ring/mpmc", "weft", 2): ([100], None),
    })

    def judge(self, b):
        return dashboard.evaluate_bar(b, dashboard.medians(self.RUN), 1.5)

    def test_wall_bar_met_and_missed_at_the_worst_row(self):
        r = self.judge(bar(rows=["mutex/counter"], threads=[1, 2], vs=["pthread"], wall_min=1.4))
        self.assertEqual((r["status"], r["value"]), ("met", 1.5))
        r = self.judge(bar(rows=["mutex/counter"], threads=[1, 2], vs=["pthread"], wall_min=2))
        self.assertEqual(r["status"], "missed")
        self.assertIn("2t", r["where"])

    def test_time_bar(self):
        r = self.judge(bar(rows=["mutex/counter"], threads=[1], vs=["pthread"], time_max=0.4))
        self.assertEqual(r["status"], "met")
        self.assertAlmostEqual(r["value"], 1 / 3)

    def test_cpu_rule(self):
        r = self.judge(bar(rows=["mutex/counter"], threads=[1, 2], vs=["pthread"], wall_min=1))
        self.assertEqual((r["cpu"], r["cpu_value"]), ("missed", 2.0))
        r = self.judge(bar(rows=["q/x"], threads=[2], vs=["a"], wall_min=1))
        self.assertEqual(r["cpu"], "not measured")  # a result older than the CPU column

    def test_best_of_peers(self):
        r = self.judge(bar(rows=["q/x"], threads=[2], vs=["a", "b"], vs_mode="best", wall_min=1.05))
        self.assertEqual(r["status"], "met")
        self.assertAlmostEqual(r["value"], 120 / 110)
        self.assertIn("vs b", r["where"])

    def test_each_row_against_the_baselines_it_has(self):
        # q/x has a and b; mutex/counter has neither: one missing cell.
        r = self.judge(bar(rows=["q/x"], threads=[2], vs=["a", "c"], vs_mode="present",
                           wall_min=1.1))
        self.assertEqual((r["status"], r["value"]), ("met", 1.2))
        r = self.judge(bar(rows=["q/x", "mutex/counter"], threads=[2], vs=["a", "c"],
                           vs_mode="present", wall_min=1.1))
        self.assertEqual(r["status"], "not measured")
        r = self.judge(bar(rows=["q/x"], threads=[2], vs=["a", "b"], vs_mode="present",
                           wall_min=1.1))
        self.assertEqual(r["status"], "missed")  # 1.09x b

    def test_other_group_and_missing_rows(self):
        r = self.judge(bar(rows=["ring/bulk32"], threads=[2], vs=["weft"], vs_group="ring/mpmc",
                           wall_min=3))
        self.assertEqual((r["status"], r["value"]), ("met", 3.0))
        r = self.judge(bar(rows=["mutex/counter"], threads=[2, 4], vs=["pthread"], wall_min=1))
        self.assertEqual(r["status"], "not measured")  # the 4-thread row is absent
        r = self.judge(bar(rows=["chan/x"], vs=["pthread"], wall_min=1, tentative=True))
        self.assertEqual(r["status"], "not measured")
        r = self.judge(bar(manual="a special run"))
        self.assertEqual(r["status"], "not measured")

    def test_patterns_and_every_peer(self):
        r = self.judge(bar(rows=["*"], vs=["*"], wall_min=1.05))
        self.assertEqual(r["status"], "met")  # q/x 1.09x b is the worst row
        r = self.judge(bar(rows=["q/*"], vs=["*"], wall_min=1.1))
        self.assertEqual(r["status"], "missed")

    def test_bars_file_is_well_formed(self):
        doc = dashboard.load_bars()
        ids = [b["id"] for b in doc["bars"]]
        self.assertEqual(len(ids), len(set(ids)))
        for b in doc["bars"]:
            if b.get("manual"):
                continue
            if "condition" in b:
                self.assertIn(b["condition"], ("pinned", "quota", "neighbour"), b["id"])
                self.assertTrue(b["rows"] and "slowdown_max" in b and "vs" not in b, b["id"])
                continue
            if "counter" in b:
                self.assertIn(b["counter"], dashboard.KEPT_COUNTERS, b["id"])
                self.assertTrue(b["rows"] and "counter_max" in b and "vs" not in b, b["id"])
                continue
            self.assertTrue(("wall_min" in b) != ("time_max" in b), b["id"])
            self.assertTrue(b["rows"] and b["vs"], b["id"])

    def test_counter_bar(self):
        run = run_of({("rt/s", "weft", 1): ([1, 1, 1], None), ("rt/s", "tokio", 1): ([1], None)})
        run["rows"][0]["counters"] = {"weft_done_ms": [110, 130, 115]}  # median 115
        run["rows"][1]["counters"] = {"weft_done_ms": [500]}  # a peer's: not judged
        med = dashboard.medians(run)
        r = dashboard.evaluate_bar(bar(rows=["rt/s"], counter="weft_done_ms", counter_max=120), med, 1.5)
        self.assertEqual((r["status"], r["value"], r["cpu"]), ("met", 115, "-"))
        r = dashboard.evaluate_bar(bar(rows=["rt/s"], counter="weft_done_ms", counter_max=100), med, 1.5)
        self.assertEqual(r["status"], "missed")
        r = dashboard.evaluate_bar(bar(rows=["rt/s"], counter="weft_peak_rss_mib", counter_max=1), med, 1.5)
        self.assertEqual(r["status"], "not measured")  # no such counter in the run
        r = dashboard.evaluate_bar(bar(rows=["rt/s"], threads=[1, 2], counter="weft_done_ms",
                                       counter_max=120), med, 1.5)
        self.assertEqual(r["status"], "not measured")  # the 2-thread row is absent

    def test_counter_bar_only_if(self):
        run = run_of({("rt/s", "weft", 1): ([1, 1, 1], None)})
        run["rows"][0]["counters"] = {"weft_peak_rss_mib": [50, 60, 70],
                                      "weft_most_asleep": [90000, 100000, 100000]}
        only = {"counter": "weft_most_asleep", "min": 100000}
        b = bar(rows=["rt/s"], counter="weft_peak_rss_mib", counter_max=100, only_if=only)
        r = dashboard.evaluate_bar(b, dashboard.medians(run), 1.5)
        self.assertEqual((r["status"], r["value"]), ("met", 60))
        run["rows"][0]["counters"]["weft_most_asleep"] = [13000, 14000, 100000]
        r = dashboard.evaluate_bar(b, dashboard.medians(run), 1.5)
        self.assertEqual(r["status"], "not measured")  # not all asleep at once: no verdict
        self.assertIn("most_asleep 14000 < 100000", r["note"])

    def test_counters_are_loaded(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "r.json")
            rep = {"run_name": "rt/s/weft/real_time/threads:1", "run_type": "iteration",
                   "items_per_second": 5.0, "weft_cpu_ns": 10.0, "weft_items": 1.0,
                   "weft_done_ms": 101.5, "weft_peak_rss_mib": 64.0}
            with open(path, "w") as f:
                json.dump({"context": {}, "benchmarks": [rep, dict(rep, weft_done_ms=103.5)]}, f)
            run = dashboard.load_run(path)
        self.assertEqual(run["rows"][0]["counters"],
                         {"weft_done_ms": [101.5, 103.5], "weft_peak_rss_mib": [64.0, 64.0]})
        med = dashboard.medians(run)[("rt/s", "weft", 1)]
        self.assertEqual(med["counters"]["weft_done_ms"], 102.5)


class ConditionBars(unittest.TestCase):
    PINNED = bar(id="p", rows=["chan/a", "chan/b"], condition="pinned", slowdown_max=2, cpu=False)

    def runs(self, pinned_rates, commit="c1", cond="pinned to CPU 0 (taskset)"):
        quiet = run_of({("chan/a", "weft", 2): ([100, 100, 100], None),
                        ("chan/b", "weft", 2): ([50, 50, 50], None),
                        ("chan/a", "x", 2): ([10], None)}, date="2026-01-01T00:00:00+00:00")
        quiet["context"] = {"weft_git_commit": "c1"}
        quiet["condition"] = "quiet"
        pinned = run_of({("chan/a", "weft", 2): (pinned_rates[0], None),
                         ("chan/b", "weft", 2): (pinned_rates[1], None)},
                        date="2026-01-01T00:01:00+00:00")
        pinned["context"] = {"weft_git_commit": commit, "weft_condition": cond}
        pinned["condition"] = dashboard.condition_of(pinned["context"])
        return quiet, pinned

    def judge(self, quiet, pinned):
        doc = {"cpu_limit": 1.5, "bars": [self.PINNED]}
        return dashboard.evaluate_bars(quiet, doc, [quiet, pinned])[0]

    def test_met_and_missed_at_the_slowest_row(self):
        r = self.judge(*self.runs(([60, 60, 60], [30, 30, 30])))
        self.assertEqual(r["status"], "met")
        self.assertAlmostEqual(r["value"], 100 / 60)
        self.assertIn("chan/a", r["where"])
        r = self.judge(*self.runs(([60, 60, 60], [20, 20, 20])))  # b: 2.5x slower
        self.assertEqual((r["status"], r["value"]), ("missed", 2.5))
        self.assertIn("chan/b", r["where"])

    def test_needs_a_pinned_run_of_the_same_commit(self):
        quiet, pinned = self.runs(([60], [30]), commit="c2")
        r = self.judge(quiet, pinned)
        self.assertEqual(r["status"], "not measured")
        self.assertIn("--condition pinned", r["note"])
        quiet, quota = self.runs(([60], [30]), cond="cgroup CPU quota 1 of 2 CPUs")
        self.assertEqual(self.judge(quiet, quota)["status"], "not measured")

    def test_condition_runs_are_not_latest_nor_judged_by_condition_bars(self):
        quiet, pinned = self.runs(([60], [30]))
        doc = {"cpu_limit": 1.5, "bars": [self.PINNED, bar(rows=["chan/a"], vs=["x"], wall_min=1)]}
        got = {r["id"]: r["status"] for r in dashboard.evaluate_bars(pinned, doc, [quiet, pinned])}
        self.assertEqual(got["p"], "not measured")
        self.assertIs(dashboard.latest_per_machine([quiet, pinned])[0], quiet)
        lines = dashboard.summary_lines(quiet, doc, [quiet, pinned])
        self.assertRegex(lines[0], r"2 met, 0 missed, 0 not measured")
        self.assertIn("1.67x slower", "\n".join(lines))


def bench_data(rows):
    """Google Benchmark JSON from {run_name: [items/s per repetition]}."""
    return {"benchmarks": [{"run_name": n, "items_per_second": r}
                           for n, rs in rows.items() for r in rs]}


class ConditionsCompare(unittest.TestCase):
    """tools/conditions.py: a collapse is past its line in the repetitions,
    not only in the medians."""

    def test_past_line(self):
        line = [100, 101, 102, 103, 104]
        self.assertEqual(conditions.past_line([105, 106, 107, 108, 109], line), "")
        self.assertEqual(conditions.past_line([50, 51, 52, 53, 54], line), "!")
        # the same medians with the repetitions spread across the line
        self.assertEqual(conditions.past_line([50, 51, 52, 150, 160], line), "~")
        # too few repetitions to test: the medians decide, as before
        self.assertEqual(conditions.past_line([99, 100], [100, 101]), "!")

    def compare(self, weft_neighbour, pthread_neighbour=(50, 51, 52, 53, 54)):
        quiet = bench_data({"x/a/weft/real_time/threads:2": [100, 101, 102, 103, 104],
                            "x/a/pthread/real_time/threads:2": [50, 51, 52, 53, 54]})
        neighbour = bench_data({"x/a/weft/real_time/threads:2": weft_neighbour,
                                "x/a/pthread/real_time/threads:2": list(pthread_neighbour)})
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            n = conditions.compare({"quiet": quiet, "neighbour": neighbour},
                                   bench_report.collect, dashboard.is_weft)
        return n, out.getvalue()

    def test_a_collapse_is_counted_and_a_spread_is_not(self):
        n, out = self.compare([40, 41, 42, 43, 44])  # 0.81x in every repetition
        self.assertEqual(n, 1)
        self.assertIn("0.81x /2.4!", out)
        n, out = self.compare([40, 41, 42, 90, 95])  # 0.81x in the medians only
        self.assertEqual(n, 0)
        self.assertIn("0.81x /2.4~", out)
        # > 10x slower than quiet, and so is pthread: only that line
        n, out = self.compare([8, 9, 9.5, 9.8, 9.9], [5, 5.1, 5.2, 5.3, 5.4])
        self.assertEqual(n, 1)
        self.assertIn("1.83x /10.7!", out)
        n, out = self.compare([8, 9, 9.5, 99, 99], [5, 5.1, 5.2, 5.3, 5.4])
        self.assertEqual((n, "1.83x /10.7~" in out), (0, True))


class Results(unittest.TestCase):
    def test_fixtures_load_old_and_new(self):
        runs = dashboard.load_runs([FIXTURES])
        self.assertGreaterEqual(len(runs), 4)
        old = [r for r in runs if all(row["cpu"] is None for row in r["rows"])]
        new = [r for r in runs if any(row["cpu"] for row in r["rows"])]
        self.assertTrue(old and new)
        lat = [row for r in new for row in r["rows"] if row["g"].endswith("_lat")]
        self.assertTrue(lat and all(set(row["lat"]) >= {"p50", "p99", "p99.9"} for row in lat))
        for row in lat:  # percentiles are ordered in every repetition
            for p50, p99, p999 in zip(row["lat"]["p50"], row["lat"]["p99"], row["lat"]["p99.9"]):
                self.assertLessEqual(p50, p99)
                self.assertLessEqual(p99, p999)
        for r in runs:  # aggregates (mean, median, stddev, cv) are not repetitions
            reps = {len(row["rate"]) for row in r["rows"]}
            self.assertEqual(len(reps), 1, r["id"])

    def test_committed_results_make_a_page(self):
        runs = dashboard.load_runs([os.path.join(ROOT, "results")])
        self.assertTrue(runs)
        with tempfile.TemporaryDirectory() as d:
            out = dashboard.write_page(runs, os.path.join(d, "index.html"))
            text = open(out).read()
        self.assertNotIn("http://", text.replace("http://www.w3.org/2000/svg", ""))
        self.assertNotIn("https://", text)
        marker = '<script type="application/json" id="weft-data">'
        start = text.index(marker) + len(marker)
        end = text.index("</script>", start)
        data = json.loads(text[start:end])
        self.assertEqual(len(data["runs"]), len(runs))

    def test_summary_names_every_judged_bar(self):
        runs = dashboard.load_runs([FIXTURES])
        doc = dashboard.load_bars()
        lines = dashboard.summary_lines(runs[-1], doc)
        self.assertRegex(lines[0], r"\d+ met, \d+ missed, \d+ not measured")

    def test_summary_warns_of_steal(self):
        doc = {"cpu_limit": 1.5, "bars": [bar(rows=["g"], vs=["x"], wall_min=1)]}
        r = run_of({("g", "weft", 1): ([2], None), ("g", "x", 1): ([1], None)})
        for steal, warned in (("39.2", True), ("0.4", False), (None, False)):
            r["context"] = {} if steal is None else {"weft_steal_pct": steal}
            text = "\n".join(dashboard.summary_lines(r, doc))
            self.assertEqual("took" in text, warned, steal)
        r["context"] = {"weft_steal_pct": "39.2"}
        self.assertIn("39.2%", dashboard.summary_lines(r, doc)[1])

    def test_steal_share_from_proc_stat_counters(self):
        self.assertAlmostEqual(bench_report.steal_pct((10, 1000), (60, 2000)), 5.0)
        self.assertIsNone(bench_report.steal_pct(None, (60, 2000)))
        self.assertIsNone(bench_report.steal_pct((10, 1000), (10, 1000)))

    def test_compare_runs_verdicts(self):
        a = run_of({("g", "weft", 1): ([1, 2, 3, 4, 5], None), ("g", "x", 1): ([1, 2, 3], None)})
        b = run_of({("g", "weft", 1): ([11, 12, 13, 14, 15], None), ("g", "x", 1): ([4, 5, 6], None)})
        got = {r[1]: r[-1] for r in dashboard.compare_runs(a, b)}
        self.assertEqual(got, {"weft": "faster", "x": "too few repetitions"})


def main():
    log = io.StringIO()  # shown only on failure: tools/run prints what is not "ok"
    result = unittest.TextTestRunner(stream=log, verbosity=2).run(
        unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__]))
    failed = len(result.failures) + len(result.errors)
    if failed:
        print(log.getvalue())
    print(f"{result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
