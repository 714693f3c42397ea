// Buckets: every bucket with its event count and last activity; export (JSON from the
// server, CSV built here), delete with confirmation, import. #/buckets/<id> pages
// through one bucket's events, newest first.

import { api, sharedBuckets } from "../api.js";
import { h, replace, fmtDateTime, fmtDuration, fmtNumber, errorBox, loading, empty, downloadText, confirmDialog } from "../dom.js";
import { routeHash } from "../router.js";

const PAGE_SIZE = 50;

export async function mount(root, ctx) {
  if (ctx.rest.length) return mountEvents(root, ctx.rest[0], ctx);
  return mountList(root, ctx);
}

function csvCell(value) {
  const text = value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** timestamp, duration and one column per data key seen in any event. */
export function eventsToCsv(events) {
  const keys = [...new Set(events.flatMap((e) => Object.keys(e.data || {})))].sort();
  const rows = [["timestamp", "duration", ...keys].join(",")];
  for (const e of events) rows.push([e.timestamp, e.duration, ...keys.map((k) => (e.data || {})[k])].map(csvCell).join(","));
  return `${rows.join("\r\n")}\r\n`;
}

async function exportCsv(id, button) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = "Preparing…";
  try {
    const events = await api.events(id, { limit: -1 });
    downloadText(`aw-bucket-export_${id}.csv`, eventsToCsv(events), "text/csv");
  } catch (err) {
    button.after(errorBox(err));
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

async function mountList(root, { signal }) {
  const status = h("div", { role: "status", "aria-live": "polite" });
  const fileInput = h("input", { type: "file", accept: ".json,application/json", id: "import-file" });
  const importButton = h("button", { type: "submit", class: "primary" }, "Import");
  const importForm = h("form", { class: "toolbar", "aria-label": "Import buckets" },
    h("label", { class: "field" }, "Import an ActivityWatch export (JSON)", fileInput), importButton,
    h("a", { class: "button", href: "/api/0/export", download: "aw-buckets-export.json" }, "Export all buckets (JSON)"));
  const listCard = h("section", { class: "card full", "aria-label": "Buckets" }, loading("Loading buckets…"));
  root.append(h("h1", null, "Buckets"), importForm, status, listCard);

  importForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = fileInput.files[0];
    if (!file) { replace(status, errorBox(new Error("choose an export file first"))); return; }
    importButton.disabled = true;
    replace(status, loading(`Importing ${file.name}…`));
    try {
      const result = await api.importFile(file);
      const parts = Object.entries(result && result.buckets ? result.buckets : {})
        .map(([id, r]) => `${id}: ${r.inserted} inserted, ${r.skipped} already present`);
      replace(status, h("p", { class: "notice" }, `Imported. ${parts.join("; ")}`));
      await fillList(listCard, signal, status);
    } catch (err) {
      replace(status, errorBox(err));
    } finally {
      importButton.disabled = false;
    }
  });
  await fillList(listCard, signal, status);
}

async function fillList(card, signal, status) {
  let buckets;
  try {
    buckets = Object.values(await sharedBuckets({ maxAgeMs: 0 })).sort((a, b) => a.id.localeCompare(b.id));
  } catch (err) {
    if (!signal.aborted) replace(card, errorBox(err, () => fillList(card, signal, status)));
    return;
  }
  if (!buckets.length) { replace(card, empty("No buckets yet.")); return; }
  const rows = buckets.map((b) => {
    const count = h("td", { class: "num" }, "…");
    // Counts load per bucket after the table is shown; servers without the endpoint show "—".
    api.eventCount(b.id, { signal }).then((n) => { count.textContent = fmtNumber(n); }, () => { count.textContent = "—"; });
    const last = b.last_updated || (b.metadata && b.metadata.end);
    const csv = h("button", { type: "button", "aria-label": `Export ${b.id} as CSV`, onclick: (e) => exportCsv(b.id, e.currentTarget) }, "CSV");
    const del = h("button", { type: "button", class: "danger", "aria-label": `Delete ${b.id}`, onclick: async () => {
      const ok = await confirmDialog(`Delete ${b.id}?`,
        `This removes the bucket and all its events from the server. Export it first if you may need it again.`);
      if (!ok) return;
      try {
        await api.deleteBucket(b.id);
        replace(status, h("p", { class: "notice" }, `Deleted ${b.id}.`));
        await fillList(card, signal, status);
      } catch (err) {
        replace(status, errorBox(err));
      }
    } }, "Delete");
    return h("tr", { "data-bucket": b.id },
      h("th", { scope: "row", class: "mono" }, h("a", { href: routeHash("buckets", {}, [b.id]) }, b.id)),
      h("td", null, b.type), h("td", null, b.hostname), h("td", null, b.client), count,
      h("td", null, last ? fmtDateTime(last) : "—"),
      h("td", null, h("div", { class: "actions" },
        h("a", { href: api.exportUrl(b.id), download: `aw-bucket-export_${b.id}.json`, class: "button export-json", "aria-label": `Export ${b.id} as JSON` }, "JSON"),
        csv, del)));
  });
  replace(card, h("div", { class: "table-wrap" }, h("table", null,
    h("caption", null, `${buckets.length} buckets`),
    h("thead", null, h("tr", null, ["Bucket", "Type", "Host", "Client"].map((t) => h("th", { scope: "col" }, t)),
      h("th", { scope: "col", class: "num" }, "Events"), h("th", { scope: "col" }, "Last activity"),
      h("th", { scope: "col" }, "Export / delete"))),
    h("tbody", null, rows))));
}

