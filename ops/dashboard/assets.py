"""The dashboard's own script and style, served by the project (no CDN: ops rooms may be offline).

Kept as Python strings so they ship inside the package without package-data rules.
The script writes every value with ``textContent`` (never ``innerHTML``), so
device-supplied text cannot become markup.
"""

from __future__ import annotations

from ops.dashboard.trace_js import TRACE_CSS, TRACE_JS

APP_JS = r"""
"use strict";
const COLOURS = ["#c0392b", "#d35400", "#8e44ad", "#2c3e50", "#7f8c8d", "#b9770e", "#1f618d"];
const SVG = "http://www.w3.org/2000/svg";

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}
function ago(now, t) {
  if (t === null || t === undefined) return "never";
  const s = Math.max(0, Math.round(now - t));
  return s < 120 ? s + " s ago" : Math.round(s / 60) + " min ago";
}
function time(t) {
  return t ? new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) : "";
}
function num(v, unit) {
  return v === null || v === undefined ? "-" : String(v) + (unit || "");
}
function fill(id, rows, cells) {
  const body = document.querySelector("#" + id + " tbody");
  const fresh = document.createElement("tbody");
  for (const row of rows) {
    const tr = document.createElement("tr");
    const values = cells(row);
    tr.dataset.key = values.key;
    for (const cell of values.cells) tr.appendChild(cell instanceof Node ? cell : el("td", cell));
    fresh.appendChild(tr);
  }
  body.replaceWith(fresh);
}
function fleet(snap) {
  fill("fleet", snap.fleet, d => ({
    key: d.device_id,
    cells: [
      d.device_id, (d.label ? d.label + " · " : "") + d.checkpoint_id,
      el("td", d.state, "state " + d.state), ago(snap.now, d.last_seen),
      d.trust_version === null ? "-"
        : "v" + d.trust_version + " (" + num(d.trust_age_s, " s") + ")",
      num(d.revocation_serial), num(d.clock), num(d.outbox_depth),
      num(d.outbox_oldest_s, " s"), num(d.fps), num(d.decode_p95, " ms"),
      el("td", d.accepted_1h, "accepted"), el("td", d.rejected_1h, "rejected"),
    ],
  }));
}
function alerts(snap) {
  const rows = snap.refusals.map(r => ({at: r.last_at, device_id: r.device_id,
    source: "collector", code: "refused: " + r.reason, detail: r.n + " message(s)"}))
    .concat(snap.alerts).sort((a, b) => b.at - a.at).slice(0, 50);
  fill("alerts", rows, a => ({key: a.device_id + a.code + a.at,
    cells: [time(a.at), a.device_id, a.source, a.code, a.detail || ""]}));
}
function recent(snap) {
  fill("recent", snap.recent, e => ({key: e.device_id + ":" + e.seq,
    cells: [time(e.stored_at), e.device_id, e.checkpoint_id, e.seq, e.kind, e.outcome || "",
            e.reason || ""]}));
}
function chart(name, series, minutes) {
  const w = 360, h = 90, bw = w / minutes;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 " + w + " " + (h + 14));
  svg.setAttribute("class", "chart");
  const reasons = Object.keys(series.reasons).sort();
  let max = 1;
  for (let i = 0; i < minutes; i++) {
    let total = series.accept[i];
    for (const r of reasons) total += series.reasons[r][i];
    max = Math.max(max, total);
  }
  for (let i = 0; i < minutes; i++) {
    let y = h;
    const stack = [["accept", series.accept[i], "#27ae60"]].concat(
      reasons.map((r, k) => [r, series.reasons[r][i], COLOURS[k % COLOURS.length]]));
    for (const [label, n, colour] of stack) {
      if (!n) continue;
      const bh = (n / max) * h;
      y -= bh;
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", String(i * bw)); rect.setAttribute("y", String(y));
      rect.setAttribute("width", String(Math.max(1, bw - 1)));
      rect.setAttribute("height", String(bh));
      rect.setAttribute("fill", colour);
      const title = document.createElementNS(SVG, "title");
      title.textContent = label + ": " + n;
      rect.appendChild(title);
      svg.appendChild(rect);
    }
  }
  const box = el("figure");
  box.appendChild(el("figcaption", name + " (peak " + max + "/min)"));
  box.appendChild(svg);
  const legend = el("p", null, "legend");
  legend.appendChild(el("span", "accepted", "key accept"));
  reasons.forEach((r, k) => {
    const key = el("span", r, "key");
    key.style.borderLeftColor = COLOURS[k % COLOURS.length];
    legend.appendChild(key);
  });
  box.appendChild(legend);
  return box;
}
function charts(snap) {
  const holder = document.getElementById("charts");
  const fresh = el("div");
  fresh.id = "charts";
  for (const name of Object.keys(snap.chart.checkpoints).sort())
    fresh.appendChild(chart(name, snap.chart.checkpoints[name], snap.chart.minutes));
  holder.replaceWith(fresh);
}
function render(snap) {
  const c = snap.counters;
  document.getElementById("counters").textContent =
    "stored " + (c.stored || 0) + " · duplicates " + (c.duplicates || 0) +
    " · refused " + (c.refused || 0) + " · gaps " + (c.gaps || 0);
  fleet(snap); alerts(snap); recent(snap); charts(snap);
}
function connect() {
  const live = document.getElementById("live");
  const source = new EventSource("/events");
  source.onopen = () => { live.textContent = "live"; live.className = "ok"; };
  source.onmessage = m => render(JSON.parse(m.data));
  source.onerror = () => { live.textContent = "reconnecting…"; live.className = "bad"; };
}
document.addEventListener("DOMContentLoaded", connect);
"""

STYLE_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
nav { background: #1f2d3d; padding: .5em 1em; }
nav a { color: #fff; margin-right: 1em; text-decoration: none; }
form.inline { display: inline; float: right; }
main { padding: 1em; }
main.login { max-width: 22em; margin: 4em auto; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1.5em; background: #fff; }
th, td { border-bottom: 1px solid #ddd; padding: .25em .5em; text-align: left; }
th { background: #eef; }
.state.online, .ok { color: #1e8449; font-weight: bold; }
.state.offline, .bad { color: #c0392b; font-weight: bold; }
.state.stale { color: #b9770e; font-weight: bold; }
.muted { color: #777; font-size: .8em; }
#charts { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; background: #fff; padding: .5em; border: 1px solid #ddd; }
svg.chart { width: 360px; height: 104px; }
.legend .key { border-left: 10px solid #27ae60; padding-left: 3px; margin-right: .6em; }
"""

FILES: dict[str, tuple[str, str]] = {
    "/static/app.js": (APP_JS, "text/javascript; charset=utf-8"),
    "/static/trace.js": (TRACE_JS, "text/javascript; charset=utf-8"),
    "/static/style.css": (STYLE_CSS + TRACE_CSS, "text/css; charset=utf-8"),
}
