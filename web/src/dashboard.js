// The returns team's dashboard: every chart and table is drawn from the /v1/analytics JSON; filters
// (category, date range, minimum orders) are query parameters of those routes; each table has a CSV.
import { $, apiJson, download, h, toCsv } from "./dom.js";

const pct = (x, d = 1) => (x == null ? "–" : `${(x * 100).toFixed(d)}%`);
const W = 560;

function filters() {
  const q = new URLSearchParams();
  const cat = $("#f-category").value;
  if (cat) q.set("category", cat);
  if ($("#f-since").value) q.set("since", $("#f-since").value);
  if ($("#f-until").value) q.set("until", $("#f-until").value);
  return q;
}

function minOrders() {
  return Math.max(1, Number($("#f-min").value) || 1);
}

function get(path, extra = {}) {
  const q = filters();
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return apiJson(`/v1/analytics/${path}?${q}`);
}

/** A view: its title, a chart, a table and a CSV button; the section carries data-rows for tests. */
function view(id, { chart, rows, columns, labels, file, note }) {
  const section = $(`#${id}`);
  const table = h("table", {},
    h("thead", {}, h("tr", {}, ...columns.map((c, i) => h("th", { class: labels[i].num ? "num" : null, scope: "col" }, labels[i].text)))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...columns.map((c, i) => h("td", { class: labels[i].num ? "num" : null },
      labels[i].fmt ? labels[i].fmt(r[c]) : (r[c] ?? "–")))))));
  const csv = h("button", { type: "button", class: "secondary csv",
    onclick: () => download(`${file}.csv`, new Blob([toCsv(rows, columns)], { type: "text/csv" })) },
  `Download CSV (${rows.length} rows)`);
  section.dataset.rows = String(rows.length);
  section.replaceChildren(...[
    h("h2", {}, section.dataset.title),
    note ? h("p", { class: "muted" }, note) : null,
    rows.length ? chart : h("p", { class: "muted empty" }, "No data for these filters."),
    h("div", { class: "table-wrap" }, table),
    h("p", {}, csv),
  ].filter(Boolean));
}

function axisY(height, max, x0 = 44) {
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  return ticks.map((t) => {
    const y = height - 20 - (t / max) * (height - 30);
    return h("g", {}, h("line", { x1: x0, x2: W, y1: y, y2: y, stroke: "#e5e8eb" }),
      h("text", { x: x0 - 4, y: y + 4, "text-anchor": "end" }, pct(t, 0)));
  });
}

function lineChart(rows, key, series) {
  const height = 220;
  const max = Math.max(0.01, ...rows.flatMap((r) => series.map((s) => r[s.key] ?? 0))) * 1.1;
  const x = (i) => 48 + (i / Math.max(1, rows.length - 1)) * (W - 56);
  const y = (v) => height - 20 - (v / max) * (height - 30);
  const labelEvery = Math.ceil(rows.length / 8);
  return h("svg", { viewBox: `0 0 ${W} ${height}`, role: "img", class: "chart",
    "aria-label": `${series.map((s) => s.label).join(" and ")} by ${key}` },
  ...axisY(height, max),
  ...rows.map((r, i) => (i % labelEvery ? null : h("text", { x: x(i), y: height - 4, "text-anchor": "middle" }, String(r[key]).slice(0, 7)))),
  ...series.map((s) => h("polyline", { fill: "none", stroke: s.color, "stroke-width": 2,
    points: rows.map((r, i) => `${x(i)},${y(r[s.key] ?? 0)}`).join(" ") })),
  ...series.map((s, k) => h("text", { x: W - 150, y: 14 + 14 * k, style: `fill:${s.color}` }, `— ${s.label}`)));
}