async function mountEvents(root, id, { params, signal }) {
  const bucket = await api.bucket(id, { signal });
  const tableCard = h("section", { class: "card full", "aria-label": "Events" });
  const pager = h("div", { class: "toolbar", role: "navigation", "aria-label": "Pages" });
  root.append(
    h("p", null, h("a", { href: "#/buckets" }, "← All buckets")),
    h("h1", { class: "bucket-title" }, id),
    h("p", { class: "muted" }, `${bucket.type} · ${bucket.hostname} · ${bucket.client}`,
      bucket.created ? ` · created ${fmtDateTime(bucket.created)}` : ""),
    h("div", { class: "actions" },
      h("a", { class: "button", href: api.exportUrl(id), download: `aw-bucket-export_${id}.json` }, "Export JSON"),
      h("button", { type: "button", onclick: (e) => exportCsv(id, e.currentTarget) }, "Export CSV")),
    tableCard, pager);

  // Cursor paging: the next page holds events that start at or before the oldest shown.
  // Events touching the cursor come back again (clipped), so ids already shown are skipped.
  const cursors = [params.get("before") || null];
  let total = null;
  let page = [];
  let seenOnPage = new Set();
  const renderPager = () => {
    const index = cursors.length - 1;
    const from = index * PAGE_SIZE + 1;
    replace(pager,
      h("button", { type: "button", disabled: index === 0, onclick: () => { cursors.pop(); load(); } }, "← Newer"),
      h("span", { class: "muted" }, page.length ? `Events ${fmtNumber(from)}–${fmtNumber(from + page.length - 1)}` : "",
        total !== null ? ` of ${fmtNumber(total)}` : ""),
      h("button", { type: "button", disabled: page.length < PAGE_SIZE, onclick: () => {
        cursors.push({ end: page[page.length - 1].timestamp, skip: seenOnPage });
        load();
      } }, "Older →"));
  };
  const load = async () => {
    replace(tableCard, loading("Loading events…"));
    const cursor = cursors[cursors.length - 1];
    try {
      const skip = cursor && cursor.skip ? cursor.skip : new Set();
      const events = await api.events(id, { limit: PAGE_SIZE + skip.size, end: cursor ? cursor.end : undefined }, { signal });
      page = events.filter((e) => !skip.has(e.id)).slice(0, PAGE_SIZE);
      seenOnPage = new Set(page.filter((e) => e.timestamp === page[page.length - 1].timestamp).map((e) => e.id));
    } catch (err) {
      if (!signal.aborted) replace(tableCard, errorBox(err, load));
      return;
    }
    renderTable(tableCard, page);
    renderPager();
  };
  api.eventCount(id, { signal }).then((n) => { total = n; renderPager(); }, () => {});
  await load();
}

function renderTable(card, events) {
  if (!events.length) { replace(card, empty("No events.")); return; }
  const keys = [...new Set(events.flatMap((e) => Object.keys(e.data || {})))].slice(0, 6);
  replace(card, h("div", { class: "table-wrap" }, h("table", null,
    h("caption", { class: "sr-only" }, "Events, newest first"),
    h("thead", null, h("tr", null, h("th", { scope: "col" }, "Time"), h("th", { scope: "col", class: "num" }, "Duration"),
      keys.map((k) => h("th", { scope: "col" }, k)))),
    h("tbody", null, events.map((e) => h("tr", null,
      h("td", { class: "mono" }, fmtDateTime(e.timestamp)),
      h("td", { class: "num" }, fmtDuration(e.duration)),
      keys.map((k) => {
        const v = (e.data || {})[k];
        return h("td", null, v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v));
      })))))));
}
