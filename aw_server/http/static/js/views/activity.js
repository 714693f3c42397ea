// Activity: where the time went for a day, week, month or custom range, on one device,
// several, or all of them. One query per day covers every chosen device (a month is ~30
// requests whatever the number of devices), a few in flight at once; every answer is
// folded into the summary and the cards redraw, so a month fills in progressively.
// Devices are keyed by device id (URL: devices=all or devices=<id>,<id>), never by
// hostname: two machines called "laptop" stay two devices.

import { api, sharedBuckets } from "../api.js";
import { h, replace, fmtDuration, errorBox, empty, card } from "../dom.js";
import { loadSettings } from "../settings.js";
import { devicesQuery } from "../queries.js";
import { loadDevices, deviceTitle, skewText } from "../devices.js";
import { categoryColor, durationTree } from "../categories.js";
import { ActivitySummary } from "../aggregate.js";
import { yearCards } from "./year.js";
import { barChart, topList, treemap } from "../charts.js";
import { navigate, routeHash } from "../router.js";
import {
  parseDate, isoDate, logicalDate, rangeDates, dailyPeriods, shiftDate, rangeLabel, parseStartOfDay, addDays,
  weekStart,
} from "../time.js";

const RANGES = [["day", "Day"], ["week", "Week"], ["month", "Month"], ["year", "Year"], ["custom", "Custom"]];
const CONCURRENCY = 4;
// Beyond two months a bar per day is too thin to read or point at: one bar per week
// instead (the Year range's calendar shows every day).
const WEEKLY_AFTER_DAYS = 62;
// Long ranges ask for several days per request once answers come back quickly (from the
// server's cache, or light days), when per-request costs would dominate; the size aims at
// about REQUEST_TARGET_MS a request, so cells still fill steadily and a batch stays far
// below the server's per-request time budget.
const MAX_BATCH_DAYS = 31;
const REQUEST_TARGET_MS = 1000;
const nextBatchSize = (days, ms, most) =>
  Math.max(1, Math.min(most, Math.floor((days * REQUEST_TARGET_MS) / Math.max(ms, 1))));

/** The devices the URL asks for: `devices=all`, ids, or the old `host=<hostname>`. By
 * default all devices once more than one has data, else the one that has. */
function chooseDevices(params, withData) {
  const asked = params.get("devices");
  if (asked === "all") return withData;
  if (asked) {
    const ids = new Set(asked.split(","));
    const chosen = withData.filter((d) => ids.has(d.id));
    if (chosen.length) return chosen;
  }
  const host = params.get("host");
  if (host) {
    const named = withData.filter((d) => d.hostnames.includes(host) || d.hostname === host);
    const pick = named.find((d) => d.isThis) || named[0];
    if (pick) return [pick];
  }
  if (withData.length > 1) return withData;
  return withData.slice(0, 1);
}

function readState(params, settings, withData) {
  const kind = RANGES.some(([k]) => k === params.get("range")) ? params.get("range") : "day";
  const today = logicalDate(new Date(), settings.startOfDay);
  const date = parseDate(params.get("date")) || today;
  const chosen = chooseDevices(params, withData);
  return {
    kind, date, end: parseDate(params.get("end")), chosen,
    all: withData.length > 1 && chosen.length === withData.length,
    filterAfk: params.get("afk") !== "0",
  };
}

function stateHash(state, changes = {}) {
  const next = { ...state, ...changes };
  return routeHash("activity", {
    devices: next.all ? "all" : next.chosen.map((d) => d.id).join(","),
    range: next.kind, date: isoDate(next.date),
    end: next.kind === "custom" && next.end ? isoDate(next.end) : "", afk: next.filterAfk ? "" : "0",
  });
}

