// Import and export: upload an ActivityWatch JSON export or database (aw-server's
// peewee-sqlite.v2.db, aw-server-rust's sqlite.db) and follow its import in the
// background (POST /api/0/import/jobs, then the job is polled), import an ActivityWatch
// database found on this computer in place, and export everything or one bucket as JSON
// or, when the server offers it, CSV.

import { api, upload, sharedBuckets } from "../api.js";
import { h, replace, fmtBytes, fmtNumber, fmtDateTime, errorBox, loading, empty } from "../dom.js";

const POLL_MS = 400;

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

const NO_JOBS = "This server cannot import files in the background (it answered 404 for /api/0/import/jobs), " +
  "so it is another ActivityWatch-compatible server. Import JSON exports on the Buckets page instead.";

export async function mount(root, { signal }) {
  const exportCard = h("section", { class: "card full", "aria-labelledby": "export-title" },
    h("h2", { id: "export-title" }, "Export"), loading("Loading buckets…"));
  // New buckets appear in the export choices as soon as an import ends.
  const importCard = importSection(signal, () => fillExport(exportCard, signal));
  const foundCard = h("section", { class: "card", "aria-labelledby": "found-title", hidden: true });
  root.append(h("h1", null, "Import and export"), h("div", { class: "grid" }, importCard.card, foundCard, exportCard));

  await Promise.all([
    importCard.resume(),
    fillFound(foundCard, importCard, signal),
    fillExport(exportCard, signal),
  ]);
  root.dataset.state = "complete";
}

