// The canonical desktop query (what ActivityWatch's web UI asks for), for one device or
// several in one program: window events cut to the times the user was not AFK,
// categorized, merged into top lists; browser tabs kept only while the browser window was
// focused; the devices' active periods joined by the overlap rule.

import { queryCategories } from "./categories.js";

// App names (regexes on the window watcher's `app`) under which each browser runs.
const BROWSER_APPS = [
  ["firefox", "firefox|librewolf|waterfox|iceweasel|nightly|floorp|zen"],
  ["chromium", "chromium"],
  ["chrome", "chrome"],
  ["edge", "msedge|microsoft-edge|\\bedge\\b"],
  ["brave", "brave"],
  ["opera", "opera"],
  ["vivaldi", "vivaldi"],
  ["safari", "safari"],
  ["arc", "^arc$"],
];

/** Regex matching the window `app` of the browser whose web-watcher bucket id is given. */
export function browserAppPattern(bucketId) {
  const id = bucketId.toLowerCase();
  // "chromium" before "chrome": the first name found in the bucket id wins.
  for (const [name, pattern] of BROWSER_APPS) {
    if (id.includes(name)) return `(?i)(${pattern})`;
  }
  return null;
}

const q = (value) => JSON.stringify(value);

/** Hosts that have a window bucket, the Activity view's choices. */
export function desktopHosts(buckets) {
  const hosts = new Set();
  for (const b of Object.values(buckets || {})) {
    if (b.type === "currentwindow" && b.hostname) hosts.add(b.hostname);
  }
  return [...hosts].sort();
}

/** `flood(query_bucket(a))`, or the time-sorted concatenation over several buckets (a
 * renamed host keeps its old buckets), or `[]` when there are none. */
function bucketsExpr(ids) {
  if (!ids.length) return "[]";
  const parts = ids.map((id) => `flood(query_bucket(${q(id)}))`);
  return parts.length === 1 ? parts[0] : `sort_by_timestamp(concat(${parts.join(", ")}))`;
}

/** Browser detection looks at the watcher's own bucket id, not a mirror's suffix. */
const originalId = (id) => id.replace(/-synced-from-[^-]+$/, "");

/**
 * One query2 program for several devices: per device the one-device summary (prefixed
 * `d<i>_`), and their combined active time. devices: [{window: [ids], afk: [ids],
 * browsers: [ids]}]. Active time follows the overlap rule (docs/dashboard.md): a device's
 * active periods are its window events cut to its not-AFK periods (only window events
 * without an AFK bucket, only not-AFK periods without a window bucket); the combined time
 * is the union of all devices' periods, so a minute on two machines counts once.
 * RETURN = {"combined": {duration, active_events}, "devices": {"d0": {...}, ...}}.
 */
export function devicesQuery(devices, classes, { filterAfk = true } = {}) {
  const lines = [`rules = ${q(queryCategories(classes))};`];
  const keys = [];
  devices.forEach((device, i) => {
    const p = `d${i}_`;
    keys.push(p);
    const hasWindow = device.window.length > 0;
    const hasAfk = device.afk.length > 0;
    lines.push(`${p}events = ${bucketsExpr(device.window)};`);
    if (hasAfk) {
      lines.push(`${p}not_afk = filter_keyvals(${bucketsExpr(device.afk)}, "status", ["not-afk"]);`);
    } else {
      lines.push(`${p}not_afk = [];`);
    }
    lines.push(`${p}browser = [];`);
    device.browsers.forEach((id, j) => {
      const pattern = browserAppPattern(originalId(id));
      if (!pattern) return;
      const w = `${p}web${j}`;
      lines.push(
        `${w} = filter_period_intersect(flood(query_bucket(${q(id)})), filter_keyvals_regex(${p}events, "app", ${q(pattern)}));`,
        `${p}browser = sort_by_timestamp(concat(${p}browser, split_url_events(${w})));`);
    });
    // Audible tabs (video, calls) count as active even without input.
    lines.push(`${p}not_afk = period_union(${p}not_afk, filter_keyvals(${p}browser, "audible", [true]));`);
    if (filterAfk && hasAfk) {
      lines.push(`${p}events = filter_period_intersect(${p}events, ${p}not_afk);`,
        `${p}browser = filter_period_intersect(${p}browser, ${p}not_afk);`);
    }
    lines.push(
      // A device with only AFK data: its not-AFK periods are its active time.
      `${p}active = period_union(${hasWindow || !hasAfk ? `${p}events` : `${p}not_afk`}, []);`,
      `${p}events = categorize(${p}events, rules);`,
      `${p}titles = sort_by_duration(merge_events_by_keys(${p}events, ["app", "title"]));`,
      `${p}apps = limit_events(sort_by_duration(merge_events_by_keys(${p}titles, ["app"])), 100);`,
      `${p}cats = sort_by_duration(merge_events_by_keys(${p}events, ["$category"]));`,
      `${p}titles = limit_events(${p}titles, 100);`,
      `${p}domains = limit_events(sort_by_duration(merge_events_by_keys(${p}browser, ["$domain"])), 100);`,
      `${p}urls = limit_events(sort_by_duration(merge_events_by_keys(${p}browser, ["url"])), 100);`);
  });
  // Pairwise union: the combined active periods, never longer than the clock.
  lines.push(`active = ${keys.length ? `${keys[0]}active` : "[]"};`);
  for (const p of keys.slice(1)) lines.push(`active = period_union(active, ${p}active);`);
  const perDevice = keys.map((p, i) => `"d${i}": {"app_events": ${p}apps, "title_events": ${p}titles, ` +
    `"cat_events": ${p}cats, "active_events": ${p}active, "duration": sum_durations(${p}active), ` +
    `"domains": ${p}domains, "urls": ${p}urls, "browser_duration": sum_durations(${p}browser)}`);
  lines.push(`RETURN = {"combined": {"duration": sum_durations(active), "active_events": active}, ` +
    `"devices": {${perDevice.join(", ")}}};`);
  return lines;
}