/** "All devices" plus a checkbox per device; devices without data are listed, disabled. */
function devicePicker(state, devices, go) {
  const chosen = new Set(state.chosen.map((d) => d.id));
  const withData = devices.filter((d) => d.hasData);
  const toggle = (device, on) => {
    const next = withData.filter((d) => (d === device ? on : chosen.has(d.id)));
    if (!next.length) return; // at least one device stays chosen
    go({ chosen: next, all: withData.length > 1 && next.length === withData.length });
  };
  return h("fieldset", { class: "field device-picker", "aria-label": "Devices" },
    h("legend", null, "Devices"),
    withData.length > 1 ? h("button", { type: "button", class: "all-devices", "aria-pressed": String(state.all),
      onclick: () => go({ chosen: withData, all: true }) }, "All devices") : null,
    devices.map((device) => {
      const warning = skewText(device);
      return h("label", { class: "device-choice", "data-device": device.id, title: device.id },
        h("input", { type: "checkbox", name: "device", value: device.id, checked: chosen.has(device.id),
          disabled: !device.hasData || (chosen.size === 1 && chosen.has(device.id)),
          onchange: (e) => toggle(device, e.target.checked) }),
        h("span", { class: "swatch", style: { background: device.color }, "aria-hidden": "true" }),
        h("span", null, device.label, device.hostname && !device.label.includes(device.hostname)
          ? h("span", { class: "sub" }, ` · ${device.hostname}`) : null,
        device.isThis ? h("span", { class: "sub" }, " (this device)") : null,
        device.hasData ? null : h("span", { class: "sub" }, device.purged ? " (data deleted)" : " (no data)")),
        warning ? h("span", { class: "skew-warning", role: "note", title: warning }, `⚠ ${warning}`) : null);
    }));
}

function toolbar(state, devices, first, last, onQuery) {
  const go = (changes) => navigate(stateHash(state, changes));
  const span = Math.round((last - first) / 86_400_000) + 1;
  return h("form", { class: "toolbar", "aria-label": "Choose what to show", onsubmit: (e) => e.preventDefault() },
    devicePicker(state, devices, go),
    h("div", { class: "field" }, h("span", { id: "range-label" }, "Range"),
      h("div", { class: "btn-group", role: "group", "aria-labelledby": "range-label" },
        RANGES.map(([kind, label]) => h("button", {
          type: "button", "aria-pressed": String(kind === state.kind), onclick: () => go({ kind }),
        }, label)))),
    h("div", { class: "field" }, h("span", { id: "nav-label" }, "Move"),
      h("div", { class: "btn-group", role: "group", "aria-labelledby": "nav-label" },
        h("button", { type: "button", "aria-label": "Previous", title: "Previous",
          onclick: () => go({ date: shiftDate(state.kind, first, -1, span), end: state.end && addDays(state.end, -span) }) }, "‹"),
        h("button", { type: "button", onclick: () => go({ date: new Date(), end: null }) }, "Today"),
        h("button", { type: "button", "aria-label": "Next", title: "Next",
          onclick: () => go({ date: shiftDate(state.kind, first, 1, span), end: state.end && addDays(state.end, span) }) }, "›"))),
    h("label", { class: "field" }, state.kind === "custom" ? "From" : "Date",
      h("input", { type: "date", name: "date", value: isoDate(state.kind === "custom" ? first : state.date),
        onchange: (e) => e.target.value && go({ date: parseDate(e.target.value) }) })),
    state.kind === "custom" ? h("label", { class: "field" }, "To",
      h("input", { type: "date", name: "end", value: isoDate(last),
        onchange: (e) => e.target.value && go({ end: parseDate(e.target.value) }) })) : null,
    h("label", { class: "field inline" },
      h("input", { type: "checkbox", name: "afk", checked: state.filterAfk, onchange: (e) => go({ filterAfk: e.target.checked }) }),
      "Only count time when not AFK"),
    h("button", { type: "button", class: "open-query", onclick: onQuery,
      title: "Open the Query view with the program this view runs, for this range" }, "Open as query"));
}

