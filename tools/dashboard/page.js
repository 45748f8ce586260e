// tools/dashboard/page.js - the dashboard's script, inlined into the page by
// tools/dashboard.py together with the data (the JSON script
// element "weft-data": runs, their rows' repetitions and the bars of tools/bars.json as
// judged by tools/dashboard.py). Hand-written SVG charts, no library.
"use strict";

const DATA = JSON.parse(document.getElementById("weft-data").textContent);
const RUNS = DATA.runs;
const BARS = DATA.bars;
const LAT = DATA.lat_suffix;
const SVGNS = "http://www.w3.org/2000/svg";

// ------------------------------------------------------------- helpers

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmtNum(v) {
  if (v == null || !isFinite(v)) return "-";
  const units = [["G", 1e9], ["M", 1e6], ["k", 1e3]];
  for (const [u, s] of units) if (Math.abs(v) >= s) return (v / s).toPrecision(3) + u;
  return Number(v.toPrecision(3)).toString();
}

function fmtRatio(v) { return v == null ? "-" : v.toFixed(2) + "x"; }

function isWeft(impl) { return impl === "weft" || impl.startsWith("weft_"); }

function runLabel(r) {
  const c = r.context;
  const commit = (c.weft_git_commit || "").slice(0, 10);
  const reps = r.rows.length ? r.rows[0].rate.length : 0;
  return `${(r.date || "").replace("T", " ").slice(0, 19)} · ${commit || r.id} · ${reps} reps`;
}

function cores(run) {
  return Number(run.context.weft_cores || run.context.num_cpus || 0);
}

// One colour per implementation across the whole page: weft rows in warm
// colours, baselines from a cool palette, in a stable (sorted) order.
const COLORS = (() => {
  const warm = ["#d9480f", "#c2255c", "#f08c00", "#8b4513"];
  const cool = ["#1c7ed6", "#2f9e44", "#7048e8", "#495057", "#0c8599", "#5c940d",
                "#364fc7", "#9c36b5", "#087f5b", "#15aabf", "#868e96", "#74b816"];
  const impls = new Set();
  for (const r of RUNS) for (const row of r.rows) impls.add(row.i);
  const map = {};
  let w = 0, c = 0;
  for (const i of [...impls].sort()) {
    map[i] = isWeft(i) ? warm[w++ % warm.length] : cool[c++ % cool.length];
  }
  return map;
})();

// --------------------------------------------------- Mann-Whitney U test
// The same test as mann_whitney() in tools/dashboard.py: two-sided; the
// exact distribution of U when there are no ties and at most exact_max
// values, else the normal approximation with tie and continuity corrections.

function uDistribution(n1, n2) {
  // Coefficients of the Gaussian binomial [n1+n2 choose n1]_q: the number of
  // orderings of n1 + n2 distinct values giving each U.
  const size = n1 * n2 + 1;
  const c = new Array(size).fill(0);
  c[0] = 1;
  for (let i = 1; i <= n1; i++) {
    for (let k = size - 1; k >= n2 + i; k--) c[k] -= c[k - n2 - i];
    for (let k = i; k < size; k++) c[k] += c[k - i];
  }
  return c;
}

function ranks(values) {
  const order = values.map((_, k) => k).sort((a, b) => values[a] - values[b]);
  const r = new Array(values.length);
  const ties = [];
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]] === values[order[i]]) j++;
    for (let k = i; k <= j; k++) r[order[k]] = (i + j) / 2 + 1;
    ties.push(j - i + 1);
    i = j + 1;
  }
  return { r, ties };
}

function erfc(x) {
  // Numerical Recipes' erfcc: fractional error below 1.2e-7.
  const z = Math.abs(x), t = 1 / (1 + 0.5 * z);
  const y = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 +
    t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 +
    t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? y : 2 - y;
}

