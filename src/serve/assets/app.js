// tenantsim serve: the dashboard. Plain JavaScript, no libraries, so the
// page works offline. It reads a scenario's knobs from the API, sends jobs,
// and follows each job's Server-Sent Events to grow the charts live.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  scenario: null,     // GET /api/scenarios/{name}
  job: null,          // {id, kind, events, cli}
  source: null,       // EventSource of the running job
  lastEventId: 0,     // id of the last event applied: an event is applied once
  series: { a: [], b: [] },
  compare: false,
  clickedAt: null,    // performance.now() when Run/Compare was pressed
  firstPointMs: null,
};

// ---------- formatting ----------
function fmt(v, digits = 3) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(2);
  return Number(v.toPrecision(digits)).toString();
}
function fmtMetric(name, v) {
  if (v === null || v === undefined) return "–";
  if (name.endsWith("_s")) return v < 1 ? fmt(v * 1000) + " ms" : fmt(v) + " s";
  if (name.includes("ratio") || name.includes("utilization") || name.endsWith("_rate")) return fmt(v * 100) + " %";
  if (name === "cost") return "$" + fmt(v, 4);
  return fmt(v, 4);
}
function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
}
function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function api(method, url, body) {
  const r = await fetch(url, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  let data = null;
  try { data = await r.json(); } catch (_) { /* empty body */ }
  if (!r.ok) throw new Error((data && data.error) || `${r.status} ${r.statusText}`);
  return data;
}

// ---------- charts: a small line chart on a canvas ----------
const COLORS = ["#1f6feb", "#d97706", "#cf222e", "#1a7f37", "#8250df", "#0891b2"];
class LineChart {
  constructor(canvas, lines, opts = {}) {
    this.c = canvas; this.lines = lines; this.opts = opts; this.hlines = [];
    this.pending = false;
  }
  // Points of `line` from the rows of one side.
  points(rows, line) {
    const out = [];
    for (const r of rows) { const y = line.get(r); if (y !== null && y !== undefined && isFinite(y)) out.push([r.t, y]); }
    return out;
  }
  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }
  draw() {
    const ctx = this.c.getContext("2d"), W = this.c.width, H = this.c.height;
    const L = 52, R = 10, T = 10, B = 40;
    ctx.clearRect(0, 0, W, H);
    const sides = state.compare ? ["a", "b"] : ["a"];
    const sets = [];
    for (const side of sides) {
      this.lines.forEach((line, i) => {
        const pts = this.points(state.series[side], line);
        sets.push({ pts, color: COLORS[i % COLORS.length], dash: state.compare && side === "a", label: line.label, side });
      });
    }
    const n = sets.reduce((s, x) => s + x.pts.length, 0);
    this.c.dataset.points = String(n);
    const xmax = Math.max(1, state.scenario ? state.durationS() : 1);
    let ymax = this.opts.ymax || 0;
    for (const s of sets) for (const p of s.pts) ymax = Math.max(ymax, p[1]);
    for (const h of this.hlines) ymax = Math.max(ymax, h.y * 1.1);
    if (ymax <= 0) ymax = 1;
    ymax *= 1.05;
    const X = (x) => L + (x / xmax) * (W - L - R), Y = (y) => T + (1 - y / ymax) * (H - T - B);
    // axes and ticks
    ctx.strokeStyle = "#ccd"; ctx.fillStyle = "#556"; ctx.font = "11px sans-serif"; ctx.lineWidth = 1; ctx.setLineDash([]);
    ctx.beginPath(); ctx.moveTo(L, T); ctx.lineTo(L, H - B); ctx.lineTo(W - R, H - B); ctx.stroke();
    for (let i = 0; i <= 4; i++) {
      const y = (ymax * i) / 4;
      ctx.fillText(fmt(y, 2), 2, Y(y) + 4);
      ctx.strokeStyle = "#eef"; ctx.beginPath(); ctx.moveTo(L, Y(y)); ctx.lineTo(W - R, Y(y)); ctx.stroke();
    }
    for (let i = 0; i <= 5; i++) {
      const x = (xmax * i) / 5;
      ctx.fillText(x >= 120 ? fmt(x / 60, 3) + " min" : fmt(x, 3) + " s", X(x) - 14, H - B + 14);
    }
    // SLO / claim lines
    for (const h of this.hlines) {
      ctx.strokeStyle = h.color; ctx.setLineDash([6, 4]); ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.moveTo(L, Y(h.y)); ctx.lineTo(W - R, Y(h.y)); ctx.stroke();
      ctx.fillStyle = h.color; ctx.fillText(h.label, W - R - ctx.measureText(h.label).width - 2, Y(h.y) - 3);
    }
    // series
    for (const s of sets) {
      if (!s.pts.length) continue;
      ctx.strokeStyle = s.color; ctx.lineWidth = s.dash ? 1.2 : 2; ctx.setLineDash(s.dash ? [3, 3] : []);
      ctx.globalAlpha = s.dash ? 0.6 : 1;
      ctx.beginPath();
      s.pts.forEach((p, i) => (i ? ctx.lineTo(X(p[0]), Y(p[1])) : ctx.moveTo(X(p[0]), Y(p[1]))));
      if (s.pts.length === 1) ctx.arc(X(s.pts[0][0]), Y(s.pts[0][1]), 2, 0, 7);
      ctx.stroke();
      ctx.globalAlpha = 1;
    }
    // legend
    ctx.setLineDash([]); let lx = L;
    this.lines.forEach((line, i) => {
      ctx.fillStyle = COLORS[i % COLORS.length]; ctx.fillRect(lx, H - 14, 10, 3);
      ctx.fillStyle = "#334"; ctx.fillText(line.label, lx + 13, H - 9); lx += ctx.measureText(line.label).width + 28;
    });
    if (state.compare) { ctx.fillStyle = "#667"; ctx.fillText("dashed: baseline · solid: your knobs", lx + 6, H - 9); }
  }
}

