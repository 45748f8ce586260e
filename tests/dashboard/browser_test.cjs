// tests/dashboard/browser_test.cjs - loads the dashboard generated from the
// fixtures (tests/dashboard/make_page.py) in Debian's headless Chromium
// through playwright-core and checks it against the expectations that
// tools/dashboard.py computed from the same files: every chart drew its
// series, the bars agree, the machine and run selectors switch runs, the A/B
// view computes the same Mann-Whitney verdicts as the Python code, and
// nothing was logged as an error or fetched from the network. Saves a
// screenshot. Prints "ok - ..." / "FAIL - ..." per check and, last,
// "N passed, N failed" (read by tools/run).
//
//   node browser_test.cjs --modules DIR/node_modules --page PAGE.html
//        --expect EXPECT.json --screenshot OUT.png [--chromium /usr/bin/chromium]
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");

function args() {
  const a = { chromium: "/usr/bin/chromium" };
  const v = process.argv.slice(2);
  for (let k = 0; k < v.length; k += 2) a[v[k].replace(/^--/, "")] = v[k + 1];
  for (const need of ["modules", "page", "expect", "screenshot"])
    if (!a[need]) { console.error(`browser_test: --${need} is required`); process.exit(2); }
  return a;
}

let passed = 0, failed = 0;
function check(name, ok, detail) {
  if (ok) { passed++; console.log(`ok - ${name}`); }
  else { failed++; console.log(`FAIL - ${name}${detail ? ": " + detail : ""}`); }
}

function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }
// Objects compared by content, not key order (the page lists bars whose rows
// are absent after the others).
function sameEntries(a, b) {
  return same(Object.entries(a || {}).sort(), Object.entries(b || {}).sort());
}

// What the page shows for the run it has selected: per card, the series of
// each chart (and how many marks each drew), the bars' statuses.
async function shown(page) {
  return page.evaluate(() => {
    const cards = {};
    for (const card of document.querySelectorAll("#groups .card")) {
      const charts = {};
      for (const s of card.querySelectorAll("svg.chart")) {
        const series = s.dataset.series ? s.dataset.series.split(",") : [];
        const marks = series.map(n => s.querySelectorAll(`g.series[data-impl="${n}"] circle`).length);
        charts[s.dataset.chart] = { series, marks };
      }
      cards[card.dataset.group] = charts;
    }
    const bars = {};
    for (const tr of document.querySelectorAll("#bars-body tr[data-bar]")) bars[tr.dataset.bar] = tr.dataset.status;
    const winners = [...document.querySelectorAll("#winners-table tr[data-group]")].map(
      tr => [tr.dataset.group, tr.querySelectorAll(".win").length]);
    return { run: document.body.dataset.run, cards, bars, winners,
             context: document.getElementById("context-table").textContent };
  });
}

async function checkRun(page, exp, label) {
  const got = await shown(page);
  check(`${label}: page shows run ${exp.id}`, got.run === exp.id, `shows ${got.run}`);
  check(`${label}: one card per primitive/case`, same(Object.keys(got.cards).sort(), Object.keys(exp.groups).sort()),
        `page ${Object.keys(got.cards)} vs ${Object.keys(exp.groups)}`);
  const wrong = [];
  let charts = 0, series = 0;
  for (const [group, want] of Object.entries(exp.groups)) {
    const card = got.cards[group] || {};
    for (const [kind, names] of Object.entries(want)) {
      const c = card[kind];
      charts++;
      series += names.length;
      if (!c || !same(c.series, names) || !c.marks.every(n => n > 0))
        wrong.push(`${group} ${kind}: ` + (c ? `series ${c.series} marks ${c.marks}, want ${names}` : "missing"));
    }
    for (const k of Object.keys(card)) if (!(k in want)) wrong.push(`${group}: unexpected ${k} chart`);
  }
  check(`${label}: all ${charts} charts drew their ${series} series (rate, CPU, latency)`,
        wrong.length === 0, wrong.slice(0, 4).join("; "));
  const wantWinners = Object.entries(exp.threads).sort();
  check(`${label}: 'who wins' names a winner per case and thread count`,
        same(got.winners.sort(), wantWinners), JSON.stringify(got.winners));
  check(`${label}: bars as tools/dashboard.py judged them`, sameEntries(got.bars, exp.bars),
        `page ${JSON.stringify(got.bars)}`);
  check(`${label}: machine context shows commit ${exp.commit.slice(0, 12)}`, got.context.includes(exp.commit));
}