export async function mount(root, { params, signal }) {
  const [settings, buckets] = await Promise.all([loadSettings(), sharedBuckets()]);
  const devices = await loadDevices(buckets);
  const withData = devices.filter((d) => d.hasData);
  if (!withData.some((d) => d.window.length)) {
    root.append(h("h1", null, "Activity"), h("div", { class: "card full" },
      h("p", null, "No window-watcher data yet. Start aw-watcher-window and aw-watcher-afk, " +
        "or import an export on the ", h("a", { href: "#/buckets" }, "Buckets page"), ".")));
    return;
  }
  const state = readState(params, settings, withData);
  const [first, last] = rangeDates(state.kind, state.date, settings.startOfWeek, state.end);
  const periods = dailyPeriods(first, last, settings.startOfDay);
  const chosen = state.chosen;
  const hasBrowser = chosen.some((d) => d.browsers.length > 0);
  const lines = devicesQuery(chosen, settings.classes, { filterAfk: state.filterAfk });
  const openQuery = () => navigate(routeHash("query", {
    q: lines.join("\n"), from: isoDate(first), to: isoDate(last), run: "1",
  }));

  const status = h("p", { class: "muted", role: "status", "aria-live": "polite" });
  const bar = h("div", { style: { width: "0%" } });
  const what = state.all ? "All devices" : chosen.map((d) => d.label).join(" + ");
  root.append(
    h("h1", null, "Activity ", h("span", { class: "muted" }, `· ${rangeLabel(state.kind, first, last)} · ${what}`)),
    toolbar(state, devices, first, last, openQuery),
    h("div", { class: "progress", role: "progressbar", "aria-label": "Days loaded", "aria-valuemin": "0",
      "aria-valuemax": String(periods.length) }, bar),
    status);

  const many = chosen.length > 1;
  const cards = {
    summary: card("Summary", "full"),
    hours: card(periods.length === 1 ? "Active time by hour"
      : periods.length > WEEKLY_AFTER_DAYS ? "Active time per week" : "Active time per day",
    periods.length === 1 ? "full" : "wide"),
    profile: periods.length > 1 ? card("By hour of day") : null,
    apps: card("Top applications"),
    titles: card("Top window titles", "wide"),
    categories: card("Top categories", "wide"),
    categoryList: card("Categories"),
    domains: hasBrowser ? card("Top browser domains", "half") : null,
    urls: hasBrowser ? card("Top URLs", "half") : null,
  };
  root.append(h("div", { class: "grid" }, Object.values(cards).filter(Boolean).map((c) => c.el)));
  for (const c of Object.values(cards)) if (c) c.body.append(h("p", { class: "loading" }, "Loading…"));
  const year = state.kind === "year" ? yearCards({ periods, startOfWeek: settings.startOfWeek,
    openDay: (date) => navigate(stateHash(state, { kind: "day", date })) }) : null;
  if (year) cards.summary.el.after(...year.cards);

  const summary = new ActivitySummary(periods, chosen.length);
  const view = { state, settings, periods, summary, cards, first, chosen, many };
  let painted = false;
  const draw = () => {
    render(view);
    if (year) year.update(summary);
    const done = summary.loaded + summary.failed.length;
    bar.style.width = `${(done / periods.length) * 100}%`;
    bar.parentElement.setAttribute("aria-valuenow", String(done));
    status.textContent = summary.complete
      ? `Loaded ${periods.length} ${periods.length === 1 ? "day" : "days"}.`
      : `Loading… ${done} of ${periods.length} days`;
    // Marks for the benchmark and the tests: numbers on screen, then everything.
    if (!painted && summary.loaded > 0) {
      painted = true;
      performance.mark("aw-activity-first-paint");
    }
    if (summary.complete) {
      performance.mark("aw-activity-complete");
      root.dataset.state = "complete";
    }
  };
  // Each redraw rebuilds every card, so while days stream in draw at most every 250 ms;
  // the first numbers and the final state are drawn at the next frame.
  let timer = null;
  let frame = 0;
  let lastDraw = 0;
  const redraw = () => {
    if (signal.aborted) return;
    const urgent = !painted || summary.complete;
    if (timer !== null) {
      if (!urgent) return;
      clearTimeout(timer);
      timer = null;
    }
    if (frame) return; // the frame already requested draws the latest state
    const wait = urgent ? 0 : Math.max(0, lastDraw + 250 - performance.now());
    timer = setTimeout(() => {
      timer = null;
      frame = requestAnimationFrame(() => {
        frame = 0;
        lastDraw = performance.now();
        if (!signal.aborted) draw();
      });
    }, wait);
  };
  status.textContent = `Loading… 0 of ${periods.length} days`;
  let resizeTimer = 0;
  const onResize = () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { if (summary.loaded) render(view); }, 150);
  };
  window.addEventListener("resize", onResize);
  signal.addEventListener("abort", () => window.removeEventListener("resize", onResize));

  // Newest day first: it is the one people look at, and past days come from the server cache.
  const order = periods.map((_, i) => i).reverse();
  let size = 1;
  let most = MAX_BATCH_DAYS; // 1 after a batch failed: its days are retried one by one
  const worker = async (limit = Infinity) => {
    for (let done = 0; done < limit && order.length && !signal.aborted; done++) {
      const batch = order.splice(0, size); // consecutive days, newest first
      const began = performance.now();
      try {
        const results = await api.query(lines, batch.map((index) => periods[index]), { signal });
        batch.forEach((index, k) => summary.addResult(index, results[k]));
        if (periods.length > 31) size = nextBatchSize(batch.length, performance.now() - began, most);
      } catch (err) {
        if (signal.aborted) return;
        if (batch.length > 1) {
          // One slow or broken day must not take its neighbours with it.
          order.unshift(...batch);
          size = most = 1;
          continue;
        }
        summary.failed.push({ index: batch[0], err });
      }
      redraw();
    }
  };
  // The newest day goes alone: the server computes queries one at a time (one Python
  // process), so company would only delay the first numbers. Then a few in flight keep
  // the server busy while answers travel and render, and hide the per-request cost when
  // days come from the server's cache.
  await worker(1);
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, order.length) }, () => worker()));
}