const charts = {
  latency: new LineChart($("chart-latency"), [
    { label: "p50", get: (r) => r.p50 }, { label: "p95", get: (r) => r.p95 }, { label: "p99", get: (r) => r.p99 }]),
  instances: new LineChart($("chart-instances"), [
    { label: "ready", get: (r) => r.ready }, { label: "desired", get: (r) => r.desired }]),
  util: new LineChart($("chart-util"), [
    { label: "CPU", get: (r) => r.cpu }, { label: "memory", get: (r) => r.mem }], { ymax: 1 }),
  pool: new LineChart($("chart-pool"), [
    { label: "in use", get: (r) => r.pool_in_use }, { label: "waiting", get: (r) => r.pool_waiting }]),
  cache: new LineChart($("chart-cache"), [{ label: "hit ratio", get: (r) => r.cache_hit }], { ymax: 1 }),
  errors: new LineChart($("chart-errors"), [{ label: "errors", get: (r) => r.errors }]),
};
function redraw() { for (const c of Object.values(charts)) c.schedule(); }

// SLO lines (and claims, lighter) on the latency and utilization charts.
function setReferenceLines() {
  const sc = state.scenario;
  for (const c of Object.values(charts)) c.hlines = [];
  const lat = { latency_p50_s: "p50", latency_p95_s: "p95", latency_p99_s: "p99" };
  for (const s of sc.slo) {
    if (s.scope !== "all" || s.stage) continue;
    if (lat[s.metric]) charts.latency.hlines.push({ y: s.limit, label: `SLO ${lat[s.metric]} ${fmtMetric(s.metric, s.limit)}`, color: "#cf222e" });
    if (s.metric === "cache_hit_ratio") charts.cache.hlines.push({ y: s.limit, label: "SLO", color: "#cf222e" });
    if (s.metric === "cpu_utilization") charts.util.hlines.push({ y: s.limit, label: "SLO CPU", color: "#cf222e" });
  }
  for (const c of sc.claims) {
    if (c.scope !== "all") continue;
    if (lat[c.metric]) charts.latency.hlines.push({ y: c.limit, label: `claim ${lat[c.metric]}`, color: "#9a6700" });
    if (c.metric === "cache_hit_ratio") charts.cache.hlines.push({ y: c.limit, label: "claim", color: "#9a6700" });
  }
}

// ---------- scenario and knobs ----------
function knobInputs() { return Array.from(document.querySelectorAll("#knobs .knob")); }

