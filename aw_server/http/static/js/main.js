// Entry point: hash router, navigation state, theme, footer. Views are loaded on demand,
// and each mount gets an AbortSignal that fires when the user leaves, so a slow query in
// one view never holds up the next.

import { sharedBuckets, sharedInfo } from "./api.js";
import { h, replace, errorBox, loading } from "./dom.js";
import { loadSettings, applyTheme } from "./settings.js";
import { parseRoute, VIEW_NAMES } from "./router.js";
import { sharedDeviceList } from "./devices.js";

const VIEWS = {
  activity: () => import("./views/activity.js"),
  timeline: () => import("./views/timeline.js"),
  buckets: () => import("./views/buckets.js"),
  query: () => import("./views/query.js"),
  import: () => import("./views/import.js"),
  sync: () => import("./views/sync.js"),
  settings: () => import("./views/settings.js"),
};
if (Object.keys(VIEWS).join() !== VIEW_NAMES.join()) throw new Error("router and views disagree");
const TITLES = {
  activity: "Activity", timeline: "Timeline", buckets: "Buckets", query: "Query",
  import: "Import and export", sync: "Sync", settings: "Settings",
};

let current = null; // {controller}

async function route() {
  const { view, rest, params } = parseRoute();
  if (current) current.controller.abort();
  const controller = new AbortController();
  current = { controller };
  for (const link of document.querySelectorAll(".nav a")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${TITLES[view]} · ActivityWatch`;
  const main = document.getElementById("main");
  const container = h("div", { class: `view view-${view}` });
  replace(main, container);
  container.append(loading());
  try {
    const module = await VIEWS[view]();
    if (controller.signal.aborted) return;
    container.replaceChildren();
    await module.mount(container, { rest, params, signal: controller.signal });
  } catch (err) {
    if (controller.signal.aborted || err.name === "AbortError") return;
    console.warn("view failed", err);
    container.replaceChildren(errorBox(err, () => route()));
  }
}

async function boot() {
  window.addEventListener("hashchange", route);
  window.addEventListener("aw-navigate", route);
  // Ask for what every view needs before its module has even loaded.
  const settings = loadSettings();
  sharedBuckets();
  sharedDeviceList().catch(() => { /* the view shows the error */ });
  route();
  settings.then((s) => applyTheme(s.theme)).catch(() => { /* the view shows the error */ });
  try {
    const info = await sharedInfo();
    document.getElementById("server-info").textContent =
      `${info.hostname} · server ${info.version}${info.testing ? " (testing)" : ""}`;
  } catch (err) {
    document.getElementById("server-info").textContent = `server unreachable: ${err.message}`;
  }
}

boot();
