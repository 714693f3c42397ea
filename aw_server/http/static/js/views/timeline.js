// Timeline: a day as lanes of coloured spans on one time axis. By default one lane per
// device (its window events, with its AFK status as a strip underneath), keyed by device
// id so two machines with the same hostname get two lanes; "Buckets" shows every bucket
// as its own lane. Wheel or +/- zooms around the pointer, drag or arrow keys pan,
// hovering shows the event under the pointer. Lanes load independently; a slow or
// failing bucket does not hold up the others.

import { api, sharedBuckets } from "../api.js";
import { h, s, replace, fmtDuration, fmtDateTime, hashColor, empty } from "../dom.js";
import { loadSettings } from "../settings.js";
import { navigate, routeHash } from "../router.js";
import { parseDate, isoDate, logicalDate, dayBounds, addDays, rangeLabel } from "../time.js";
import { loadDevices, skewText } from "../devices.js";

const BUCKET_LANE_H = 26;
const DEVICE_LANE_H = 40;
const AFK_STRIP_H = 7; // the AFK status under a device lane's window spans
const AXIS_H = 24;
const MIN_SPAN_MS = 60_000;
const TICKS = [60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600].map((x) => x * 1000);

/** Colour of an event by what its bucket records. */
function colorFor(bucket, data) {
  if (bucket.type === "afkstatus") return data.status === "not-afk" ? "#3fae6a" : "#b5bcc8";
  if (data.app) return hashColor(String(data.app));
  if (data.url) {
    try { return hashColor(new URL(data.url).hostname); } catch { return hashColor(String(data.url)); }
  }
  const first = Object.values(data)[0];
  return hashColor(first === undefined ? "" : JSON.stringify(first));
}