async function loadScenario(name) {
  const sc = await api("GET", "/api/scenarios/" + name.split("/").map(encodeURIComponent).join("/"));
  state.scenario = sc;
  sc.durationS = () => Number($("duration").value) || sc.simulation.duration_s;
  state.durationS = sc.durationS;
  $("desc").textContent = sc.description || "";
  const box = $("knobs");
  box.innerHTML = "";
  let group = null;
  const sweepKey = $("sweep-key");
  sweepKey.innerHTML = "";
  for (const k of sc.knobs) {
    if (k.group !== group) {
      group = k.group;
      const h = document.createElement("h3"); h.textContent = group; box.appendChild(h);
    }
    const row = document.createElement("div");
    row.className = "knob";
    row.dataset.key = k.key; row.dataset.default = k.value; row.dataset.integer = k.integer;
    const max = Math.max(k.max, k.value);
    row.innerHTML = `<label title="${esc(k.key)}">${esc(k.label)}</label>` +
      `<input type="range" data-key="${esc(k.key)}" min="${k.min}" max="${max}" step="${k.step}" value="${k.value}">` +
      `<input type="number" data-key="${esc(k.key)}" step="${k.step}" value="${k.value}">`;
    const [range, num] = row.querySelectorAll("input");
    range.addEventListener("input", () => { num.value = range.value; changed(); });
    num.addEventListener("input", () => { range.value = num.value; changed(); });
    box.appendChild(row);
    const o = document.createElement("option"); o.value = k.key; o.textContent = k.label; sweepKey.appendChild(o);
  }
  $("duration").value = sc.simulation.duration_s;
  $("reps").value = sc.simulation.replications;
  $("seed").value = sc.simulation.seed;
  $("load").value = 1; $("load-n").value = 1;
  suggestSweep();
  setReferenceLines();
  state.series = { a: [], b: [] };
  $("verdicts").innerHTML = ""; $("headline").innerHTML = ""; $("sweep-results").innerHTML = "";
  redraw();
  changed();
}

function suggestSweep() {
  const k = state.scenario.knobs.find((x) => x.key === $("sweep-key").value);
  if (!k) return;
  if (k.integer) {
    const lo = Math.max(k.min, Math.round(k.value / 2)), hi = Math.round(k.value * 1.5) || 1;
    const step = Math.max(1, Math.round((hi - lo) / 4));
    $("sweep-spec").value = `${lo}..${hi}:${step}`;
  } else {
    $("sweep-spec").value = [0.5, 0.75, 1, 1.25].map((f) => Number((k.value * f).toPrecision(3))).join(",");
  }
}

function numText(v, integer) {
  if (integer) return String(Math.round(Number(v)));
  const s = String(Number(v));
  return s.includes(".") || s.includes("e") ? s : s + ".0";
}

// The --set overrides the knobs stand for (only the changed ones).
function overrides() {
  const sets = [];
  for (const row of knobInputs()) {
    const v = Number(row.querySelector("input[type=number]").value);
    const integer = row.dataset.integer === "true";
    const changedKnob = Math.abs(v - Number(row.dataset.default)) > 1e-12;
    row.classList.toggle("changed", changedKnob);
    if (changedKnob) sets.push(`${row.dataset.key}=${numText(v, integer)}`);
  }
  return sets;
}
function common() {
  const sc = state.scenario, d = Number($("duration").value);
  return d && Math.abs(d - sc.simulation.duration_s) > 1e-9 ? [`simulation.duration=${d}s`] : [];
}
function loadMultiplier() {
  const m = Number($("load-n").value);
  return m && Math.abs(m - 1) > 1e-12 ? m : null;
}
function runRequest() {
  return {
    scenario: $("scenario").value,
    overrides: common().concat(overrides()),
    load_multiplier: loadMultiplier(),
    replications: Number($("reps").value) || null,
    seed: $("seed").value === "" ? null : Number($("seed").value),
  };
}
function compareRequest() {
  return {
    scenario: $("scenario").value,
    both: common(),
    overrides: overrides(),
    load_multiplier: loadMultiplier(),
    replications: Math.max(2, Number($("reps").value) || 2),
    seed: $("seed").value === "" ? null : Number($("seed").value),
  };
}