function mannWhitney(a, b) {
  const n1 = a.length, n2 = b.length;
  if (!n1 || !n2) return { u: null, p: 1, method: "none" };
  const { r, ties } = ranks([...a, ...b]);
  let sum = 0;
  for (let k = 0; k < n1; k++) sum += r[k];
  const u = sum - n1 * (n1 + 1) / 2;
  if (ties.every(t => t === 1) && n1 + n2 <= DATA.exact_max) {
    const dist = uDistribution(n1, n2);
    const total = dist.reduce((s, x) => s + x, 0);
    const k = Math.round(u);
    let low = 0, high = 0;
    for (let i = 0; i < dist.length; i++) {
      if (i <= k) low += dist[i];
      if (i >= k) high += dist[i];
    }
    return { u, p: Math.min(1, 2 * Math.min(low, high) / total), method: "exact" };
  }
  const n = n1 + n2, mu = n1 * n2 / 2;
  const tieTerm = ties.reduce((s, t) => s + t * t * t - t, 0) / (n * (n - 1));
  const v = n1 * n2 / 12 * ((n + 1) - tieTerm);
  if (v <= 0) return { u, p: 1, method: "normal" };
  const z = Math.max(0, Math.abs(u - mu) - 0.5) / Math.sqrt(v);
  return { u, p: Math.min(1, erfc(z / Math.SQRT2)), method: "normal" };
}

function minP(n1, n2) {
  // Smallest two-sided exact p for these sizes: 2 / C(n1+n2, n1).
  let c = 1;
  for (let i = 1; i <= n1; i++) c = c * (n2 + i) / i;
  return Math.min(1, 2 / c);
}

// ----------------------------------------------------------------- charts

function niceTicks(lo, hi, log) {
  if (log) {
    const ticks = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** e;
        if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(v);
      }
    }
    if (ticks.length > 7) return ticks.filter(v => Math.abs(Math.log10(v) % 1) < 1e-9);
    return ticks;
  }
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / 5;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(s => s >= step0);
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi * 1.0001; v += step) ticks.push(v);
  return ticks;
}

