// Query explorer: write query2, pick time periods, run it, see the result as a table of
// events (per period) or as JSON. Ctrl+Enter runs. The last program is kept locally.

import { api, sharedBuckets } from "../api.js";
import { h, replace, fmtDateTime, fmtDuration, errorBox, loading } from "../dom.js";
import { loadSettings } from "../settings.js";
import { desktopHosts } from "../queries.js";
import { logicalDate, dayBounds, addDays, isoDate, parseDate } from "../time.js";

const STORAGE_KEY = "aw-query-text";
const MAX_JSON_CHARS = 200_000;
const MAX_ROWS = 500;

function sampleQuery(host) {
  return [
    `events = flood(query_bucket(find_bucket("aw-watcher-window_${host}")));`,
    `not_afk = flood(query_bucket(find_bucket("aw-watcher-afk_${host}")));`,
    'not_afk = filter_keyvals(not_afk, "status", ["not-afk"]);',
    "events = filter_period_intersect(events, not_afk);",
    'events = merge_events_by_keys(events, ["app"]);',
    "RETURN = sort_by_duration(events);",
  ].join("\n");
}

/** Split the editor text into statements the way ActivityWatch clients send them. */
function toLines(text) {
  return text.split("\n").map((l) => l.trimEnd()).filter((l) => l.trim() && !l.trim().startsWith("#"));
}

function isEventList(value) {
  return Array.isArray(value) && value.length > 0 && value.every((e) => e && typeof e === "object" && "timestamp" in e && "duration" in e);
}

function resultTable(events) {
  const keys = [...new Set(events.slice(0, MAX_ROWS).flatMap((e) => Object.keys(e.data || {})))].slice(0, 8);
  return h("div", { class: "table-wrap" }, h("table", null,
    h("caption", null, events.length > MAX_ROWS ? `First ${MAX_ROWS} of ${events.length} events` : `${events.length} events`),
    h("thead", null, h("tr", null, h("th", { scope: "col" }, "Time"), h("th", { scope: "col", class: "num" }, "Duration"),
      keys.map((k) => h("th", { scope: "col" }, k)))),
    h("tbody", null, events.slice(0, MAX_ROWS).map((e) => h("tr", null,
      h("td", { class: "mono" }, fmtDateTime(e.timestamp)), h("td", { class: "num" }, fmtDuration(e.duration)),
      keys.map((k) => {
        const v = (e.data || {})[k];
        return h("td", null, v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v));
      }))))));
}

function jsonBlock(value) {
  let text = JSON.stringify(value, null, 2);
  if (text.length > MAX_JSON_CHARS) text = `${text.slice(0, MAX_JSON_CHARS)}\n… (${text.length - MAX_JSON_CHARS} more characters)`;
  return h("pre", { class: "json", tabindex: "0" }, text);
}