// Ask the server (dry run) for the exact command of the current knobs.
let previewTimer = null;
function changed() {
  overrides();
  clearTimeout(previewTimer);
  previewTimer = setTimeout(async () => {
    try {
      const r = await api("POST", "/api/runs?dry_run=true", runRequest());
      $("cli").textContent = r.cli;
    } catch (e) { $("cli").textContent = "# " + e.message; }
  }, 200);
}

// ---------- jobs ----------
function startFollowing(job, kind) {
  if (state.source) state.source.close();
  state.job = job;
  state.lastEventId = 0;
  $("cli").textContent = job.cli;
  $("cancel").disabled = false;
  $("progress").value = 0;
  const es = new EventSource(job.events);
  state.source = es;
  // The browser reconnects by itself after a dropped connection, sending
  // the last id it saw; the server resumes after it. Events are applied in
  // id order and at most once, so a replayed event never adds a point twice.
  es.onmessage = (m) => {
    const ev = JSON.parse(m.data);
    if (ev.type === "reset") { // the server did not know our last id: it replays all
      state.lastEventId = 0;
      state.series = { a: [], b: [] };
      redraw();
      return;
    }
    const id = Number(m.lastEventId);
    if (!(id > state.lastEventId)) return;
    state.lastEventId = id;
    document.body.dataset.lastEventId = id;
    onEvent(ev, kind);
  };
  es.onopen = () => { document.body.dataset.streamOpens = Number(document.body.dataset.streamOpens || 0) + 1; };
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED && state.source === es) {
      state.source = null;
      setStatus(`lost the event stream of ${kind} ${job.id} (server stopped, or job gone): reload the page`, true);
    }
  };
}

function onEvent(ev, kind) {
  if (ev.progress !== undefined) $("progress").value = ev.progress;
  switch (ev.type) {
    case "status":
      setStatus(`${kind} ${state.job.id} running…`);
      break;
    case "rows":
      state.series[ev.side].push(...ev.rows);
      if (state.firstPointMs === null && state.clickedAt !== null) {
        state.firstPointMs = Math.round(performance.now() - state.clickedAt);
        document.body.dataset.firstPointMs = state.firstPointMs;
      }
      setStatus(`${kind} ${state.job.id} running… ${Math.round(100 * (ev.progress || 0))} %` +
        (state.firstPointMs !== null ? ` (first chart point ${state.firstPointMs} ms after the click)` : ""));
      redraw();
      break;
    case "summary":
      if (!state.compare || ev.side === "b") { showVerdicts(ev.summary); if (!state.compare) showHeadline(ev.summary); }
      break;
    case "comparison":
      showComparison(ev.comparison);
      break;
    case "point":
      addPoint(ev.point);
      break;
    case "done": {
      $("cancel").disabled = true;
      if (state.source) { state.source.close(); state.source = null; }
      const tail = state.firstPointMs !== null ? ` · first chart point ${state.firstPointMs} ms after the click` : "";
      if (ev.status === "done") { $("progress").value = 1; setStatus(`${kind} ${state.job.id} done · files in ${state.job.out_dir}${tail}`); }
      else setStatus(`${kind} ${state.job.id} ${ev.status}${ev.error ? ": " + ev.error : ""}`, ev.status === "failed");
      document.body.dataset.jobStatus = ev.status;
      break;
    }
  }
}

function resetOutputs(compare) {
  state.compare = compare;
  state.series = { a: [], b: [] };
  state.clickedAt = performance.now();
  state.firstPointMs = null;
  delete document.body.dataset.jobStatus;
  delete document.body.dataset.firstPointMs;
  delete document.body.dataset.streamOpens;
  delete document.body.dataset.lastEventId;
  $("verdicts").innerHTML = ""; $("headline").innerHTML = "";
  redraw();
}

async function submit(kind) {
  const compare = kind === "compare";
  resetOutputs(compare);
  setStatus(`submitting ${kind}…`);
  try {
    const job = compare ? await api("POST", "/api/compare", compareRequest()) : await api("POST", "/api/runs", runRequest());
    setStatus(`${kind} ${job.id} queued`);
    startFollowing(job, kind);
  } catch (e) { setStatus(e.message, true); }
}