// series: [{name, color, pts: [{x: index into xs, y, lo, hi, title}]}]
function lineChart({ kind, xs, series, overFrom, width = 410, height = 240, emptyText }) {
  const m = { l: 58, r: 12, t: 10, b: 34 };
  const W = width - m.l - m.r, H = height - m.t - m.b;
  const root = svg("svg", { class: "chart", width, height, viewBox: `0 0 ${width} ${height}`,
                            "data-chart": kind,
                            "data-series": series.map(s => s.name).join(",") });
  const vals = series.flatMap(s => s.pts.flatMap(p => [p.lo, p.hi, p.y])).filter(v => v > 0);
  if (!vals.length) {
    const t = svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "empty-msg" });
    t.textContent = emptyText || "no data";
    root.append(t);
    return root;
  }
  let lo = Math.min(...vals), hi = Math.max(...vals);
  const log = hi / lo > 30;
  if (log) { lo /= 1.3; hi *= 1.3; } else { lo = 0; hi *= 1.08; }
  const yOf = v => m.t + H - (log ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))
                                 : (v - lo) / (hi - lo)) * H;
  const xOfCategory = i => m.l + (xs.length === 1 ? W / 2 : (i + 0.5) * W / xs.length);
  const xOf = xOfCategory;
  if (overFrom != null && overFrom < xs.length) {
    const x0 = xs.length === 1 ? m.l : m.l + overFrom * W / xs.length;
    root.append(svg("rect", { class: "over", x: x0, y: m.t, width: m.l + W - x0, height: H }));
    const t = svg("text", { x: m.l + W - 4, y: m.t + 11, "text-anchor": "end" });
    t.textContent = "oversubscribed";
    root.append(t);
  }
  for (const v of niceTicks(lo, hi, log)) {
    const y = yOf(v);
    root.append(svg("line", { class: "grid", x1: m.l, x2: m.l + W, y1: y, y2: y }));
    const t = svg("text", { x: m.l - 5, y: y + 4, "text-anchor": "end" });
    t.textContent = fmtNum(v);
    root.append(t);
  }
  root.append(svg("line", { class: "axis", x1: m.l, x2: m.l + W, y1: m.t + H, y2: m.t + H }));
  root.append(svg("line", { class: "axis", x1: m.l, x2: m.l, y1: m.t, y2: m.t + H }));
  xs.forEach((label, i) => {
    const t = svg("text", { x: xOf(i), y: m.t + H + 14, "text-anchor": "middle" });
    t.textContent = label;
    root.append(t);
  });
  const scale = svg("text", { x: m.l + W, y: height - 4, "text-anchor": "end" });
  scale.textContent = log ? "log scale" : "";
  root.append(scale);
  // Series side by side around each x, so that whiskers do not overlap.
  const slot = xs.length === 1 ? Math.min(40, W * 0.6 / series.length)
                               : Math.min(6, W / xs.length * 0.3 / series.length);
  series.forEach((s, k) => {
    const dx = (k - (series.length - 1) / 2) * slot;
    const xOf = i => xOfCategory(i) + dx;
    const pts = [...s.pts].sort((a, b) => a.x - b.x);
    const g = svg("g", { "data-impl": s.name, class: "series" });
    if (pts.length > 1) {
      const top = pts.map(p => `${xOf(p.x)},${yOf(p.hi)}`);
      const bottom = pts.map(p => `${xOf(p.x)},${yOf(p.lo)}`).reverse();
      g.append(svg("polygon", { class: "band", fill: s.color, points: [...top, ...bottom].join(" ") }));
      g.append(svg("path", { class: "line", stroke: s.color, "data-impl": s.name,
                             d: "M" + pts.map(p => `${xOf(p.x)},${yOf(p.y)}`).join("L") }));
    }
    for (const p of pts) {
      if (pts.length === 1)
        g.append(svg("line", { stroke: s.color, "stroke-width": 2, x1: xOf(p.x), x2: xOf(p.x),
                               y1: yOf(p.lo), y2: yOf(p.hi) }));
      // Hollow: a percentile from too small a sample (see LAT_NEED).
      const c = svg("circle", { cx: xOf(p.x), cy: yOf(p.y), r: 3.2, fill: p.weak ? "#fff" : s.color,
                                stroke: s.color, "stroke-width": p.weak ? 1.5 : 0 });
      const title = svg("title", {});
      title.textContent = p.title;
      c.append(title);
      g.append(c);
    }
    root.append(g);
  });
  return root;
}

function legend(impls) {
  const d = el("div", { class: "legend" });
  for (const i of impls) {
    const s = el("span", { class: isWeft(i) ? "weft" : "", text: i });
    s.style.setProperty("--c", COLORS[i]);
    d.append(s);
  }
  return d;
}

// ------------------------------------------------------------ the views

const GROUP_NOTES = {
  "mpsc/throughput": "threads = producers + 1 consumer",
  "ring/mpmc": "threads = producers + consumers, half each",
  "ring/bulk32": "threads = producers + consumers, half each; 32-item batches",
  "cond/broadcast": "1 broadcaster + 8 waiters; one item = one broadcast round",
  "mutex/handoff": "two threads take strict turns; one item = one hand-off",
  "cond/pingpong": "two threads take turns through a mutex and a cond; one item = one hand-off",
  "ring/pingpong": "one item bounced between two threads; one item = one round trip",
  "mpsc/pingpong": "one item bounced between two threads; one item = one round trip",
};

function groupsOf(run) {
  // {group: {impl: {threads: row}}}, latency rows under their base group.
  const g = {};
  for (const row of run.rows) {
    const lat = row.g.endsWith(LAT) && row.lat;
    const name = lat ? row.g.slice(0, -LAT.length) : row.g;
    const slot = (g[name] ||= { rows: {}, lat: {} });
    const target = lat ? slot.lat : slot.rows;
    ((target[row.i] ||= {}))[row.t] = row;
  }
  return g;
}

function rangeOf(xs) { return [Math.min(...xs), Math.max(...xs)]; }