export async function mount(root, { params, signal }) {
  const [settings, buckets] = await Promise.all([loadSettings(), sharedBuckets().catch(() => ({}))]);
  const hosts = desktopHosts(buckets);
  let saved = null;
  try { saved = localStorage.getItem(STORAGE_KEY); } catch { /* storage disabled */ }
  const today = logicalDate(new Date(), settings.startOfDay);
  const editor = h("textarea", { id: "query-text", rows: 12, spellcheck: "false", "aria-describedby": "query-help" });
  editor.value = params.get("q") || saved || sampleQuery(hosts[0] || "HOSTNAME");
  const preset = h("select", { id: "query-period" },
    h("option", { value: "today" }, "Today"), h("option", { value: "yesterday" }, "Yesterday"),
    h("option", { value: "7days" }, "Last 7 days, one period"), h("option", { value: "7split" }, "Last 7 days, one period per day"),
    h("option", { value: "custom" }, "Custom"));
  const from = h("input", { type: "date", id: "query-from", value: isoDate(addDays(today, -6)) });
  const to = h("input", { type: "date", id: "query-to", value: isoDate(today) });
  const view = h("select", { id: "query-view" }, h("option", { value: "table" }, "Table"), h("option", { value: "json" }, "JSON"));
  const runButton = h("button", { type: "submit", class: "primary" }, "Run");
  const output = h("section", { class: "card full", "aria-label": "Result", "aria-live": "polite" },
    h("p", { class: "muted" }, "Run the query to see its result."));
  const customFields = h("span", { class: "toolbar", style: { margin: 0 } },
    h("label", { class: "field" }, "From", from), h("label", { class: "field" }, "To", to));
  // Opened from another view ("Open as query"): its program over its dates, run at once.
  const fromParam = parseDate(params.get("from"));
  if (fromParam) {
    preset.value = "custom";
    from.value = isoDate(fromParam);
    to.value = isoDate(parseDate(params.get("to")) || fromParam);
  }
  const syncCustom = () => { customFields.hidden = preset.value !== "custom"; };
  preset.addEventListener("change", syncCustom);
  syncCustom();

  const periods = () => {
    const day = (d) => dayBounds(d, settings.startOfDay);
    switch (preset.value) {
      case "yesterday": return [day(addDays(today, -1))];
      case "7days": return [[day(addDays(today, -6))[0], day(today)[1]]];
      case "7split": return Array.from({ length: 7 }, (_, i) => day(addDays(today, i - 6)));
      case "custom": {
        const a = parseDate(from.value) || today;
        const b = parseDate(to.value) || a;
        return [[day(a)[0], day(b < a ? a : b)[1]]];
      }
      default: return [day(today)];
    }
  };

  let lastResult = null;
  let lastPeriods = [];
  const show = () => {
    if (!lastResult) return;
    const blocks = lastResult.map((value, i) => {
      const [a, b] = lastPeriods[i];
      const heading = h("h3", null, `${fmtDateTime(a)} – ${fmtDateTime(b)}`);
      return [heading, view.value === "table" && isEventList(value) ? resultTable(value) : jsonBlock(value)];
    });
    replace(output, h("h2", null, "Result"), blocks);
  };
  view.addEventListener("change", show);

  let controller = null;
  const run = async () => {
    if (controller) controller.abort();
    controller = new AbortController();
    const mine = controller;
    signal.addEventListener("abort", () => mine.abort(), { once: true });
    try { localStorage.setItem(STORAGE_KEY, editor.value); } catch { /* storage disabled */ }
    lastPeriods = periods();
    runButton.disabled = true;
    const started = performance.now();
    replace(output, loading("Running query…"));
    try {
      lastResult = await api.query(toLines(editor.value), lastPeriods, { signal: mine.signal });
      show();
      output.append(h("p", { class: "muted" }, `Took ${Math.round(performance.now() - started)} ms.`));
    } catch (err) {
      if (mine.signal.aborted) return;
      replace(output, h("h2", null, "Result"), errorBox(err));
    } finally {
      if (controller === mine) runButton.disabled = false;
    }
  };

  const form = h("form", { class: "card full", "aria-label": "Query" },
    h("label", { for: "query-text" }, h("h2", null, "Query")),
    editor,
    h("p", { id: "query-help", class: "hint" },
      "One statement per line, ending in ';'. Assign the answer to RETURN. Ctrl+Enter runs. ",
      hosts.length ? `Hosts with window data: ${hosts.join(", ")}.` : ""),
    h("div", { class: "toolbar" },
      h("label", { class: "field" }, "Time period", preset), customFields,
      h("label", { class: "field" }, "Show as", view), runButton,
      h("button", { type: "button", onclick: () => { editor.value = sampleQuery(hosts[0] || "HOSTNAME"); } }, "Reset to example")));
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
  editor.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); }
  });

  const help = h("details", { class: "card full" }, h("summary", null, "Query functions"));
  help.addEventListener("toggle", async () => {
    if (!help.open || help.dataset.loaded) return;
    help.dataset.loaded = "1";
    help.append(loading());
    try {
      const functions = await api.queryFunctions({ signal });
      help.lastChild.replaceWith(h("dl", null, functions.flatMap((f) => [
        h("dt", { class: "mono" }, f.signature || f.name), h("dd", null, f.description || "")])));
    } catch (err) {
      help.lastChild.replaceWith(h("p", { class: "muted" }, `This server does not list its functions (${err.message}).`));
    }
  });
  root.append(h("h1", null, "Query explorer"), h("div", { class: "grid" }, form, output, help));
  if (params.get("run") === "1" && params.get("q")) {
    await run();
    root.dataset.state = "complete";
  }
}
