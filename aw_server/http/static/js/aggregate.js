// Adds up the per-day results of the desktop query as they arrive, so the Activity view
// can redraw after every day instead of waiting for the whole month.

import { UNCATEGORIZED, pathKey } from "./categories.js";

function add(map, key, value, make) {
  const entry = map.get(key);
  if (entry) entry.value += value;
  else map.set(key, { ...make(), value });
}

const byValue = (a, b) => b.value - a.value;

export class ActivitySummary {
  /** periods: [[start, end), ...], one per day. */
  constructor(periods) {
    this.periods = periods;
    this.dayTotals = periods.map(() => null); // null = not loaded yet
    this.hourTotals = new Array(24).fill(0);
    this.apps = new Map();
    this.titles = new Map();
    this.categories = new Map();
    this.domains = new Map();
    this.urls = new Map();
    this.duration = 0;
    this.browserDuration = 0;
    this.loaded = 0;
    this.failed = [];
  }

  /** Fold in the query result of period `index`. */
  addResult(index, result) {
    const win = result.window || {};
    const browser = result.browser || {};
    this.loaded++;
    this.dayTotals[index] = win.duration || 0;
    this.duration += win.duration || 0;
    this.browserDuration += browser.duration || 0;
    for (const e of win.app_events || []) add(this.apps, e.data.app, e.duration, () => ({ name: e.data.app }));
    for (const e of win.title_events || []) {
      add(this.titles, `${e.data.app}\u0000${e.data.title}`, e.duration,
        () => ({ name: e.data.title, sub: e.data.app }));
    }
    for (const e of win.cat_events || []) {
      const path = Array.isArray(e.data.$category) ? e.data.$category : [UNCATEGORIZED];
      add(this.categories, pathKey(path), e.duration, () => ({ path, name: path.join(" › ") }));
    }
    for (const e of browser.domains || []) {
      add(this.domains, e.data.$domain || "(none)", e.duration, () => ({ name: e.data.$domain || "(no domain)" }));
    }
    for (const e of browser.urls || []) {
      add(this.urls, e.data.url, e.duration, () => ({ name: e.data.url, sub: e.data.title }));
    }
    this.addHours(index, win.active_events || []);
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