async function submitSweep() {
  resetOutputs(false);
  const key = $("sweep-key").value, spec = $("sweep-spec").value.trim();
  const req = runRequest();
  req.overrides = req.overrides.filter((s) => !s.startsWith(key + "="));
  const body = { scenario: req.scenario, overrides: req.overrides, params: [`${key}=${spec}`], replications: req.replications, seed: req.seed };
  if (req.load_multiplier) setStatus("note: the load multiplier is not applied to sweeps");
  $("sweep-results").innerHTML = `<h2>Sweep of ${esc(key)}</h2><table id="points"><tr><th>${esc(key)}</th><th>p95</th><th>p99</th><th>error rate</th><th>cost</th><th>SLO</th></tr></table>`;
  try {
    const job = await api("POST", "/api/sweeps", body);
    startFollowing(job, "sweep");
  } catch (e) { setStatus(e.message, true); }
}

function addPoint(p) {
  const t = $("points");
  if (!t) return;
  const rows = Array.from(t.querySelectorAll("tr[data-index]"));
  const tr = document.createElement("tr");
  tr.dataset.index = p.index;
  const slo = p.slo_checks ? (p.slo_passed ? '<span class="badge pass">pass</span>' : '<span class="badge fail">FAIL</span>') : "–";
  tr.innerHTML = `<td>${esc(p.values.join(", "))}</td><td>${fmtMetric("latency_p95_s", p.latency_p95_s)}</td>` +
    `<td>${fmtMetric("latency_p99_s", p.latency_p99_s)}</td><td>${fmtMetric("error_rate", p.error_rate)}</td>` +
    `<td>${fmtMetric("cost", p.cost)}</td><td>${slo}</td>`;
  const after = rows.find((r) => Number(r.dataset.index) > p.index);
  after ? t.insertBefore(tr, after) : t.appendChild(tr);
}

// ---------- verdicts and tables ----------
function showVerdicts(summary) {
  const box = $("verdicts");
  const badges = [];
  for (const c of summary.slo.checks) {
    const ci = c.ci95 ? ` [${fmtMetric(c.metric, c.ci95[0])}, ${fmtMetric(c.metric, c.ci95[1])}]` : "";
    const cmp = c.bound === "max" ? "≤" : "≥";
    const scope = c.scope === "all" ? "" : ` (${c.scope})`;
    badges.push(`<span class="badge ${c.passed ? "pass" : "fail"}" title="value ${fmtMetric(c.metric, c.value)}${ci}">` +
      `<b>${c.passed ? "PASS" : "FAIL"}</b>${esc(c.name)}${esc(scope)} ${cmp} ${fmtMetric(c.metric, c.limit)}: ${fmtMetric(c.metric, c.value)}</span>`);
  }
  for (const c of summary.claims || []) {
    if (c.verdict === "untestable") continue;
    const cls = c.verdict === "confirmed" ? "pass" : c.verdict === "refuted" ? "fail" : "unclear";
    badges.push(`<span class="badge ${cls}" title="${esc(c.text)}"><b>${esc(c.verdict)}</b>claim ${esc(c.id)}: ${fmtMetric(c.metric || "", c.value)}</span>`);
  }
  if (!badges.length) badges.push('<span class="badge none">no [slo] or claims in this scenario</span>');
  box.innerHTML = badges.join("");
  box.dataset.verdict = summary.slo.checks.length ? (summary.slo.passed ? "pass" : "fail") : "none";
}

const HEADLINE = ["latency_p95_s", "latency_p99_s", "latency_mean_s", "throughput_rps", "error_rate", "cost",
  "instances_mean", "cpu_utilization", "pool_utilization", "pool_wait_p95_s", "cache_hit_ratio"];

function showHeadline(summary) {
  let html = "<table><tr><th>metric</th><th>mean</th><th>95 % CI</th></tr>";
  for (const m of HEADLINE) {
    const e = summary.metrics[m];
    if (!e || e.mean === null || e.mean === undefined) continue;
    const ci = e.ci95 ? `${fmtMetric(m, e.ci95[0])} – ${fmtMetric(m, e.ci95[1])}` : "–";
    html += `<tr data-metric="${m}"><td>${m}</td><td>${fmtMetric(m, e.mean)}</td><td>${ci}</td></tr>`;
  }
  $("headline").innerHTML = html + `</table><p class="hint">${summary.replications} replications, seed ${summary.seed}</p>`;
}

