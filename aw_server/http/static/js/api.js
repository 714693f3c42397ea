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
  exportUrl: (id) => `${BASE}/buckets/${enc(id)}/export`,
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
  queryFunctions: (opts) => request("GET", "/query/functions", opts),
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