/** Horizontal bars with the Wilson interval as a whisker. */
function barChart(rows, { label, value, lo, hi, color = "#0b5cad", max: given }) {
  const shown = rows.slice(0, 20);
  const rowH = 18;
  const height = shown.length * rowH + 24;
  const max = given || Math.max(0.01, ...shown.map((r) => r[hi] ?? r[value])) * 1.05;
  const x = (v) => 150 + (v / max) * (W - 160);
  return h("svg", { viewBox: `0 0 ${W} ${height}`, role: "img", class: "chart", "aria-label": `${value} by ${label}` },
    ...shown.map((r, i) => {
      const y = 4 + i * rowH;
      return h("g", {},
        h("text", { x: 146, y: y + 12, "text-anchor": "end" }, String(r[label]).slice(0, 22)),
        h("rect", { x: 150, y: y + 2, width: Math.max(1, x(r[value]) - 150), height: rowH - 6, fill: color },
          h("title", {}, `${r[label]}: ${pct(r[value])} (${pct(r[lo])}–${pct(r[hi])})`)),
        lo ? h("line", { x1: x(r[lo]), x2: x(r[hi]), y1: y + 8, y2: y + 8, stroke: "#1b1f24", "stroke-width": 1.5 }) : null);
    }),
    h("text", { x: W - 4, y: height - 4, "text-anchor": "end" }, `scale 0–${pct(max, 0)}`));
}

const num = (fmt) => ({ num: true, fmt });
const L = (text, extra = {}) => ({ text, ...extra });
const RATE_COLS = ["key", "orders", "fit_returns", "rate", "ci_low", "ci_high", "small_rate", "large_rate"];
const RATE_LABELS = [L("Group"), L("Orders", num()), L("Fit returns", num()), L("Rate", num(pct)),
  L("95% low", num(pct)), L("95% high", num(pct)), L("Too small", num(pct)), L("Too large", num(pct))];

async function loadSummary() {
  const s = await get("summary");
  $("#basis").textContent = s.basis === "returns" ? "rates from returns" : "rates from fit feedback (no returns recorded)";
  $("#summary").replaceChildren(h("div", { class: "row" },
    ...[["Order lines", s.order_lines.toLocaleString()], ["Shoppers", s.shoppers.toLocaleString()],
      ["Items", s.items.toLocaleString()], ["Fit-return rate", pct(s.fit_return_rate)],
      ["Too small", pct(s.small_rate)], ["Too large", pct(s.large_rate)],
      ["Period", s.first_order ? `${s.first_order.slice(0, 10)} – ${s.last_order.slice(0, 10)}` : "–"]]
      .map(([k, v]) => h("div", {}, h("div", { class: "muted" }, k), h("strong", { class: "stat" }, v)))));
}

async function loadTrend() {
  const t = await get("trend");
  const shown = t.data.filter((r) => r.orders >= minOrders());
  view("v-trend", {
    rows: t.data, file: "fit-return-trend",
    note: `The line shows months with at least ${minOrders()} orders; the table and CSV have every month.`,
    chart: lineChart(shown, "month", [{ key: "rate", label: "fit returns", color: "#1b1f24" },
      { key: "small_rate", label: "too small", color: "#c2410c" }, { key: "large_rate", label: "too large", color: "#1d4ed8" }]),
    columns: ["month", "orders", "fit_returns", "rate", "ci_low", "ci_high", "small_rate", "large_rate"],
    labels: [L("Month"), ...RATE_LABELS.slice(1)],
  });
}

async function loadRates() {
  const by = $("#rates-by")?.value || "category";
  const r = await get("fit-returns", { by, min_orders: minOrders(), limit: 200 });
  view("v-rates", {
    rows: r.data, file: `fit-returns-by-${by}`,
    note: `${r.count} ${by} groups with at least ${r.min_orders} orders; the bars show the first 20, whiskers the 95% interval.`,
    chart: barChart(r.data, { label: "key", value: "rate", lo: "ci_low", hi: "ci_high" }),
    columns: RATE_COLS, labels: RATE_LABELS,
  });
  const select = h("select", { id: "rates-by", "aria-label": "Group by",
    onchange: () => timed(ratesView(), loadRates).catch(fail) },
    ...["category", "brand", "size", "item"].map((b) => h("option", { value: b, selected: b === by }, `by ${b}`)));
  $("#v-rates h2").append(" ", select);
}

