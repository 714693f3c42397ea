// Adds up the per-day results of the devices query (queries.js devicesQuery) as they
// arrive, so the Activity view can redraw after every day instead of waiting for the
// whole month. Top lists add per-device durations and keep each device's share; only
// the active-time totals use the union of the devices' periods (docs/dashboard.md).

import { UNCATEGORIZED, pathKey } from "./categories.js";

const byValue = (a, b) => b.value - a.value;

/** Adds `value` to entry `key` of `map` and to its share of device `device`. */
function add(map, key, value, device, devices, make) {
  let entry = map.get(key);
  if (!entry) {
    entry = { ...make(), value: 0, split: new Array(devices).fill(0) };
    map.set(key, entry);
  }
  entry.value += value;
  entry.split[device] += value;
}

export class ActivitySummary {
  /** periods: [[start, end), ...], one per day; devices: how many devices the query covers. */
  constructor(periods, devices = 1) {
    this.periods = periods;
    this.devices = devices;
    // Combined (union) active seconds of each day; null = not loaded yet.
    this.dayTotals = periods.map(() => null);
    // Per day, each device's own active seconds; null = not loaded yet.
    this.deviceDayTotals = periods.map(() => null);
    this.deviceTotals = new Array(devices).fill(0);
    this.hourTotals = new Array(24).fill(0);
    this.apps = new Map();
    this.titles = new Map();
    this.categories = new Map();
    this.domains = new Map();
    this.urls = new Map();
    this.duration = 0; // combined: a minute on two devices counts once
    this.browserDuration = 0;
    this.loaded = 0;
    this.failed = [];
  }

  /** Sum of the devices' own active times; exceeds `duration` by the overlap. */
  get deviceSum() {
    return this.deviceTotals.reduce((a, b) => a + b, 0);
  }

  /** Time spent active on two or more devices at once, counted once in `duration`. */
  get overlap() {
    return Math.max(0, this.deviceSum - this.duration);
  }

  /** Fold in the query result of period `index`. */
  addResult(index, result) {
    const combined = result.combined || {};
    const perDevice = result.devices || {};
    this.loaded++;
    this.dayTotals[index] = combined.duration || 0;
    this.duration += combined.duration || 0;
    const mine = new Array(this.devices).fill(0);
    for (let d = 0; d < this.devices; d++) {
      const r = perDevice[`d${d}`] || {};
      mine[d] = r.duration || 0;
      this.deviceTotals[d] += mine[d];
      this.browserDuration += r.browser_duration || 0;
      this.addDevice(d, r);
    }
    this.deviceDayTotals[index] = mine;
    this.addHours(index, combined.active_events || []);
  }

  addDevice(d, r) {
    const n = this.devices;
    for (const e of r.app_events || []) add(this.apps, e.data.app, e.duration, d, n, () => ({ name: e.data.app }));
    for (const e of r.title_events || []) {
      add(this.titles, `${e.data.app}\u0000${e.data.title}`, e.duration, d, n,
        () => ({ name: e.data.title, sub: e.data.app }));
    }
    for (const e of r.cat_events || []) {
      const path = Array.isArray(e.data.$category) ? e.data.$category : [UNCATEGORIZED];
      add(this.categories, pathKey(path), e.duration, d, n, () => ({ path, name: path.join(" › ") }));
    }
    for (const e of r.domains || []) {
      add(this.domains, e.data.$domain || "(none)", e.duration, d, n, () => ({ name: e.data.$domain || "(no domain)" }));
    }
    for (const e of r.urls || []) {
      add(this.urls, e.data.url, e.duration, d, n, () => ({ name: e.data.url, sub: e.data.title }));
    }
  }

  /** Spread active periods over the hours since the start of their (logical) day. */
  addHours(index, events) {
    const dayStart = this.periods[index][0].getTime();
    for (const e of events) {
      let t = Date.parse(e.timestamp);
      const end = t + e.duration * 1000;
      while (t < end) {
        const hour = Math.floor((t - dayStart) / 3_600_000);
        const hourEnd = dayStart + (hour + 1) * 3_600_000;
        const slice = Math.min(end, hourEnd) - t;
        if (hour >= 0 && hour < 24) this.hourTotals[hour] += slice / 1000;
        t += slice;
      }
    }
  }

  get complete() {
    return this.loaded + this.failed.length >= this.periods.length;
  }

  topApps() { return [...this.apps.values()].sort(byValue); }
  topTitles() { return [...this.titles.values()].sort(byValue); }
  topCategories() { return [...this.categories.values()].sort(byValue); }
  topDomains() { return [...this.domains.values()].sort(byValue); }
  topUrls() { return [...this.urls.values()].sort(byValue); }

  /** cat_events-shaped list for durationTree(). */
  categoryEvents() {
    return [...this.categories.values()].map((c) => ({ duration: c.value, data: { $category: c.path } }));
  }
}
