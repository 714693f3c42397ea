// The only module that talks to the server, and only to the public /api/0 endpoints, so
// the dashboard works against any ActivityWatch-compatible server.

const BASE = "/api/0";
const DEFAULT_TIMEOUT_MS = 120_000;

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

function withTimeout(signal, ms) {
  const timeout = AbortSignal.timeout(ms);
  if (!signal) return timeout;
  return AbortSignal.any ? AbortSignal.any([signal, timeout]) : signal;
}

async function errorFrom(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && typeof body.message === "string") message = body.message;
    else if (body) message = JSON.stringify(body);
  } catch { /* not JSON: keep the status line */ }
  return new ApiError(message, response.status);
}

/** fetch() with JSON in and out, server messages as ApiError, and a timeout. */
export async function request(method, path, { body, signal, timeout = DEFAULT_TIMEOUT_MS, form } = {}) {
  const init = { method, signal: withTimeout(signal, timeout), headers: {} };
  if (form) {
    init.body = form;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(BASE + path, init);
  } catch (err) {
    if (err.name === "AbortError" && signal && signal.aborted) throw err;
    if (err.name === "TimeoutError" || err.name === "AbortError") {
      throw new ApiError(`the server did not answer within ${Math.round(timeout / 1000)} s`, 0);
    }
    throw new ApiError(`cannot reach the server (${err.message})`, 0);
  }
  if (!response.ok && response.status !== 304) throw await errorFrom(response);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

const enc = encodeURIComponent;

function rangeQuery({ start, end, limit } = {}) {
  const params = new URLSearchParams();
  if (start) params.set("start", start instanceof Date ? start.toISOString() : start);
  if (end) params.set("end", end instanceof Date ? end.toISOString() : end);
  if (limit !== undefined) params.set("limit", String(limit));
  const text = params.toString();
  return text ? `?${text}` : "";
}

export const api = {
  info: (opts) => request("GET", "/info", opts),
  buckets: (opts) => request("GET", "/buckets/", opts),
  bucket: (id, opts) => request("GET", `/buckets/${enc(id)}`, opts),
  events: (id, range, opts) => request("GET", `/buckets/${enc(id)}/events${rangeQuery(range)}`, opts),
  eventCount: (id, opts) => request("GET", `/buckets/${enc(id)}/events/count`, opts),
  deleteBucket: (id, opts) => request("DELETE", `/buckets/${enc(id)}?force=1`, opts),
  exportUrl: (id, format = "json") => `${BASE}/buckets/${enc(id)}/export${format === "json" ? "" : `?format=${format}`}`,
  exportAllUrl: (format = "json") => `${BASE}/export${format === "json" ? "" : `?format=${format}`}`,
  importFile: (file, opts) => {
    const form = new FormData();
    form.append("buckets", file, file.name || "buckets.json");
    return request("POST", "/import", { ...opts, form });
  },
  /** Run a query2 program over periods given as [Date, Date] pairs. */
  query: (lines, periods, opts) => request("POST", "/query/", {
    ...opts,
    body: { query: lines, timeperiods: periods.map(([a, b]) => `${a.toISOString()}/${b.toISOString()}`) },
  }),
  /** This server and every synced device, by device id (this server only; others 404). */
  devices: (opts) => request("GET", "/devices", opts),
  queryFunctions: (opts) => request("GET", "/query/functions", opts),
  openapi: (opts) => request("GET", "/openapi.json", opts),
  // Background imports (this server only; others answer 404).
  importJobs: (opts) => request("GET", "/import/jobs", opts),
  importJob: (id, opts) => request("GET", `/import/jobs/${enc(id)}`, opts),
  importFound: (path, opts) => request("POST", "/import/jobs", { ...opts, body: { path } }),
  foundDatabases: (opts) => request("GET", "/import/found", opts),
  // Device sync (this server only).
  syncPeers: (opts) => request("GET", "/sync/peers", opts),
  syncPairing: (listen, opts) => request("POST", "/sync/pairing", { ...opts, body: listen ? { listen } : {} }),
  syncListen: (opts) => request("GET", "/sync/listen", opts),
  syncPair: (address, code, opts) => request("POST", "/sync/pair", { ...opts, body: { address, code } }),
  syncDiscover: (opts) => request("GET", "/sync/discover", { timeout: 20_000, ...opts }),
  syncNow: (deviceId, opts) => request("POST", "/sync/now", { ...opts, body: deviceId ? { device_id: deviceId } : {} }),
  syncUnpair: (deviceId, purge, revoke, opts) =>
    request("DELETE", `/sync/peers/${enc(deviceId)}`, { ...opts, body: { purge, revoke } }),
  syncLabel: (deviceId, label, opts) => request("PUT", `/sync/peers/${enc(deviceId)}`, { ...opts, body: { label } }),
  syncSkipped: (opts) => request("GET", "/sync/skipped", opts),
  settings: (opts) => request("GET", "/settings", opts),
  setSetting: (key, value, opts) => request("POST", `/settings/${enc(key)}`, { ...opts, body: value }),
};

// Shared reads: main.js starts these at boot, in parallel with loading the view's code,
// so the first view does not wait for its module before asking the server.
let bucketsCache = null;
let infoCache = null;

/** The bucket list, reused for a few seconds (views that change buckets pass maxAgeMs: 0). */
export function sharedBuckets({ maxAgeMs = 10_000 } = {}) {
  if (!bucketsCache || Date.now() - bucketsCache.at > maxAgeMs) {
    const promise = api.buckets();
    bucketsCache = { at: Date.now(), promise };
    promise.catch(() => { if (bucketsCache && bucketsCache.promise === promise) bucketsCache = null; });
  }
  return bucketsCache.promise;
}

export function sharedInfo() {
  if (!infoCache) {
    infoCache = api.info();
    infoCache.catch(() => { infoCache = null; });
  }
  return infoCache;
}

/**
 * Upload a file as multipart/form-data with upload progress (fetch has none, and a
 * database can take a while even on localhost). Resolves with the JSON answer; rejects
 * with ApiError carrying the server's message. Not tied to the view's AbortSignal: an
 * upload the user started finishes even if they look at another view meanwhile.
 */
export function upload(path, file, { field = "file", onProgress } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", BASE + path);
    xhr.responseType = "text";
    if (onProgress) xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) onProgress(e.loaded, e.total); });
    xhr.addEventListener("load", () => {
      let body = null;
      try { body = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) { resolve(body); return; }
      const message = body && typeof body.message === "string" ? body.message : `${xhr.status} ${xhr.statusText}`;
      reject(new ApiError(message, xhr.status));
    });
    xhr.addEventListener("error", () => reject(new ApiError("cannot reach the server (the upload failed)", 0)));
    xhr.addEventListener("abort", () => reject(new ApiError("the upload was cancelled", 0)));
    const form = new FormData();
    form.append(field, file, file.name || "upload");
    xhr.send(form);
  });
}