async function loadRunning(direction) {
  const r = await get("running", { direction, min_orders: minOrders(), limit: 100 });
  view(`v-${direction}`, {
    rows: r.data, file: `items-running-${direction}`,
    note: `${r.count} items whose too-${direction} share is above the all-item ${pct(r.data[0]?.baseline ?? null)} beyond its 95% interval.`,
    chart: barChart(r.data, { label: "item_id", value: "share", lo: "ci_low", hi: "ci_high", color: direction === "small" ? "#c2410c" : "#1d4ed8" }),
    columns: ["item_id", "category", "brand", "orders", "share", "ci_low", "ci_high", "excess"],
    labels: [L("Item"), L("Category"), L("Brand"), L("Orders", num()), L("Share", num(pct)), L("95% low", num(pct)),
      L("95% high", num(pct)), L("Excess", num(pct))],
  });
}

async function loadOffset() {
  const r = await get("size-offset");
  const rows = r.data.map((d) => ({ ...d, step: d.offset > 0 ? `+${d.offset}` : String(d.offset) }));
  view("v-offset", {
    rows, file: "size-offset",
    note: `Ordered size minus the shopper's usual size (shoppers with ≥ ${r.min_history} sized orders).`,
    chart: lineChart(rows, "step", [{ key: "small_rate", label: "too small", color: "#c2410c" },
      { key: "large_rate", label: "too large", color: "#1d4ed8" }]),
    columns: ["offset", "orders", "fit_returns", "rate", "ci_low", "ci_high", "small_rate", "large_rate"],
    labels: [L("Offset", num()), ...RATE_LABELS.slice(1)],
  });
}

async function loadChartIssues() {
  const r = await get("size-chart-issues");
  view("v-charts", {
    rows: r.data, file: "size-chart-issues",
    note: r.count ? `${r.count} issues in the imported size charts.` : "No size-chart issues (or no size charts imported).",
    chart: h("p", { class: "muted" }, "Each row is a chart value that does not grow with the size, or differs between items of one brand."),
    columns: ["scope", "item_id", "brand", "measurement", "size", "cm", "issue"],
    labels: [L("Scope"), L("Item"), L("Brand"), L("Measurement"), L("Size"), L("cm", num()), L("Issue")],
  });
}

function fail(err) {
  $("#f-error").textContent = err.message;
}

/** Load a view and record how long it took from its request to its next painted frame, as the
 * performance measure `fitroom:view:<name>` (bench/dashboard.py reads them). */
async function timed(name, load) {
  const start = performance.now();
  await load();
  await new Promise((done) => requestAnimationFrame(() => done()));
  performance.measure(`fitroom:view:${name}`, { start, end: performance.now() });
}

const ratesView = () => `rates-${$("#rates-by")?.value || "category"}`;

async function loadAll() {
  $("#f-error").textContent = "";
  document.body.dataset.state = "loading";
  await Promise.all([timed("summary", loadSummary), timed("trend", loadTrend), timed(ratesView(), loadRates),
    timed("running-small", () => loadRunning("small")), timed("running-large", () => loadRunning("large")),
    timed("size-offset", loadOffset), timed("chart-issues", loadChartIssues)]).catch(fail);
  document.body.dataset.state = "ready";
  performance.mark("fitroom:dashboard-ready");
}

async function loadCategories() {
  const r = await apiJson("/v1/analytics/fit-returns?by=category&limit=200");
  $("#f-category").append(...r.data.filter((d) => d.key !== "(unknown)").map((d) => h("option", { value: d.key }, d.key)));
}

$("#filters").addEventListener("submit", (e) => { e.preventDefault(); loadAll(); });
$("#f-reset").addEventListener("click", () => { $("#filters").reset(); loadAll(); });
loadCategories().catch(fail);
loadAll();
