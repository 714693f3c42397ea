// Hash routes: #/<view>/<rest...>?<params>. Works behind any static file server.

export const VIEW_NAMES = ["activity", "timeline", "buckets", "query", "import", "sync", "settings"];

/** "#/buckets/aw-x?limit=5" → {view: "buckets", rest: ["aw-x"], params: URLSearchParams} */
export function parseRoute(hash = location.hash) {
  const text = hash.replace(/^#\/?/, "");
  const [path, query = ""] = text.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const known = VIEW_NAMES.includes(parts[0]);
  const view = known ? parts[0] : "activity";
  return { view, rest: known ? parts.slice(1) : [], params: new URLSearchParams(query) };
}

/** Build a hash for a view with parameters (empty values dropped). */
export function routeHash(view, params = {}, rest = []) {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") search.set(k, v);
  const path = [view, ...rest.map(encodeURIComponent)].join("/");
  const query = search.toString();
  return `#/${path}${query ? `?${query}` : ""}`;
}

/** Navigate; `replace` keeps the history clean when a view only normalizes its URL. */
export function navigate(hash, { replace: replaceEntry = false } = {}) {
  if (hash === location.hash) return;
  if (replaceEntry) {
    history.replaceState(null, "", hash);
    window.dispatchEvent(new Event("aw-navigate"));
  } else {
    location.hash = hash;
  }
}