function seriesFor(rows, threads, pick, unit) {
  return Object.keys(rows).sort().map(impl => {
    const pts = [];
    for (const [t, row] of Object.entries(rows[impl])) {
      const v = pick(row);
      if (!v) continue;
      const [lo, hi] = rangeOf(v);
      const y = median(v);
      pts.push({ x: threads.indexOf(Number(t)), y, lo, hi,
                 title: `${impl}, ${t} threads: ${fmtNum(y)} ${unit} (median of ${v.length}; ` +
                        `${fmtNum(lo)} to ${fmtNum(hi)})` });
    }
    return { name: impl, color: COLORS[impl], pts };
  }).filter(s => s.pts.length);
}

// Round trips per thread a percentile needs to be more than the maximum of
// a small sample (a slow row may fit only one batch into its minimum time).
const LAT_NEED = { "p50": 2, "p99": 100, "p99.9": 1000 };

function latencySeries(lat) {
  const keys = ["p50", "p99", "p99.9"];
  const out = [];
  for (const impl of Object.keys(lat).sort()) {
    const byT = lat[impl];
    const ts = Object.keys(byT);
    for (const t of ts) {
      const row = byT[t];
      const name = ts.length > 1 ? `${impl}@${t}` : impl;
      out.push({ name, color: COLORS[impl], pts: keys.map((k, x) => {
        const v = row.lat[k];
        const [lo, hi] = rangeOf(v);
        const n = row.lat.laps ? median(row.lat.laps) : null;
        const weak = n != null && n < LAT_NEED[k];
        const laps = n != null ? `; ${fmtNum(n)} round trips per thread` : "";
        return { x, y: median(v), lo, hi, weak,
                 title: `${impl} ${k}: ${fmtNum(median(v))} ns (median of ${v.length} repetitions; ` +
                        `${fmtNum(lo)} to ${fmtNum(hi)}${laps})` +
                        (weak ? `: too few round trips for a ${k}, this is near the largest seen` : "") };
      }) });
    }
  }
  return out;
}

function rankTable(run, rows, threads) {
  // Per thread count, implementations fastest first, with the CPU column
  // and, on weft rows, the ratio to each baseline.
  const limit = BARS.cpu_limit;
  const table = el("table", { class: "ranks" });
  table.append(el("tr", {}, ...["threads", "implementation", "items/s (median)", "spread",
    "wall ns/item", "CPU ns/item", "CPUs busy", "weft / baseline: wall, CPU"].map(
    (h, k) => el("th", { class: k >= 2 && k <= 6 ? "num" : "", text: h }))));
  const c = cores(run);
  for (const t of threads) {
    const here = Object.keys(rows).filter(i => rows[i][t]).map(i => {
      const row = rows[i][t];
      return { impl: i, rate: median(row.rate), spread: rangeOf(row.rate),
               cpu: row.cpu ? median(row.cpu) : null };
    }).sort((a, b) => b.rate - a.rate);
    const bases = here.filter(x => !isWeft(x.impl));
    here.forEach((x, k) => {
      const wall = 1e9 / x.rate;
      let margin = "";
      if (k === 0 && here.length > 1) margin = ` (${fmtRatio(x.rate / here[1].rate)} the next)`;
      const vs = isWeft(x.impl) ? bases.map(b => {
        const w = x.rate / b.rate;
        const cr = x.cpu && b.cpu ? x.cpu / b.cpu : null;
        const bad = w > 1 && cr != null && cr > limit;
        return `${b.impl} ${fmtRatio(w)}` + (cr == null ? "" : ` / ${fmtRatio(cr)} CPU`) +
               (bad ? " (costs CPU: not a win)" : "");
      }).join("; ") : "";
      const tr = el("tr", { class: (isWeft(x.impl) ? "weft " : "") + (k === 0 && here.length > 1 ? "winner" : "") },
        el("td", { text: k === 0 ? `${t}${c && t > c ? " (over)" : ""}` : "" }),
        el("td", { text: x.impl + margin }),
        el("td", { class: "num", text: fmtNum(x.rate) }),
        el("td", { class: "num", text: `${fmtNum(x.spread[0])}-${fmtNum(x.spread[1])}` }),
        el("td", { class: "num", text: fmtNum(wall) }),
        el("td", { class: "num", text: x.cpu == null ? "-" : fmtNum(x.cpu) }),
        el("td", { class: "num", text: x.cpu == null ? "-" : (x.cpu / wall).toFixed(2) }),
        el("td", { text: vs }));
      if (vs.includes("not a win")) tr.lastChild.classList.add("flag");
      table.append(tr);
    });
  }
  return table;
}