/** One bar per week of the range (weeks begin on the startOfWeek setting; the first and
 * last may be partial), labelled with the month whose first day it holds. */
function weekItems({ summary, first, chosen, many, settings }) {
  const weeks = [];
  summary.dayTotals.forEach((value, i) => {
    const date = addDays(first, i);
    const start = weekStart(date, settings.startOfWeek);
    let week = weeks[weeks.length - 1];
    if (!week || week.start.getTime() !== start.getTime()) {
      week = { start, value: 0, perDevice: chosen.map(() => 0), label: "" };
      weeks.push(week);
    }
    week.value += value || 0;
    const perDevice = summary.deviceDayTotals[i];
    if (perDevice) perDevice.forEach((v, j) => { week.perDevice[j] += v || 0; });
    if (date.getDate() === 1 || i === 0) week.label = date.toLocaleDateString(undefined, { month: "short" });
  });
  return weeks.map((w) => ({
    label: w.label, value: w.value, detail: `Week of ${w.start.toLocaleDateString()}`,
    stack: many ? chosen.map((d, j) => ({ value: w.perDevice[j], color: d.color, label: d.label })) : undefined,
  }));
}

/** Per-device colours and names for the split bars, in the query's device order. */
const splitOf = (chosen) => chosen.map((d) => ({ label: d.label, color: d.color }));

/** Each chosen device: its own active time in the range, hostname, skew warning. */
function deviceRows(chosen, summary) {
  return h("ul", { class: "device-totals", "aria-label": "Active time per device" }, chosen.map((device, i) => {
    const warning = skewText(device);
    return h("li", { "data-device": device.id },
      h("span", { class: "swatch", style: { background: device.color }, "aria-hidden": "true" }),
      h("span", { class: "name" }, deviceTitle(device)),
      h("span", { class: "dur" }, fmtDuration(summary.deviceTotals[i])),
      warning ? h("span", { class: "skew-warning", role: "note" }, `⚠ ${warning}`) : null,
      summary.loaded && !summary.deviceTotals[i] ? h("span", { class: "sub" }, " no activity in this range") : null);
  }));
}