async function main() {
  const a = args();
  const { chromium } = require(path.join(path.resolve(a.modules), "playwright-core"));
  const exp = JSON.parse(fs.readFileSync(a.expect, "utf8"));
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "weft-dashboard-chromium-"));
  // A fresh profile (playwright passes it as --user-data-dir).
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: a.chromium,
    headless: true,
    timeout: 120000,
    viewport: { width: 1400, height: 1000 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const errors = [], requests = [];
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(60000);
    page.on("console", m => { if (m.type() === "error" || m.type() === "warning") errors.push(m.text()); });
    page.on("pageerror", e => errors.push(String(e)));
    page.on("request", r => { if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) requests.push(r.url()); });
    await page.goto("file://" + path.resolve(a.page));
    await page.waitForSelector("body[data-ready]");

    await checkRun(page, exp.runs[exp.default_run], "default run");

    // Machine selector: the other machine's newest run.
    await page.selectOption("#machine", exp.runs[exp.other_machine_run].machine);
    await page.waitForFunction(id => document.body.dataset.run === id, exp.runs[exp.other_machine_run].id);
    await checkRun(page, exp.runs[exp.other_machine_run], "machine selector");

    // Run selector: an older run (results from before the CPU column).
    await page.selectOption("#machine", exp.runs[exp.old_run].machine);
    await page.selectOption("#run", String(exp.run_index[exp.old_run]));
    await page.waitForFunction(id => document.body.dataset.run === id, exp.runs[exp.old_run].id);
    await checkRun(page, exp.runs[exp.old_run], "run selector");

    // The page's Mann-Whitney against Python's on fixed samples (both paths).
    const mw = await page.evaluate(cases => cases.map(c => mannWhitney(c.a, c.b)), exp.mann_whitney);
    const mwBad = exp.mann_whitney.filter((c, k) => mw[k].method !== c.method ||
                                          Math.abs(mw[k].p - c.p) > 1e-6 * Math.max(1e-3, c.p));
    check(`Mann-Whitney in the page equals Python's (${exp.mann_whitney.map(c => c.method)})`,
          mwBad.length === 0, JSON.stringify(mw));

    // A/B: the same verdicts and p-values as tools/dashboard.py's compare_runs.
    await page.selectOption("#ab-a", String(exp.ab.a));
    await page.selectOption("#ab-b", String(exp.ab.b));
    const ab = await page.evaluate(() => [...document.querySelectorAll("#ab-table tr[data-row]")].map(
      tr => ({ row: tr.dataset.row, verdict: tr.dataset.verdict, p: Number(tr.dataset.p) })));
    const want = exp.ab.rows;
    check("A/B: one row per row in both runs", ab.length === Object.keys(want).length,
          `${ab.length} vs ${Object.keys(want).length}`);
    const bad = ab.filter(r => !want[r.row] || want[r.row].verdict !== r.verdict ||
                               Math.abs(want[r.row].p - r.p) > 1e-6 * Math.max(1, want[r.row].p));
    check("A/B: Mann-Whitney p and verdict per row equal Python's", bad.length === 0,
          bad.slice(0, 3).map(r => `${r.row}: page ${r.verdict} p=${r.p}, python ` +
                                   JSON.stringify(want[r.row])).join("; "));
    const outside = Object.values(want).filter(r => r.verdict === "faster" || r.verdict === "slower").length;
    check("A/B: the fixtures have changes outside the noise to show", outside > 0);
    await page.check("#ab-only");
    const n = await page.locator("#ab-table tr[data-row]").count();
    check("A/B: 'only changes outside the noise' filters", n === outside, `${n} vs ${outside}`);
    await page.uncheck("#ab-only");

    // Back to the default run for the screenshot.
    await page.selectOption("#machine", exp.runs[exp.default_run].machine);
    await page.selectOption("#run", String(exp.run_index[exp.default_run]));
    await page.waitForFunction(id => document.body.dataset.run === id, exp.runs[exp.default_run].id);
    await page.evaluate(() => window.scrollTo(0, 0)); // the sticky header at the top
    fs.mkdirSync(path.dirname(path.resolve(a.screenshot)), { recursive: true });
    await page.screenshot({ path: a.screenshot, fullPage: true });
    check(`screenshot saved (${a.screenshot})`, fs.statSync(a.screenshot).size > 10000);
  } catch (e) {
    check("page loaded and answered", false, String(e && e.stack || e));
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  check("no console errors or warnings", errors.length === 0, errors.slice(0, 5).join(" | "));
  check("no network requests (self-contained page)", requests.length === 0, requests.slice(0, 5).join(" "));
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch(e => { console.log(`FAIL - browser test: ${e && e.stack || e}`); console.log(`${passed} passed, ${failed + 1} failed`); process.exit(1); });