function groupCard(run, name, slot) {
  const threads = [...new Set(Object.values(slot.rows).flatMap(r => Object.keys(r).map(Number)))]
    .sort((a, b) => a - b);
  const impls = Object.keys(slot.rows).sort();
  const c = cores(run);
  const overIdx = c ? threads.findIndex(t => t > c) : -1;
  const over = overIdx < 0 ? null : overIdx;
  const card = el("div", { class: "card", "data-group": name, id: "card-" + name });
  card.append(el("h3", { text: name }));
  card.append(el("p", { class: "sub", text: GROUP_NOTES[name] || "" }));
  const charts = el("div", { class: "charts" });
  const xs = threads.map(String);
  const hasCpu = impls.some(i => Object.values(slot.rows[i]).some(r => r.cpu));
  charts.append(el("figure", {}, el("figcaption", { text: "items/s against threads (higher is better)" }),
    lineChart({ kind: "rate", xs, overFrom: over,
                series: seriesFor(slot.rows, threads, r => r.rate, "items/s") })));
  charts.append(el("figure", {}, el("figcaption", { text: "CPU ns per item, all threads (lower is better)" }),
    lineChart({ kind: "cpu", xs, overFrom: over,
                series: hasCpu ? seriesFor(slot.rows, threads, r => r.cpu, "CPU ns/item") : [],
                emptyText: "no CPU counters in this result (older than the CPU column)" })));
  if (Object.keys(slot.lat).length) {
    charts.append(el("figure", {}, el("figcaption", { text: "latency per round trip, ns (lower is better)" }),
      lineChart({ kind: "latency", xs: ["p50", "p99", "p99.9"], series: latencySeries(slot.lat) }),
      el("div", { class: "note", text: "hollow: too few round trips for that percentile" })));
  }
  card.append(charts);
  card.append(legend(impls));
  card.append(rankTable(run, slot.rows, threads));
  return card;
}

function renderGroups(run) {
  const box = document.getElementById("groups");
  box.replaceChildren();
  const groups = groupsOf(run);
  for (const name of Object.keys(groups).sort()) {
    if (!Object.keys(groups[name].rows).length) continue;
    box.append(groupCard(run, name, groups[name]));
  }
}

function renderWinners(run) {
  // Per primitive/case and thread count: the fastest implementation (median
  // items/s), its margin over the next, and where weft stands if it lost.
  const table = el("table", { id: "winners-table" }, el("tr", {},
    el("th", { text: "primitive/case" }), el("th", { text: "fastest at each thread count (median items/s)" })));

  const groups = groupsOf(run);
  for (const name of Object.keys(groups).sort()) {
    const rows = groups[name].rows;
    const threads = [...new Set(Object.values(rows).flatMap(r => Object.keys(r).map(Number)))]
      .sort((a, b) => a - b);
    if (!threads.length) continue;
    const cells = el("td", { class: "wins" });
    for (const t of threads) {
      const here = Object.keys(rows).filter(i => rows[i][t])
        .map(i => ({ impl: i, rate: median(rows[i][t].rate), reps: rows[i][t].rate }))
        .sort((a, b) => b.rate - a.rate);
      const [first, second] = here;
      const weft = here.find(x => isWeft(x.impl));
      let text = `${t}t: ${first.impl}`;
      let noise = false;
      if (second) {
        text += ` ${fmtRatio(first.rate / second.rate)} ${second.impl}`;
        // The same test as the A/B view, over the two rows' repetitions.
        noise = minP(first.reps.length, second.reps.length) >= DATA.alpha ||
                mannWhitney(first.reps, second.reps).p >= DATA.alpha;
        if (noise) text += " (within noise)";
      }
      if (weft && !isWeft(first.impl)) text += ` (weft ${fmtRatio(weft.rate / first.rate)})`;
      cells.append(el("span", { class: "win" + (isWeft(first.impl) ? " weft" : "") + (noise ? " noise" : ""),
                                text }));
    }
    table.append(el("tr", { "data-group": name }, el("td", {},
      el("a", { href: "#card-" + name, text: name })), cells));
  }
  document.getElementById("winners-body").replaceChildren(table);
}

