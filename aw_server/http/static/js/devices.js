// Devices as the Activity and Timeline views see them: one entry per device id (this
// server or a synced origin), with its watcher buckets sorted by kind. Hostnames are only
// shown, never used as keys: two laptops called "laptop" stay two devices.

import { api } from "./api.js";

// Colours that stay apart on light and dark backgrounds; device i gets PALETTE[i % n].
const PALETTE = ["#3b7dd8", "#e07b39", "#4aa564", "#b35bc4", "#d6455d", "#2aa3a3", "#9c8a2f"];

const isBrowser = (b) => b.type === "web.tab.current" || b.id.startsWith("aw-watcher-web");

/** Watcher buckets of one device by kind. Of a kind, every bucket of the watcher's own id
 * (`aw-watcher-window_<host>`, under each hostname the device had, also as `-synced-from-`
 * mirrors), since a renamed host keeps its history in the old one; only without those the
 * first created other bucket of that type (an import), as the one-host view did. */
export function bucketsByKind(ids, buckets) {
  const known = ids.map((id) => buckets[id]).filter(Boolean);
  const ofType = (type, prefix) => {
    const typed = known.filter((b) => b.type === type);
    const own = typed.filter((b) => b.id.startsWith(`${prefix}_`));
    return (own.length ? own : typed.slice(0, 1)).map((b) => b.id);
  };
  return {
    window: ofType("currentwindow", "aw-watcher-window"),
    afk: ofType("afkstatus", "aw-watcher-afk"),
    browsers: known.filter(isBrowser).map((b) => b.id).sort(),
  };
}

/** What a device is for the dashboard. `entry` is one item of GET /api/0/devices. */
function fromEntry(entry, buckets, index) {
  const kinds = bucketsByKind(entry.buckets || [], buckets);
  return {
    id: entry.device_id,
    label: entry.label || entry.hostname || entry.device_id,
    hostname: entry.hostname || "",
    hostnames: entry.hostnames || [],
    isThis: Boolean(entry.is_this_device),
    purged: Boolean(entry.purged),
    clockSkew: entry.clock_skew ?? null,
    skewWarning: Boolean(entry.skew_warning),
    ...kinds,
    hasData: kinds.window.length > 0 || kinds.afk.length > 0,
    color: PALETTE[index % PALETTE.length],
  };
}

/** Servers without GET /api/0/devices (ActivityWatch's own): one device per hostname. */
function fromHostnames(buckets) {
  const hosts = [...new Set(Object.values(buckets).map((b) => b.hostname || "unknown"))].sort();
  return hosts.map((host) => ({
    device_id: `host:${host}`, label: host, hostname: host, hostnames: [host], is_this_device: false,
    // Older web watchers say "unknown"; they belong to whichever desktop shows them.
    buckets: Object.values(buckets).filter((b) => (b.hostname || "unknown") === host).map((b) => b.id),
  }));
}

let listCache = null; // {at, promise}: one request for views opened within 10 s

/** GET /api/0/devices, shared like the bucket list; null when the server has no such
 * route (ActivityWatch's own servers). Started at boot, beside the bucket list. */
export function sharedDeviceList({ maxAgeMs = 10_000 } = {}) {
  if (!listCache || Date.now() - listCache.at > maxAgeMs) {
    const promise = api.devices().catch((err) => {
      if (err.status === 404) return null;
      throw err;
    });
    listCache = { at: Date.now(), promise };
    promise.catch(() => { if (listCache && listCache.promise === promise) listCache = null; });
  }
  return listCache.promise;
}

/** Every device with its buckets; devices listed by the server first, in its order. */
export async function loadDevices(buckets) {
  const entries = (await sharedDeviceList()) || fromHostnames(buckets);
  return entries.map((entry, i) => fromEntry(entry, buckets, i));
}

/** "laptop (abc1234)" plus the hostname when the label does not say it already. */
export function deviceTitle(device) {
  return device.hostname && !device.label.includes(device.hostname)
    ? `${device.label} · ${device.hostname}` : device.label;
}

/** The warning sync reports for a device whose clock was off, or "". */
export function skewText(device) {
  if (!device.skewWarning || device.clockSkew === null) return "";
  const seconds = Math.round(Math.abs(device.clockSkew));
  return `clock off by ${seconds} s at the last sync`;
}