// -- importing ---------------------------------------------------------------------------------
function importSection(signal, onImported) {
  let chosen = null;
  let busy = false;
  const input = h("input", { type: "file", id: "import-job-file", "aria-describedby": "import-kinds" });
  const chosenText = h("p", { class: "muted chosen", "aria-live": "polite" }, "No file chosen.");
  const submit = h("button", { type: "submit", class: "primary", disabled: true, id: "import-start" }, "Import");
  const zone = h("div", { class: "dropzone" },
    h("label", { for: "import-job-file" }, h("strong", null, "Drop a file here"), " or choose one:"), input, chosenText);
  const phase = h("p", { id: "import-phase", class: "phase", "aria-live": "polite" });
  const bar = h("progress", { id: "import-progress", max: 100, "aria-labelledby": "import-phase" });
  const detail = h("p", { class: "muted detail" });
  const progress = h("div", { class: "import-progress", hidden: true }, phase, bar, detail);
  const result = h("div", { class: "import-result" });

  const choose = (file) => {
    chosen = file || null;
    chosenText.textContent = chosen ? `${chosen.name} · ${fmtBytes(chosen.size)}` : "No file chosen.";
    submit.disabled = busy || !chosen;
  };
  input.addEventListener("change", () => choose(input.files[0]));
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("dragging"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("dragging");
    if (!e.dataTransfer || !e.dataTransfer.files.length) return;
    try { input.files = e.dataTransfer.files; } catch { /* older browsers: the note below still names it */ }
    choose(e.dataTransfer.files[0]);
  });

  const setBusy = (value) => {
    busy = value;
    submit.disabled = busy || !chosen;
    submit.textContent = busy ? "Importing…" : "Import";
  };
  const showProgress = (label, done, total, text) => {
    progress.hidden = false;
    if (phase.textContent !== label) phase.textContent = label; // announce phase changes only
    if (total) { bar.max = total; bar.value = Math.min(done, total); } else { bar.removeAttribute("value"); }
    detail.textContent = text || "";
  };

  async function follow(job) {
    setBusy(true);
    replace(result);
    try {
      while (job.state === "running") {
        if (job.phase === "reading") {
          showProgress(`Reading ${job.filename}…`, job.done, job.total,
            job.total ? `${Math.floor((100 * job.done) / job.total)}%` : "");
        } else if (job.phase === "writing") {
          showProgress("Adding the events to the database…", job.done, job.total,
            `${fmtNumber(job.done)} of ${fmtNumber(job.total || 0)} events`);
        } else {
          showProgress(`Starting the import of ${job.filename}…`, 0, 0, "waits for any other import to end");
        }
        await sleep(POLL_MS, signal);
        if (signal.aborted) return;
        job = await api.importJob(job.id, { signal });
      }
      progress.hidden = true;
      showResult(job);
    } catch (err) {
      if (signal.aborted) return;
      progress.hidden = true;
      replace(result, errorBox(err));
    } finally {
      setBusy(false);
    }
  }

  function showResult(job) {
    if (job.state === "failed") {
      replace(result, h("div", { class: "error", role: "alert", "data-job": job.id },
        h("strong", null, `Import of ${job.filename} failed: `), job.error,
        h("p", null, "Nothing of this file was added.")));
      return;
    }
    const r = job.result;
    const buckets = Object.entries(r.buckets || {});
    const created = buckets.filter(([, b]) => b.created).length;
    const title = h("h3", { tabindex: "-1" }, `Imported ${job.filename}`);
    const notes = Object.entries(r.notes || {}).filter(([, n]) => n);
    replace(result, h("div", { class: "notice", "data-job": job.id }, title,
      h("p", { class: "summary" }, `${fmtNumber(r.inserted)} events added, ${fmtNumber(r.skipped)} already present ` +
        `(skipped), in ${buckets.length} bucket${buckets.length === 1 ? "" : "s"} (${created} new).`,
        r.resumed ? " An interrupted import of this file was continued." : ""),
      buckets.length ? h("div", { class: "table-wrap" }, h("table", null,
        h("caption", { class: "sr-only" }, "Per bucket"),
        h("thead", null, h("tr", null, h("th", { scope: "col" }, "Bucket"), h("th", { scope: "col" }, "New"),
          h("th", { scope: "col", class: "num" }, "Added"), h("th", { scope: "col", class: "num" }, "Already present"))),
        h("tbody", null, buckets.map(([id, b]) => h("tr", { "data-bucket": id },
          h("th", { scope: "row", class: "mono" }, id), h("td", null, b.created ? "yes" : "no"),
          h("td", { class: "num" }, fmtNumber(b.inserted)), h("td", { class: "num" }, fmtNumber(b.skipped))))))) : null,
      r.settings_added.length ? h("p", null, `Settings added: ${r.settings_added.join(", ")}.`) : null,
      r.settings_kept.length ? h("p", null, `Settings this server already had, kept: ${r.settings_kept.join(", ")}.`) : null,
      notes.length ? h("p", null, "Odd values repaired or skipped: ",
        notes.map(([k, n]) => `${k.replace(/_/g, " ")}: ${fmtNumber(n)}`).join("; "), ".") : null,
      h("p", null, h("a", { href: "#/buckets" }, "See the buckets"))));
    title.focus();
    onImported();
  }

  async function start(ev) {
    ev.preventDefault();
    if (!chosen || busy) return;
    const file = chosen;
    setBusy(true);
    replace(result);
    showProgress(`Uploading ${file.name}…`, 0, file.size, `0 of ${fmtBytes(file.size)}`);
    let job;
    try {
      job = await upload("/import/jobs", file, { onProgress: (loaded, total) =>
        showProgress(`Uploading ${file.name}…`, loaded, total, `${fmtBytes(loaded)} of ${fmtBytes(total)}`) });
    } catch (err) {
      setBusy(false);
      progress.hidden = true;
      replace(result, err.status === 404 ? h("p", { class: "notice" }, NO_JOBS) : errorBox(err));
      return;
    }
    await follow(job);
  }

  async function resume() {
    // A job still running from an earlier visit: show its progress again.
    try {
      const jobs = await api.importJobs({ signal });
      const running = jobs.filter((j) => j.state === "running").pop();
      if (running) await follow(running);
    } catch (err) {
      if (!signal.aborted && err.status === 404) replace(result, h("p", { class: "notice" }, NO_JOBS));
    }
  }

  const card = h("section", { class: "card wide", "aria-labelledby": "import-title" },
    h("h2", { id: "import-title" }, "Import a file"),
    h("p", { class: "hint", id: "import-kinds" }, "An ActivityWatch JSON export (all buckets or one), or an ActivityWatch " +
      "database: aw-server's peewee-sqlite.v2.db or aw-server-rust's sqlite.db. Events this server already has are " +
      "skipped, so importing the same file twice adds nothing. Big files import in the background; you can keep using " +
      "the dashboard meanwhile."),
    h("form", { onsubmit: start, "aria-label": "Import a file" }, zone, h("div", { class: "actions" }, submit)),
    progress, result);
  return { card, follow, resume };
}