function statusPill(s) {
  const cls = { met: "met", missed: "missed" }[s] || "none";
  return el("span", { class: "pill " + cls, text: s });
}

function fmtBarValue(bar, v) {
  if (v == null) return "-";
  if (bar.counter) return `${v.toPrecision(4)} ${bar.counter.replace(/^weft_/, "")}`;
  if (bar.condition) return `${v.toFixed(2)}x slower`;
  return bar.time_max != null ? `${v.toFixed(2)}x the time` : `${v.toFixed(2)}x`;
}

function renderBars(run) {
  const byId = Object.fromEntries(BARS.bars.map(b => [b.id, b]));
  const main = el("table", { id: "bars-table" });
  const later = el("table", {});
  const head = () => el("tr", {}, ...["source", "bar", "worst row", "where", "met?",
    `CPU <= ${BARS.cpu_limit}x baseline?`, "note"].map(h => el("th", { text: h })));
  main.append(head());
  later.append(head());
  const counts = { met: 0, missed: 0, "not measured": 0 };
  let laterCount = 0;
  for (const r of run.bars) {
    const bar = byId[r.id];
    const tr = el("tr", { "data-bar": r.id, "data-status": r.status },
      el("td", { text: bar.source }), el("td", { text: bar.text }),
      el("td", { class: "num", text: fmtBarValue(bar, r.value) }), el("td", { text: r.where }),
      el("td", {}, statusPill(r.status)),
      el("td", {}, r.cpu === "-" ? "-" : statusPill(r.cpu),
         r.cpu_value != null ? ` ${r.cpu_value.toFixed(2)}x` : ""),
      el("td", { class: "note", text: r.note }));
    counts[r.status]++;
    if (r.status === "not measured" && (bar.tentative || bar.manual || bar.condition)) {
      later.append(tr);
      laterCount++;
    } else {
      main.append(tr);
    }
  }
  const box = document.getElementById("bars-body");
  box.replaceChildren(
    el("p", { class: "note", text: `${counts.met} met, ${counts.missed} missed, ` +
      `${counts["not measured"]} not measured. Each bar's ratio is the worst of its rows in this run ` +
      `(medians of the repetitions, weft / baseline of the same run); the CPU column applies issue 16's ` +
      `rule: at each bar row weft's CPU time per item at most ${BARS.cpu_limit}x the baseline's. ` +
      `Bars come from tools/bars.json.` }),
    main,
    laterCount ? el("details", {}, el("summary", { text: `${laterCount} bars whose rows are not in this run ` +
      `(issues not landed yet, or needing a special run)` }), later) : null);
}

function renderContext(run) {
  // Two columns of key/value rows, so the context stays short.
  const entries = Object.entries(run.context).map(([k, v]) =>
    [k.replace(/^weft_/, ""), Array.isArray(v) ? v.join(", ") : String(v)]);
  entries.push(["file", run.file]);
  const half = Math.ceil(entries.length / 2);
  const box = el("div", { id: "context-table", class: "ctx" });
  for (const part of [entries.slice(0, half), entries.slice(half)]) {
    box.append(el("table", {}, ...part.map(([k, v]) =>
      el("tr", {}, el("th", { text: k }), el("td", { text: v })))));
  }
  document.getElementById("context-body").replaceChildren(box);
}

// --------------------------------------------------------------- A/B view