function render({ state, settings, periods, summary, cards, first, chosen, many }) {
  const colorOf = (path) => categoryColor(path, settings.classes);
  const apps = summary.topApps();
  const cats = summary.topCategories();
  const days = summary.dayTotals.filter((d) => d !== null);
  const activeDays = days.filter((d) => d > 0).length;
  const split = many ? splitOf(chosen) : undefined;

  const stats = [
    ["Active time", fmtDuration(summary.duration), "active-time"],
  ];
  if (many) stats.push(["Overlap (active on several devices at once)", fmtDuration(summary.overlap), "overlap"]);
  stats.push(
    ["Top application", apps[0] ? apps[0].name : "—", "top-app"],
    ["Top category", cats[0] ? cats[0].name : "—", "top-category"],
  );
  if (periods.length > 1) stats.push(["Average per active day", fmtDuration(activeDays ? summary.duration / activeDays : 0), "avg"]);
  replace(cards.summary.body,
    summary.failed.length ? errorBox(new Error(`${summary.failed.length} of ${periods.length} days failed: ` +
      summary.failed[0].err.message), () => window.dispatchEvent(new Event("aw-navigate"))) : null,
    h("div", { class: "stats" }, stats.map(([label, value, id]) =>
      h("div", { class: "stat", "data-stat": id }, h("div", { class: "value" }, value), h("div", { class: "label" }, label)))),
    many || chosen.some((d) => d.skewWarning) ? deviceRows(chosen, summary) : null);

  if (summary.loaded === 0 && summary.failed.length) {
    // Nothing came back: say so instead of pretending the range was empty.
    for (const c of Object.values(cards)) {
      if (c && c !== cards.summary) replace(c.body, empty("Not available: the query failed (see Summary)."));
    }
    return;
  }

  // Charts are drawn at the card's real width so their text stays at its CSS size.
  const widthOf = (c) => Math.max(280, Math.round(c.body.clientWidth || 700));
  const { h: startHour } = parseStartOfDay(settings.startOfDay);
  const hourItems = summary.hourTotals.map((value, i) => {
    const hour = (startHour + i) % 24;
    return { label: String(hour).padStart(2, "0"), value, detail: `${String(hour).padStart(2, "0")}:00–${String((hour + 1) % 24).padStart(2, "0")}:00` };
  });
  if (periods.length === 1) {
    replace(cards.hours.body, barChart(hourItems, {
      width: widthOf(cards.hours), height: 220, ariaLabel: "Active time for each hour of the day",
      labelEvery: widthOf(cards.hours) < 600 ? 3 : 1,
    }));
  } else {
    const weekly = periods.length > WEEKLY_AFTER_DAYS;
    const items = weekly ? weekItems({ summary, first, chosen, many, settings }) : summary.dayTotals.map((value, i) => {
      const date = addDays(first, i);
      const label = periods.length > 10 ? String(date.getDate())
        : `${date.toLocaleDateString(undefined, { weekday: "short" })} ${date.getDate()}`;
      const perDevice = summary.deviceDayTotals[i];
      // Several devices: each device's own time stacked, the combined time marked.
      const stack = many && perDevice ? chosen.map((d, j) => ({ value: perDevice[j], color: d.color, label: d.label })) : undefined;
      return { label, value: value || 0, detail: date.toLocaleDateString(), stack };
    });
    const unit = weekly ? "week" : "day";
    cards.hours.body.dataset.seconds = JSON.stringify(items.map((item) => item.value)); // exact, for scripts and tests
    replace(cards.hours.body, barChart(items, {
      width: widthOf(cards.hours), height: 220,
      ariaLabel: many ? `Active time for each ${unit}, stacked by device; the line marks the combined time` : `Active time for each ${unit}`,
      labelEvery: weekly ? 1 : Math.ceil(periods.length / (widthOf(cards.hours) / 36)),
    }));
    replace(cards.profile.body, barChart(hourItems, {
      width: widthOf(cards.profile), height: 220, ariaLabel: "Active time by hour of day, summed over the range", labelEvery: 3,
    }));
  }

  replace(cards.apps.body, topList(apps, { total: summary.deviceSum, label: "Top applications", split, emptyText: "No activity in this range" }));
  replace(cards.titles.body, topList(summary.topTitles(), { total: summary.deviceSum, label: "Top window titles", split, emptyText: "No activity in this range" }));
  const tree = durationTree(summary.categoryEvents());
  replace(cards.categories.body, tree.value > 0
    ? treemap(tree, colorOf, {
      width: widthOf(cards.categories), height: Math.min(320, Math.round(widthOf(cards.categories) * 0.6)),
      ariaLabel: "Time per category as a treemap",
    })
    : empty("No activity in this range"));
  replace(cards.categoryList.body, h("p", { class: "hint" }, "Rules are edited in ", h("a", { href: "#/settings" }, "Settings"), "."),
    topList(cats.map((c) => ({ ...c, color: colorOf(c.path) })), { total: summary.deviceSum, label: "Top categories", split }));
  if (cards.domains) {
    replace(cards.domains.body, topList(summary.topDomains(), { total: summary.browserDuration, label: "Top browser domains", split, emptyText: "No browser activity" }));
    replace(cards.urls.body, topList(summary.topUrls(), { total: summary.browserDuration, label: "Top URLs", split, emptyText: "No browser activity" }));
  }
}
