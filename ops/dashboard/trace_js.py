"""The tracing page's script: asks the API, draws the F0 -> F1 -> F2 graph as SVG, fills the table.

Every value is written with ``textContent`` or as an SVG attribute, never as markup.
"""

from __future__ import annotations

TRACE_JS = r"""
"use strict";
const SVG = "http://www.w3.org/2000/svg";
const LEVEL_COLOURS = ["#c0392b", "#d35400", "#b9770e", "#7f8c8d"];
const MAX_NODES = 150;  // per level drawn; the table has every contact

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}
function shape(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}
function params() {
  const p = new URLSearchParams();
  for (const c of document.getElementById("case").value.split(",")) {
    if (c.trim()) p.append("case", c.trim());
  }
  for (const name of ["from", "to", "window", "depth"]) {
    p.set(name, document.getElementById(name).value.trim());
  }
  return p;
}
function reason(status, body) {
  const d = body && body.detail;
  if (Array.isArray(d)) {
    return d.map(x => (x.loc || []).slice(-1).join("") + ": " + x.msg).join("; ");
  }
  return d ? String(d) : "HTTP " + status;
}
function graph(doc) {
  const levels = [doc.query.cases.map(c => ({pass_id: c, level: 0}))];
  for (const c of doc.contacts) {
    while (levels.length <= c.level) levels.push([]);
    levels[c.level].push(c);
  }
  // Each level in the order of the passes it was found through: fewer crossing edges.
  for (let level = 2; level < levels.length; level++) {
    const rank = new Map(levels[level - 1].map((n, i) => [n.pass_id, i]));
    levels[level].sort((a, b) => (rank.get(a.via) - rank.get(b.via)) ||
      (a.first_contact < b.first_contact ? -1 : a.first_contact > b.first_contact ? 1 : 0));
  }
  const colW = 220, rowH = 26, top = 30;
  const tallest = Math.max(...levels.map(l => Math.min(l.length, MAX_NODES + 1)));
  const width = colW * levels.length + 20, height = top + rowH * tallest + 10;
  const svg = shape("svg", {viewBox: "0 0 " + width + " " + height, width: width,
    height: height, id: "contact-graph", role: "img"});
  svg.appendChild(shape("title", {}, "Contacts of " + doc.query.cases.join(", ")));
  const at = {};
  levels.forEach((nodes, level) => {
    svg.appendChild(shape("text", {x: 10 + level * colW, y: 16, class: "head"}, "F" + level +
      " (" + nodes.length + ")"));
    nodes.slice(0, MAX_NODES).forEach((n, i) => {
      at[n.pass_id] = {x: 20 + level * colW, y: top + i * rowH + rowH / 2};
    });
  });
  const edges = shape("g", {class: "edges"});
  for (const c of doc.contacts) {
    const a = at[c.via], b = at[c.pass_id];
    if (!a || !b) continue;
    const line = shape("line", {x1: a.x, y1: a.y, x2: b.x, y2: b.y,
      class: c.uncertain ? "edge uncertain" : "edge"});
    line.appendChild(shape("title", {}, c.via + " → " + c.pass_id + " at " + c.checkpoint_id +
      ", gap " + c.gap));
    edges.appendChild(line);
  }
  svg.appendChild(edges);
  levels.forEach((nodes, level) => {
    nodes.slice(0, MAX_NODES).forEach(n => {
      const p = at[n.pass_id];
      const g = shape("g", {class: "node level" + level, "data-pass": n.pass_id});
      g.appendChild(shape("circle", {cx: p.x, cy: p.y, r: 7, fill: LEVEL_COLOURS[level],
        class: n.uncertain ? "uncertain" : ""}));
      g.appendChild(shape("text", {x: p.x + 12, y: p.y + 4}, n.pass_id));
      svg.appendChild(g);
    });
    if (nodes.length > MAX_NODES) {
      svg.appendChild(shape("text", {x: 20 + level * colW, y: top + MAX_NODES * rowH + 14},
        "+ " + (nodes.length - MAX_NODES) + " more in the table"));
    }
  });
  const holder = document.getElementById("graph");
  holder.replaceChildren(svg);
}
function table(doc) {
  const body = document.createElement("tbody");
  for (const c of doc.contacts) {
    const tr = document.createElement("tr");
    tr.dataset.pass = c.pass_id;
    for (const v of ["F" + c.level, c.pass_id, c.via, c.checkpoint_id, c.via_time,
                     c.contact_time, c.gap, c.same_unit ? "yes" : "no", c.copresences]) {
      tr.appendChild(el("td", v));
    }
    tr.appendChild(el("td", c.uncertain ? "uncertain" : "ok", c.uncertain ? "bad" : ""));
    body.appendChild(tr);
  }
  document.querySelector("#contacts tbody").replaceWith(body);
}
async function run(event) {
  event.preventDefault();
  const status = document.getElementById("status");
  const csv = document.getElementById("csv");
  status.dataset.state = "running";
  status.textContent = "tracing…";
  csv.hidden = true;
  const p = params();
  let answer, body;
  try {
    answer = await fetch("/api/trace/contacts?" + p, {headers: {Accept: "application/json"}});
    body = await answer.json();
  } catch (err) {
    status.textContent = "failed: " + err;
    status.dataset.state = "failed";
    return;
  }
  if (!answer.ok) {
    status.textContent = "refused: " + reason(answer.status, body);
    status.dataset.state = "refused";
    return;
  }
  graph(body);
  table(body);
  document.getElementById("cut").textContent = body.cut ? "Cut: " + body.cut : "";
  csv.href = "/api/trace/contacts.csv?" + p;
  csv.hidden = false;
  status.textContent = Object.entries(body.counts).map(([k, v]) => k + ": " + v).join(" · ") +
    " (case scans in the window: " + Object.values(body.case_scans).join(", ") + ")";
  status.dataset.state = "done";
}
document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("contacts-form").addEventListener("submit", run);
});
"""

TRACE_CSS = """
#graph { max-height: 32em; overflow: auto; margin: .5em 0; display: inline-block; }
#graph svg { background: #fff; border: 1px solid #ddd; }
#graph .edge { stroke: #888; stroke-width: 1.2; }
#graph .edge.uncertain, #graph circle.uncertain { stroke-dasharray: 4 3; stroke: #b9770e; }
#graph text { font: 12px system-ui, sans-serif; }
#graph text.head { font-weight: bold; }
form#contacts-form label { margin-right: .5em; }
nav .who { color: #ccd; margin-left: 1em; }
"""