function compareRuns(a, b) {
  const rowsA = new Map(a.rows.map(r => [`${r.g}|${r.i}|${r.t}`, r]));
  const out = [];
  for (const r of b.rows) {
    const ra = rowsA.get(`${r.g}|${r.i}|${r.t}`);
    if (!ra) continue;
    const ma = median(ra.rate), mb = median(r.rate);
    const { p } = mannWhitney(ra.rate, r.rate);
    let verdict;
    if (minP(ra.rate.length, r.rate.length) >= DATA.alpha) verdict = "too few repetitions";
    else if (p < DATA.alpha) verdict = mb > ma ? "faster" : "slower";
    else verdict = "noise";
    const ca = ra.cpu ? median(ra.cpu) : null, cb = r.cpu ? median(r.cpu) : null;
    out.push({ g: r.g, i: r.i, t: r.t, ma, mb, change: mb / ma - 1, p, verdict,
               cpuChange: ca && cb ? cb / ca - 1 : null, na: ra.rate.length, nb: r.rate.length });
  }
  return out;
}

function contextDiff(a, b) {
  const keys = [...new Set([...Object.keys(a.context), ...Object.keys(b.context)])]
    .filter(k => !["date", "load_avg"].includes(k));
  const t = el("table", { class: "ctxdiff" }, el("tr", {}, el("th", { text: "" }),
    el("th", { text: "A" }), el("th", { text: "B" })));
  for (const k of keys) {
    const va = String(a.context[k] ?? "-"), vb = String(b.context[k] ?? "-");
    const cls = va === vb ? "" : "diff";
    t.append(el("tr", {}, el("th", { text: k.replace(/^weft_/, "") }),
      el("td", { class: cls, text: va }), el("td", { class: cls, text: vb })));
  }
  return t;
}

function renderAB() {
  const a = RUNS[Number(document.getElementById("ab-a").value)];
  const b = RUNS[Number(document.getElementById("ab-b").value)];
  const only = document.getElementById("ab-only").checked;
  const rows = compareRuns(a, b);
  const counts = { faster: 0, slower: 0, noise: 0, "too few repetitions": 0 };
  for (const r of rows) counts[r.verdict]++;
  const table = el("table", { id: "ab-table" }, el("tr", {}, ...["row", "threads", "A items/s",
    "B items/s", "change B/A", "CPU ns/item change", "p (Mann-Whitney)", "verdict"].map(
    (h, k) => el("th", { class: k >= 2 && k <= 6 ? "num" : "", text: h }))));
  for (const r of rows) {
    if (only && !(r.verdict === "faster" || r.verdict === "slower")) continue;
    const cls = { faster: "faster", slower: "slower", noise: "noise" }[r.verdict] || "few";
    table.append(el("tr", { class: isWeft(r.i) ? "weft" : "", "data-verdict": r.verdict,
                            "data-row": `${r.g}/${r.i}/${r.t}`, "data-p": String(r.p) },
      el("td", { text: `${r.g}/${r.i}` }), el("td", { class: "num", text: String(r.t) }),
      el("td", { class: "num", text: fmtNum(r.ma) }), el("td", { class: "num", text: fmtNum(r.mb) }),
      el("td", { class: "num", text: `${r.change >= 0 ? "+" : ""}${(100 * r.change).toFixed(1)}%` }),
      el("td", { class: "num", text: r.cpuChange == null ? "-" :
                 `${r.cpuChange >= 0 ? "+" : ""}${(100 * r.cpuChange).toFixed(1)}%` }),
      el("td", { class: "num", text: r.p.toPrecision(2) }),
      el("td", {}, el("span", { class: "pill " + cls, text: r.verdict }))));
  }
  const few = counts["too few repetitions"];
  document.getElementById("ab-body").replaceChildren(
    el("p", { class: "summary", id: "ab-summary",
              text: `${rows.length} rows in both runs: ${counts.faster} faster in B, ${counts.slower} slower ` +
                    `in B, ${counts.noise} within the noise` + (few ? `, ${few} with too few repetitions to tell` : "") }),
    el("p", { class: "note", text: `Test: two-sided Mann-Whitney U over the repetitions' items/s of the ` +
      `row in A and in B (exact distribution when there are no ties and at most ${DATA.exact_max} values, ` +
      `else the normal approximation with tie and continuity corrections), significance level ` +
      `${DATA.alpha}. "faster"/"slower" = outside the noise. With n and m repetitions the smallest ` +
      `possible p is 2 / C(n+m, n): 0.10 for 3 and 3, so runs of 3 repetitions can never tell ` +
      `("too few repetitions"); tools/run bench runs 5 (0.008). The same test is in tools/dashboard.py.` }),
    table,
    el("details", {}, el("summary", { text: "machine and build of A and B (differences highlighted)" }),
       contextDiff(a, b)));
}