async function fillFound(card, importer, signal) {
  let found;
  try {
    found = await api.foundDatabases({ signal });
  } catch {
    return; // other servers have no such endpoint: nothing to offer
  }
  if (!found.length) return;
  card.hidden = false;
  replace(card, h("h2", { id: "found-title" }, "ActivityWatch on this computer"),
    h("p", { class: "hint" }, "These databases of ActivityWatch can be imported directly; they are only read."),
    h("ul", { class: "found-list" }, found.map((db) => h("li", null,
      h("div", null, h("strong", null, db.kind), ` · ${fmtBytes(db.size)} · changed ${fmtDateTime(db.modified)}`),
      h("div", { class: "mono" }, db.path),
      h("button", { type: "button", "aria-label": `Import ${db.path}`, onclick: async (e) => {
        const button = e.currentTarget;
        button.disabled = true;
        try {
          await importer.follow(await api.importFound(db.path, { signal }));
        } catch (err) {
          if (!signal.aborted) button.after(errorBox(err));
        } finally {
          button.disabled = false;
        }
      } }, "Import it")))));
}

// -- exporting ---------------------------------------------------------------------------------
async function csvOffered(signal) {
  // Our server documents `format` on its export routes; ActivityWatch's servers have no
  // OpenAPI document at this path (or no such parameter), and then no CSV link is shown.
  try {
    const spec = await api.openapi({ signal, timeout: 10_000 });
    const op = spec && spec.paths && spec.paths["/api/0/export"] && spec.paths["/api/0/export"].get;
    return !!(op && (op.parameters || []).some((p) => p.name === "format"));
  } catch {
    return false;
  }
}

async function fillExport(card, signal) {
  let buckets;
  let csv;
  try {
    [buckets, csv] = await Promise.all([sharedBuckets({ maxAgeMs: 0 }), csvOffered(signal)]);
  } catch (err) {
    if (!signal.aborted) replace(card, h("h2", { id: "export-title" }, "Export"), errorBox(err, () => fillExport(card, signal)));
    return;
  }
  const ids = Object.keys(buckets).sort();
  const link = (href, label, download, cls) => h("a", { class: `button ${cls}`, href, download }, label);
  const all = h("div", { class: "actions" },
    link(api.exportAllUrl(), "All buckets (JSON)", "aw-buckets-export.json", "export-all-json"),
    csv ? link(api.exportAllUrl("csv"), "All buckets (CSV)", "aw-buckets-export.csv", "export-all-csv") : null);
  let one = empty("No buckets yet.");
  if (ids.length) {
    const select = h("select", { id: "export-bucket" }, ids.map((id) => h("option", { value: id }, id)));
    const json = link("", "JSON", "", "export-one-json");
    const csvLink = csv ? link("", "CSV", "", "export-one-csv") : null;
    const point = () => {
      const id = select.value;
      json.href = api.exportUrl(id);
      json.download = `aw-bucket-export_${id}.json`;
      json.setAttribute("aria-label", `Export ${id} as JSON`);
      if (csvLink) {
        csvLink.href = api.exportUrl(id, "csv");
        csvLink.download = `aw-bucket-export_${id}.csv`;
        csvLink.setAttribute("aria-label", `Export ${id} as CSV`);
      }
    };
    select.addEventListener("change", point);
    point();
    one = h("div", { class: "toolbar" }, h("div", { class: "field" }, h("label", { for: "export-bucket" }, "Bucket"), select),
      json, csvLink);
  }
  replace(card, h("h2", { id: "export-title" }, "Export"),
    h("p", { class: "hint" }, "JSON is ActivityWatch's export format: it imports into ActivityWatch and into this server. " +
      (csv ? "CSV has one row per event (bucket, timestamp, duration in seconds, then one column per data key) for spreadsheets."
        : "This server offers no CSV export; the Buckets page builds a CSV of one bucket in the browser.")),
    h("h3", null, "Everything"), all,
    h("h3", null, "One bucket"), one);
}