// Lower is better for these; higher for the rest shown.
const HIGHER_IS_BETTER = new Set(["throughput_rps", "cache_hit_ratio"]);
function showComparison(c) {
  let html = `<table><tr><th>metric</th><th>baseline</th><th>your knobs</th><th>difference</th><th>paired 95 % CI</th><th>unpaired CI</th></tr>`;
  for (const m of HEADLINE) {
    const r = c.metrics.find((x) => x.metric === m);
    if (!r) continue;
    const good = HIGHER_IS_BETTER.has(m) ? r.difference > 0 : r.difference < 0;
    const cls = r.significant ? `sig ${good ? "better" : "worse"}` : "";
    const ci = (x) => (x ? `${fmtMetric(m, x[0])} – ${fmtMetric(m, x[1])}` : "–");
    html += `<tr data-metric="${m}"><td>${m}</td><td>${fmtMetric(m, r.a)}</td><td>${fmtMetric(m, r.b)}</td>` +
      `<td class="${cls}">${r.difference >= 0 ? "+" : ""}${fmtMetric(m, r.difference)}${r.significant ? " *" : ""}</td>` +
      `<td>${ci(r.ci95)}</td><td>${ci(r.ci95_unpaired)}</td></tr>`;
  }
  $("headline").innerHTML = html + `</table><p class="hint">${c.replications} paired replications on common random numbers (seed ${c.seed}); * = the paired CI excludes 0. The unpaired CI is what independent runs would give.</p>`;
}

// ---------- wiring ----------
$("run").addEventListener("click", () => submit("run"));
$("compare").addEventListener("click", () => submit("compare"));
$("sweep").addEventListener("click", submitSweep);
$("sweep-key").addEventListener("change", suggestSweep);
$("cancel").addEventListener("click", async () => {
  if (!state.job) return;
  try { await api("DELETE", state.job.url); } catch (e) { setStatus(e.message, true); }
});
$("reset").addEventListener("click", () => {
  for (const row of knobInputs()) for (const i of row.querySelectorAll("input")) i.value = row.dataset.default;
  $("load").value = 1; $("load-n").value = 1;
  changed();
});
$("load").addEventListener("input", () => { $("load-n").value = $("load").value; changed(); });
$("load-n").addEventListener("input", () => { $("load").value = $("load-n").value; changed(); });
for (const id of ["duration", "reps", "seed"]) $(id).addEventListener("input", () => { redraw(); changed(); });
$("copy").addEventListener("click", async () => {
  const text = $("cli").textContent;
  try { await navigator.clipboard.writeText(text); $("copied").textContent = "copied"; }
  catch (_) {
    // Clipboard API needs a secure context: fall back to selecting the text.
    const range = document.createRange(); range.selectNodeContents($("cli"));
    const sel = getSelection(); sel.removeAllRanges(); sel.addRange(range);
    $("copied").textContent = document.execCommand("copy") ? "copied" : "selected: press Ctrl+C";
  }
});
$("scenario").addEventListener("change", () => {
  const u = new URL(location.href); u.searchParams.set("scenario", $("scenario").value); history.replaceState(null, "", u);
  loadScenario($("scenario").value).catch((e) => setStatus(e.message, true));
});

(async function init() {
  try {
    const list = await api("GET", "/api/scenarios");
    const sel = $("scenario");
    for (const s of list) { const o = document.createElement("option"); o.value = s.name; o.textContent = s.name; sel.appendChild(o); }
    const wanted = new URL(location.href).searchParams.get("scenario");
    const pick = list.find((s) => s.name === wanted) || list.find((s) => s.name === "hermes") || list[0];
    if (!pick) { setStatus("no scenario files in the served folder", true); return; }
    sel.value = pick.name;
    await loadScenario(pick.name);
    document.body.dataset.ready = "true";
  } catch (e) { setStatus(e.message, true); }
})();