function describe(event) {
  const start = new Date(event.start);
  const lines = [`${fmtDateTime(start)} · ${fmtDuration(event.duration)}`];
  for (const [k, v] of Object.entries(event.data)) lines.push(`${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
  return lines;
}

/** Events of several buckets as sorted spans coloured for their bucket. */
async function spansOf(bucketList, range, signal) {
  const lists = await Promise.all(bucketList.map(async (bucket) => {
    const events = await api.events(bucket.id, range, { signal });
    return events.map((e) => {
      const start = Date.parse(e.timestamp);
      return { start, end: start + e.duration * 1000, duration: e.duration, data: e.data || {},
        color: colorFor(bucket, e.data || {}), bucket: bucket.id };
    });
  }));
  return lists.flat().sort((a, b) => a.start - b.start);
}

/** One lane per device with window or AFK data (purged devices have none: no lane). */
function deviceLanes(devices, buckets) {
  return devices.filter((d) => d.hasData).map((device) => ({
    title: device.label, sub: device.hostname === device.label ? "" : device.hostname, warning: skewText(device), key: device.id,
    sources: device.window.map((id) => buckets[id]), afkSources: device.afk.map((id) => buckets[id]),
    events: null, afk: null, error: null,
  }));
}

function bucketLanes(buckets, host) {
  return Object.values(buckets)
    .filter((b) => !host || (b.hostname || "unknown") === host)
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((bucket) => ({ title: bucket.id, sub: "", warning: "", key: bucket.id, sources: [bucket], afkSources: [],
      events: null, afk: null, error: null }));
}

export async function mount(root, { params, signal }) {
  const [settings, buckets] = await Promise.all([loadSettings(), sharedBuckets()]);
  const date = parseDate(params.get("date")) || logicalDate(new Date(), settings.startOfDay);
  const mode = params.get("lanes") === "buckets" ? "buckets" : "devices";
  const allHosts = [...new Set(Object.values(buckets).map((b) => b.hostname || "unknown"))].sort();
  const host = allHosts.includes(params.get("host")) ? params.get("host") : "";
  const [dayStart, dayEnd] = dayBounds(date, settings.startOfDay);
  const go = (changes) => navigate(routeHash("timeline", {
    date: isoDate(changes.date || date), lanes: ("lanes" in changes ? changes.lanes : mode) === "buckets" ? "buckets" : "",
    host: "host" in changes ? changes.host : host,
  }));
  const lanes = mode === "devices" ? deviceLanes(await loadDevices(buckets), buckets) : bucketLanes(buckets, host);
  const LANE_H = mode === "devices" ? DEVICE_LANE_H : BUCKET_LANE_H;
  const view = { v0: dayStart.getTime(), v1: dayEnd.getTime(), d0: dayStart.getTime(), d1: dayEnd.getTime(), lanes };
  const plot = h("div", { class: "timeline", tabindex: "0", role: "group",
    "aria-label": "Timeline. Arrow keys pan, plus and minus zoom, 0 resets." });
  const tooltip = h("div", { class: "tooltip", hidden: true, role: "tooltip" });
  const zoomLabel = h("span", { class: "muted", "aria-live": "polite" });
  const zoom = (factor, center = (view.v0 + view.v1) / 2) => {
    const span = Math.min(view.d1 - view.d0, Math.max(MIN_SPAN_MS, (view.v1 - view.v0) * factor));
    let v0 = center - (center - view.v0) * (span / (view.v1 - view.v0));
    v0 = Math.max(view.d0, Math.min(view.d1 - span, v0));
    view.v0 = v0; view.v1 = v0 + span;
    draw();
  };
  const pan = (fraction) => zoom(1, (view.v0 + view.v1) / 2 + (view.v1 - view.v0) * fraction);

  root.append(
    h("h1", null, "Timeline ", h("span", { class: "muted" }, `· ${rangeLabel("day", date, date)}`)),
    h("form", { class: "toolbar", onsubmit: (e) => e.preventDefault(), "aria-label": "Choose the day" },
      h("div", { class: "field" }, h("span", { id: "tl-lanes" }, "Lanes"),
        h("div", { class: "btn-group", role: "group", "aria-labelledby": "tl-lanes" },
          h("button", { type: "button", "aria-pressed": String(mode === "devices"), onclick: () => go({ lanes: "devices" }) }, "Devices"),
          h("button", { type: "button", "aria-pressed": String(mode === "buckets"), onclick: () => go({ lanes: "buckets" }) }, "Buckets"))),
      mode === "buckets" ? h("label", { class: "field" }, "Host",
        h("select", { onchange: (e) => go({ host: e.target.value }) },
          h("option", { value: "" }, "All hosts"),
          allHosts.map((x) => h("option", { value: x, selected: x === host }, x)))) : null,
      h("div", { class: "field" }, h("span", { id: "tl-move" }, "Day"),
        h("div", { class: "btn-group", role: "group", "aria-labelledby": "tl-move" },
          h("button", { type: "button", "aria-label": "Previous day", onclick: () => go({ date: addDays(date, -1) }) }, "‹"),
          h("button", { type: "button", onclick: () => go({ date: logicalDate(new Date(), settings.startOfDay) }) }, "Today"),
          h("button", { type: "button", "aria-label": "Next day", onclick: () => go({ date: addDays(date, 1) }) }, "›"))),
      h("label", { class: "field" }, "Date",
        h("input", { type: "date", value: isoDate(date), onchange: (e) => e.target.value && go({ date: parseDate(e.target.value) }) })),
      h("div", { class: "field" }, h("span", { id: "tl-zoom" }, "Zoom"),
        h("div", { class: "btn-group", role: "group", "aria-labelledby": "tl-zoom" },
          h("button", { type: "button", "aria-label": "Zoom in", onclick: () => zoom(0.5) }, "+"),
          h("button", { type: "button", "aria-label": "Zoom out", onclick: () => zoom(2) }, "−"),
          h("button", { type: "button", onclick: () => zoom(Infinity) }, "Whole day"))),
      zoomLabel),
    h("section", { class: "card full", "aria-label": "Lanes" }, lanes.length ? plot : empty(mode === "devices" ? "No device has data." : "No buckets."),
      h("p", { class: "hint" }, "Window events are coloured by application, browser tabs by domain; " +
        (mode === "devices" ? "the strip under each device is its AFK status, green is not AFK. " : "green is not AFK. ") +
        "Scroll or +/− to zoom, drag or ←/→ to pan.")),
    tooltip);
  if (!lanes.length) return;

  function draw() {
    const width = Math.max(320, plot.clientWidth || 800);
    const labelW = width < 600 ? 96 : 190;
    const plotW = width - labelW - 8;
    const x = (t) => labelW + ((t - view.v0) / (view.v1 - view.v0)) * plotW;
    const height = AXIS_H + lanes.length * LANE_H + 4;
    const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, height, "aria-hidden": "true" });
    // Axis with a tick step giving about eight labels at the current zoom.
    const step = TICKS.find((t) => (view.v1 - view.v0) / t <= 10) || TICKS[TICKS.length - 1];
    const axis = s("g", { class: "axis" });
    const offset = new Date(view.v0).getTimezoneOffset() * 60_000;
    for (let t = Math.ceil((view.v0 - offset) / step) * step + offset; t <= view.v1; t += step) {
      const d = new Date(t);
      const label = `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
      axis.append(s("line", { x1: x(t), x2: x(t), y1: AXIS_H - 4, y2: height }),
        s("text", { x: x(t), y: AXIS_H - 8, "text-anchor": "middle" }, label));
    }
    svg.append(axis);
    const fit = (text) => (text.length > labelW / 7 ? `${text.slice(0, Math.floor(labelW / 7) - 1)}…` : text);
    lanes.forEach((lane, i) => {
      const y = AXIS_H + i * LANE_H;
      if (lane.sub || lane.warning) {
        svg.append(s("text", { class: "lane-label", x: 0, y: y + 15 }, fit(lane.title)),
          s("text", { class: `lane-sub${lane.warning ? " skew" : ""}`, x: 0, y: y + 31 },
            fit(`${lane.warning ? "⚠ " : ""}${lane.sub}`), lane.warning ? s("title", null, lane.warning) : null));
      } else {
        svg.append(s("text", { class: "lane-label", x: 0, y: y + LANE_H / 2 + 4 }, fit(lane.title)));
      }
      svg.append(s("rect", { class: "lane-bg", x: labelW, y: y + 2, width: plotW, height: LANE_H - 4, rx: 3 }));
      if (lane.events) {
        const strip = lane.afkSources.length ? AFK_STRIP_H + 1 : 0;
        svg.append(laneSpans(lane.events, x, y + 3, LANE_H - 6 - strip, labelW, plotW));
        if (strip) svg.append(laneSpans(lane.afk, x, y + LANE_H - 3 - AFK_STRIP_H, AFK_STRIP_H, labelW, plotW));
      }
      else svg.append(s("text", { x: labelW + 8, y: y + LANE_H / 2 + 4, class: "lane-label" },
        lane.error ? `Error: ${lane.error.message}` : "Loading…"));
    });
    plot.replaceChildren(svg);
    const span = view.v1 - view.v0;
    zoomLabel.textContent = span >= view.d1 - view.d0 ? "Whole day" : `Showing ${fmtDuration(span / 1000)}`;
    view.geometry = { labelW, plotW, width };
  }

  /** One path per colour: thousands of events become a handful of DOM nodes. */
  function laneSpans(events, x, top, height, labelW, plotW) {
    const g = s("g", null);
    const paths = new Map();
    let lastEnd = -Infinity;
    let lastColor = null;
    for (const e of events) {
      if (e.end < view.v0 || e.start > view.v1) continue;
      const x0 = Math.max(labelW, x(e.start));
      const x1 = Math.min(labelW + plotW, Math.max(x(e.end), x0 + 0.75));
      // Neighbours of the same colour closer than a pixel join into one rectangle.
      if (e.color === lastColor && x0 - lastEnd < 1) {
        const d = paths.get(e.color);
        d[d.length - 1][1] = Math.max(d[d.length - 1][1], x1);
      } else {
        if (!paths.has(e.color)) paths.set(e.color, []);
        paths.get(e.color).push([x0, x1]);
      }
      lastEnd = x1; lastColor = e.color;
    }
    for (const [color, spans] of paths) {
      const d = spans.map(([a, b]) => `M${a.toFixed(1)} ${top}h${(b - a).toFixed(2)}v${height}h${(a - b).toFixed(2)}z`).join("");
      g.append(s("path", { d, fill: color }));
    }
    return g;
  }

  function eventAt(clientX, clientY) {
    const rect = plot.getBoundingClientRect();
    const { labelW, plotW, width } = view.geometry || {};
    if (!plotW) return null;
    const scale = rect.width / width;
    const px = (clientX - rect.left) / scale;
    const laneY = (clientY - rect.top) / scale - AXIS_H;
    const lane = lanes[Math.floor(laneY / LANE_H)];
    if (!lane || !lane.events || px < labelW) return null;
    // The bottom strip of a device lane is its AFK status.
    const inStrip = lane.afkSources.length && laneY % LANE_H >= LANE_H - 4 - AFK_STRIP_H;
    const events = inStrip ? lane.afk : lane.events;
    const t = view.v0 + ((px - labelW) / plotW) * (view.v1 - view.v0);
    const tolerance = (2 / plotW) * (view.v1 - view.v0); // two pixels
    // Binary search on start, then look back for the event covering t.
    let lo = 0; let hi = events.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (events[mid].start <= t) lo = mid + 1; else hi = mid; }
    for (let i = lo - 1; i >= 0 && i >= lo - 50; i--) {
      const e = events[i];
      if (e.end + tolerance >= t) return { lane, event: e };
    }
    return null;
  }

  let drag = null;
  plot.addEventListener("pointermove", (ev) => {
    if (drag) {
      const dx = ev.clientX - drag.x;
      const msPerPx = (view.v1 - view.v0) / (view.geometry.plotW * (plot.getBoundingClientRect().width / view.geometry.width));
      zoom(1, drag.center - dx * msPerPx);
      return;
    }
    const hit = eventAt(ev.clientX, ev.clientY);
    if (!hit) { tooltip.hidden = true; return; }
    replace(tooltip, h("strong", null, hit.lane.title), hit.event.bucket !== hit.lane.title ? h("div", { class: "tooltip-bucket" }, hit.event.bucket) : null,
      describe(hit.event).map((line) => h("div", null, line)));
    tooltip.hidden = false;
    const left = Math.min(ev.clientX + 14, window.innerWidth - tooltip.offsetWidth - 8);
    tooltip.style.left = `${Math.max(4, left)}px`;
    tooltip.style.top = `${ev.clientY + 16}px`;
  });
  plot.addEventListener("pointerleave", () => { tooltip.hidden = true; });
  plot.addEventListener("pointerdown", (ev) => {
    drag = { x: ev.clientX, center: (view.v0 + view.v1) / 2 };
    plot.setPointerCapture(ev.pointerId);
  });
  plot.addEventListener("pointerup", () => { drag = null; });
  plot.addEventListener("wheel", (ev) => {
    if (!view.geometry) return;
    ev.preventDefault();
    const rect = plot.getBoundingClientRect();
    const px = (ev.clientX - rect.left) / (rect.width / view.geometry.width) - view.geometry.labelW;
    const center = view.v0 + Math.max(0, Math.min(1, px / view.geometry.plotW)) * (view.v1 - view.v0);
    zoom(ev.deltaY < 0 ? 0.8 : 1.25, center);
  }, { passive: false });
  plot.addEventListener("keydown", (ev) => {
    const actions = { "+": () => zoom(0.5), "=": () => zoom(0.5), "-": () => zoom(2), "0": () => zoom(Infinity),
      ArrowLeft: () => pan(-0.25), ArrowRight: () => pan(0.25) };
    if (actions[ev.key]) { ev.preventDefault(); actions[ev.key](); }
  });
  const resize = new ResizeObserver(() => draw());
  resize.observe(plot);
  signal.addEventListener("abort", () => { resize.disconnect(); tooltip.remove(); });
  draw();

  let pendingDraw = false;
  const redraw = () => {
    if (pendingDraw) return;
    pendingDraw = true;
    requestAnimationFrame(() => { pendingDraw = false; if (!signal.aborted) draw(); });
  };
  const range = { start: dayStart, end: dayEnd };
  await Promise.all(lanes.map(async (lane) => {
    try {
      [lane.events, lane.afk] = await Promise.all([spansOf(lane.sources, range, signal), spansOf(lane.afkSources, range, signal)]);
    } catch (err) {
      if (signal.aborted) return;
      lane.error = err;
    }
    redraw();
  }));
  if (signal.aborted) return;
  // The drawing is hidden from screen readers; this list says what it shows.
  const total = (events) => fmtDuration(events.reduce((a, e) => a + e.duration, 0));
  plot.after(h("ul", { class: "sr-only", "aria-label": "Lanes summary" }, lanes.map((lane) => h("li", { "data-lane": lane.key },
    lane.error ? `${lane.title}: error ${lane.error.message}`
      : `${lane.title}${lane.sub ? ` (${lane.sub})` : ""}: ${lane.events.length} events, ${total(lane.events)}` +
        (lane.afkSources.length ? `; AFK status ${lane.afk.length} events` : "") +
        (lane.warning ? `; ${lane.warning}` : "")))));
  root.dataset.state = "complete";
}
