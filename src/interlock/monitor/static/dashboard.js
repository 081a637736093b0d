// The live dashboard: draws the monitor's snapshot, pushed over Server-Sent Events.
// Everything is local (no CDN): the page works on a machine without internet.
"use strict";

const PALETTE = ["#0969da", "#bf3989", "#1a7f37", "#9a6700", "#8250df", "#cf222e", "#116329", "#953800"];

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function fmt(value, digits) {
  return value === null || value === undefined ? "–" : Number(value).toFixed(digits || 0);
}

function drawGrid(state) {
  const grid = document.getElementById("grid");
  grid.replaceChildren(...state.probes.map((probe) => {
    const tile = el("div", { class: "tile", "data-probe": probe.name, "data-status": probe.status });
    tile.append(el("div", { class: "name" }, probe.name));
    tile.append(el("div", { class: "detail" }, `${probe.kind} · ${probe.status}`));
    tile.append(el("div", { class: "detail" },
      `${fmt(probe.latency_ms)} ms · p95 ${fmt(probe.p95_ms)} ms · ${fmt(probe.success_rate, 1)}%`));
    const metrics = Object.entries(probe.metrics || {}).map(([k, v]) => `${k}=${v}`).join(" ");
    tile.append(el("div", { class: "detail", title: probe.error || metrics }, probe.error || metrics || probe.target));
    return tile;
  }));
}

function polyline(svg, points, colour) {
  if (points.length < 2) return;
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "));
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", colour);
  line.setAttribute("stroke-width", "1.5");
  svg.append(line);
}

function drawCharts(state) {
  const latency = document.getElementById("latency-chart");
  const success = document.getElementById("success-chart");
  latency.replaceChildren();
  success.replaceChildren();
  const all = state.probes.flatMap((p) => p.points);
  if (!all.length) return;
  const t0 = Math.min(...all.map((p) => p[0]));
  const t1 = Math.max(...all.map((p) => p[0]), t0 + 1);
  const maxMs = Math.max(...all.map((p) => p[1]), 1);
  const x = (t) => ((t - t0) / (t1 - t0)) * 600;
  const legend = document.getElementById("legend");
  legend.replaceChildren();
  state.probes.forEach((probe, i) => {
    const colour = PALETTE[i % PALETTE.length];
    polyline(latency, probe.points.map(([t, ms]) => [x(t), 175 - (ms / maxMs) * 170]), colour);
    // success rate over a sliding run of the last ten checks
    const rates = probe.points.map((point, j) => {
      const run = probe.points.slice(Math.max(0, j - 9), j + 1);
      return [x(point[0]), 175 - (run.filter((p) => p[2]).length / run.length) * 170];
    });
    polyline(success, rates, colour);
    const item = el("span", {}, probe.name);
    const swatch = el("i");
    swatch.style.background = colour;
    item.prepend(swatch);
    legend.append(item);
  });
}

function drawAlerts(state) {
  const list = document.getElementById("alerts");
  const alerts = [...state.alerts.open, ...state.alerts.ended];
  if (!alerts.length) {
    list.replaceChildren(el("li", { class: "empty" }, "no alerts"));
    return;
  }
  list.replaceChildren(...alerts.map((alert) => {
    const since = new Date(alert.since * 1000).toLocaleTimeString();
    const note = alert.reason ? ` — ${alert.reason}` : "";
    return el("li", { "data-state": alert.state, "data-key": alert.key },
      `${alert.state.toUpperCase()} ${since} ${alert.message}${note}`);
  }));
}

function drawFaults(state) {
  const list = document.getElementById("faults");
  list.replaceChildren(...(state.faults.length
    ? state.faults.map((f) => el("li", { "data-proxy": f.proxy }, `${f.proxy}: ${f.fault}`))
    : [el("li", { class: "empty" }, "none")]));
  const table = document.getElementById("system");
  table.replaceChildren(...state.system.map((u) => {
    const row = el("tr");
    row.append(el("td", {}, u.source), el("td", {}, `CPU ${fmt(u.cpu, 1)}%`),
      el("td", {}, `memory ${fmt(u.memory, 1)}%`));
    return row;
  }));
}

function draw(state) {
  drawGrid(state);
  drawCharts(state);
  drawAlerts(state);
  drawFaults(state);
  const down = state.probes.filter((p) => p.status === "down").length;
  document.getElementById("summary").textContent =
    `${state.probes.length} probes · ${down} down · ${state.taken} checks · every ${state.interval}s`;
}

function connect() {
  const status = document.getElementById("connection");
  const source = new EventSource("/events");
  source.addEventListener("open", () => { status.dataset.state = "live"; status.textContent = "live"; });
  source.addEventListener("state", (event) => draw(JSON.parse(event.data)));
  source.addEventListener("stopped", () => {
    status.dataset.state = "stopped";
    status.textContent = "monitor stopped";
    source.close();
  });
  source.addEventListener("error", () => {
    if (status.dataset.state !== "stopped") { status.dataset.state = "lost"; status.textContent = "reconnecting"; }
  });
}

connect();