// -------------------------------------------------------------- selectors

function machines() { return [...new Set(RUNS.map(r => r.machine))].sort(); }

function runsOf(machine) {
  return RUNS.map((r, k) => [r, k]).filter(([r]) => r.machine === machine);
}

function fillRunSelect(machine, selected) {
  const sel = document.getElementById("run");
  sel.replaceChildren(...runsOf(machine).map(([r, k]) =>
    el("option", { value: String(k), text: runLabel(r) })));
  sel.value = String(selected ?? runsOf(machine).at(-1)[1]);
}

function render() {
  const run = RUNS[Number(document.getElementById("run").value)];
  document.body.dataset.run = run.id;
  document.getElementById("run-summary").textContent =
    `${run.context.weft_cpu_model || "?"}, ${run.context.weft_cores || "?"} cores · ${run.file}`;
  renderBars(run);
  renderWinners(run);
  renderContext(run);
  renderGroups(run);
  document.body.dataset.ready = String(Number(document.body.dataset.ready || 0) + 1);
}

function renderHowto() {
  document.getElementById("howto-body").replaceChildren(
    el("p", { text: "Every figure is computed from the repetitions in the result files: a row's " +
      "value is the median of its repetitions, its band the range from the slowest to the fastest. " +
      "items/s counts items over wall time, all threads together; wall ns/item is its inverse; CPU " +
      "ns/item is the CPU time of all the run's threads over the timed region divided by the items " +
      "(spinning and yielding waiters are charged); CPUs busy = CPU ns / wall ns. A weft row that " +
      `wins in wall time at more than ${BARS.cpu_limit}x the baseline's CPU per item is flagged: not a win.` }),
    el("p", { text: "Latency rows (cases ending in _lat, drawn in the card of their case) time " +
      "each round trip of a ping-pong or hand-off body with CLOCK_MONOTONIC and keep a uniform sample " +
      "per thread (bench/shim.h); p50, p99 and p99.9 are medians over the repetitions. Those rows " +
      "are separate runs so that the clock reads stay out of the throughput rows." }),
    el("p", { text: `Generated ${DATA.generated} by tools/dashboard.py from ${RUNS.length} result files ` +
      "(tools/run dashboard [FILES or DIRS]); the page is not committed, the JSON results are." }));
}

function init() {
  const ms = document.getElementById("machine");
  ms.replaceChildren(...machines().map(m => el("option", { value: m, text: m })));
  // Start on the machine of the newest run.
  const newest = RUNS.reduce((best, r) => (r.date > best.date ? r : best), RUNS[0]);
  ms.value = newest.machine;
  fillRunSelect(newest.machine);
  ms.addEventListener("change", () => { fillRunSelect(ms.value); render(); });
  document.getElementById("run").addEventListener("change", render);
  const options = () => RUNS.map((r, k) => el("option", { value: String(k), text: `${r.machine} · ${runLabel(r)}` }));
  const a = document.getElementById("ab-a"), b = document.getElementById("ab-b");
  a.replaceChildren(...options());
  b.replaceChildren(...options());
  const mine = runsOf(newest.machine).map(([, k]) => k);
  b.value = String(mine.at(-1));
  a.value = String(mine.length > 1 ? mine.at(-2) : mine.at(-1));
  for (const e of [a, b, document.getElementById("ab-only")]) e.addEventListener("change", renderAB);
  renderHowto();
  render();
  renderAB();
}

init();
