// Sync: the devices paired with this one, by the label the user gives them (state, last
// sync and last attempt, last error, bytes), "Sync now" per device or for all with each
// one's result (failures first), renaming, unpairing (or revoking a lost device), the
// items left out of sync, and pairing (views/sync-pair.js). Talks only to /api/0/sync/*;
// a server without those routes (404: ActivityWatch's own servers) or without the sync
// libraries (503) gets a plain sentence instead of the page.

import { api } from "../api.js";
import { h, replace, fmtBytes, fmtDateTime, fmtRelative, errorBox, loading, empty, confirmDialog } from "../dom.js";
import { pairingCard } from "./sync-pair.js";

const POLL_MS = 5000;
const FAST_POLL_MS = 1000; // while a sync runs or a pairing code is shown
const STATE_TEXT = { active: "Paired", removed: "Removed by the other device", revoked: "Unpaired" };

const shortId = (id) => String(id).slice(0, 8);
const labelOf = (peer) => peer.label || peer.name || shortId(peer.device_id);

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

/** What to say when the sync API is missing or switched off, instead of a bare error. */
export function unavailable(err, retry) {
  if (err.status === 404) {
    return h("div", { class: "notice", role: "status", "data-sync": "missing" },
      h("strong", null, "This server has no device sync. "),
      "It answered 404 for /api/0/sync/peers, so it is another ActivityWatch-compatible server " +
      "(ActivityWatch's own aw-server and aw-server-rust have no sync between devices). " +
      "Sync is available when this dashboard runs on this project's aw-server.");
  }
  if (err.status === 503) {
    return h("div", { class: "notice", role: "status", "data-sync": "unavailable" },
      h("strong", null, "Device sync is not available in this server. "), err.message);
  }
  return errorBox(err, retry);
}

export async function mount(root, { signal }) {
  const status = h("div", { class: "sync-status", role: "status", "aria-live": "polite" });
  root.append(h("h1", null, "Sync"),
    h("p", { class: "hint" }, "Paired devices exchange their ActivityWatch data directly over the local network " +
      "(or a VPN), encrypted with a key agreed when pairing and signed by the device it comes from. Each device " +
      "keeps writing its own buckets and receives read-only copies of the others'."),
    status);
  let peers;
  try {
    peers = await api.syncPeers({ signal });
  } catch (err) {
    if (signal.aborted) return;
    root.append(unavailable(err, () => window.dispatchEvent(new Event("aw-navigate"))));
    return;
  }
  const page = syncPage(root, status, signal);
  page.update(peers);
  await page.refresh(); // the items left out of sync, too
  root.dataset.state = "complete";
  page.loop();
}

/** "Synced with X: 1.4 KiB exchanged." / "Sync with X failed: …", failures first. */
function reportLines(finished) {
  const lines = finished.map(({ peer, ok }) => (ok
    ? h("li", { class: "ok" }, `Synced with ${labelOf(peer)}: ${fmtBytes(peer.last_bytes)} exchanged.`,
      peer.last_error ? h("span", { class: "notice" }, ` ${peer.last_error}`) : null)
    : h("li", { class: "failed" }, `Sync with ${labelOf(peer)} failed: ${peer.last_error || "no answer"}`)));
  return lines.sort((a, b) => (a.className === "failed" ? 0 : 1) - (b.className === "failed" ? 0 : 1));
}

function syncPage(root, status, signal) {
  const say = (...content) => replace(status, ...content);
  const rows = new Map(); // device_id → {tr, cells, peer}
  const watching = new Map(); // device_id → last_attempt when the user asked for a sync
  const finished = []; // [{peer, ok}] of the current "Sync now", reported when all are done
  let peers = [];

  const tbody = h("tbody");
  const syncAll = h("button", { type: "button", class: "primary", id: "sync-all", onclick: () => syncNow(null) }, "Sync all now");
  const listTitle = h("h2", { id: "peers-title", tabindex: "-1" }, "Paired devices");
  const noPeers = empty("No paired devices yet. Pair one below.");
  const table = h("div", { class: "table-wrap" }, h("table", { "aria-labelledby": "peers-title" },
    h("thead", null, h("tr", null,
      h("th", { scope: "col" }, "Device"), h("th", { scope: "col" }, "State"), h("th", { scope: "col" }, "Last sync"),
      h("th", { scope: "col" }, "Last error"), h("th", { scope: "col", class: "num" }, "Bytes (last attempt)"),
      h("th", { scope: "col" }, "Actions"))),
    tbody));
  const listCard = h("section", { class: "card full", "aria-labelledby": "peers-title" },
    h("div", { class: "card-head" }, listTitle, syncAll), noPeers, table);
  const skippedBody = h("tbody");
  const skippedCard = h("section", { class: "card full", "aria-labelledby": "skipped-title", hidden: true },
    h("h2", { id: "skipped-title" }, "Items not synced"),
    h("p", { class: "hint" }, "Each of these was left out of sync on its own (too large, or a value this device " +
      "cannot store); everything else went on."),
    h("div", { class: "table-wrap" }, h("table", { "aria-labelledby": "skipped-title" },
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "Bucket"), h("th", { scope: "col" }, "From"),
        h("th", { scope: "col", class: "num" }, "Size"), h("th", { scope: "col" }, "Why"), h("th", { scope: "col" }, "When"))),
      skippedBody)));

  // -- the peers table: rows updated in place, so focus stays on the button in use ------
  function row(peer) {
    const cells = {
      name: h("th", { scope: "row" }), state: h("td"), last: h("td"), error: h("td", { class: "sync-error" }),
      bytes: h("td", { class: "num" }),
    };
    const current = () => rows.get(peer.device_id).peer;
    const syncButton = h("button", { type: "button", class: "sync-one", onclick: () => syncNow(current()) });
    const renameButton = h("button", { type: "button", class: "rename", onclick: () => rename(current()) }, "Rename");
    const unpairButton = h("button", { type: "button", class: "danger", onclick: () => unpair(current()) }, "Unpair");
    const tr = h("tr", { "data-device": peer.device_id }, cells.name, cells.state, cells.last, cells.error, cells.bytes,
      h("td", null, h("div", { class: "actions" }, syncButton, renameButton, unpairButton)));
    return { tr, cells, syncButton, renameButton, unpairButton, peer };
  }

  function when(seconds) {
    return h("time", { datetime: new Date(seconds * 1000).toISOString(), title: fmtDateTime(seconds * 1000) },
      fmtRelative(seconds * 1000));
  }

  function fill(entry, peer) {
    entry.peer = peer;
    const { cells } = entry;
    const label = labelOf(peer);
    replace(cells.name, h("span", { class: "peer-name" }, label), h("br"),
      h("span", { class: "mono muted", title: peer.device_id }, shortId(peer.device_id)));
    const state = peer.running ? "Syncing…" : STATE_TEXT[peer.state] || peer.state;
    replace(cells.state, h("span", { class: `badge state-${peer.running ? "running" : peer.state}` }, state),
      peer.skew_warning ? h("div", { class: "muted" }, `Clocks differ by ${Math.round(Math.abs(peer.skew))} s`) : null);
    const tried = peer.last_attempt && peer.last_attempt !== peer.last_sync;
    replace(cells.last, peer.last_sync ? when(peer.last_sync) : h("span", { class: "muted" }, "never"),
      tried ? h("div", { class: "muted" }, "tried ", when(peer.last_attempt)) : null);
    replace(cells.error, peer.last_error || h("span", { class: "muted" }, "—"));
    cells.bytes.textContent = peer.last_attempt ? fmtBytes(peer.last_bytes) : "—";
    entry.syncButton.textContent = peer.running ? "Syncing…" : "Sync now";
    entry.syncButton.disabled = peer.running || peer.state !== "active";
    entry.syncButton.setAttribute("aria-label", `Sync now with ${label}`);
    entry.renameButton.setAttribute("aria-label", `Rename ${label}`);
    entry.unpairButton.setAttribute("aria-label", `Unpair ${label}`);
  }

  function update(list) {
    peers = list.filter((p) => p.state !== "revoked");
    const seen = new Set();
    for (const peer of peers) {
      seen.add(peer.device_id);
      let entry = rows.get(peer.device_id);
      if (!entry) {
        entry = row(peer);
        rows.set(peer.device_id, entry);
        tbody.append(entry.tr);
      }
      fill(entry, peer);
    }
    for (const [id, entry] of rows) {
      if (!seen.has(id)) { entry.tr.remove(); rows.delete(id); }
    }
    noPeers.hidden = peers.length > 0;
    table.hidden = peers.length === 0;
    syncAll.disabled = !peers.some((p) => p.state === "active");
    reportFinished();
    pairing.onPeers(peers);
  }

  function showSkipped(items) {
    skippedCard.hidden = !items.length;
    replace(skippedBody, ...items.map((item) => h("tr", null,
      h("td", { class: "mono" }, item.bucket), h("td", null, item.own ? "this device" : shortId(item.device_id)),
      h("td", { class: "num" }, fmtBytes(item.size)), h("td", null, item.reason), h("td", null, when(item.at)))));
  }

  function reportFinished() {
    for (const [id, before] of watching) {
      const peer = peers.find((p) => p.device_id === id);
      if (!peer) { watching.delete(id); continue; }
      if (peer.running) continue;
      watching.delete(id);
      const attempted = peer.last_attempt && peer.last_attempt !== before;
      finished.push({ peer, ok: attempted && peer.last_sync === peer.last_attempt });
    }
    if (!watching.size && finished.length) {
      const failed = finished.filter((f) => !f.ok).length;
      say(h("div", { class: failed ? "notice" : "ok" },
        h("ul", { class: "sync-report", "aria-label": "Sync results" }, reportLines(finished.splice(0)))));
    }
  }

  async function refresh() {
    try {
      update(await api.syncPeers({ signal }));
      showSkipped(await api.syncSkipped({ signal }));
    } catch (err) {
      if (!signal.aborted) say(err.status === 404 || err.status === 503 ? unavailable(err) : errorBox(err));
    }
  }

  async function loop() {
    while (!signal.aborted) {
      const fast = pairing.pairing() || watching.size || peers.some((p) => p.running);
      await sleep(fast ? FAST_POLL_MS : POLL_MS, signal);
      if (!signal.aborted && !document.hidden) await refresh();
    }
    pairing.stop();
  }

  // -- sync now ---------------------------------------------------------------------------
  async function syncNow(peer) {
    try {
      const answer = await api.syncNow(peer ? peer.device_id : null, { signal });
      const started = answer && answer.started ? answer.started : [];
      for (const id of started) {
        const known = peers.find((p) => p.device_id === id);
        watching.set(id, known ? known.last_attempt : null);
      }
      if (!started.length) say("No paired device to sync with.");
      else say(loading(peer ? `Syncing with ${labelOf(peer)}…` : `Syncing with ${started.length} device${started.length > 1 ? "s" : ""}…`));
      await refresh();
    } catch (err) {
      if (signal.aborted) return;
      if (err.status === 409) {
        say(h("p", { class: "notice" }, peer ? `A sync with ${labelOf(peer)} is already running; ` +
          "its result appears here when it ends." : "A sync is already running; try again when it has ended."));
        if (peer && !watching.has(peer.device_id)) watching.set(peer.device_id, peer.last_attempt);
      } else {
        say(err.status === 404 && !peer ? h("p", { class: "notice" }, "No paired device to sync with.") : errorBox(err));
      }
    }
  }

  // -- rename, unpair -------------------------------------------------------------------------
  async function rename(peer) {
    const input = h("input", { id: "peer-label", value: labelOf(peer), maxlength: "100", autocomplete: "off" });
    const ok = await confirmDialog(`Rename ${labelOf(peer)}`,
      "How this device is shown here (in the table, the results and the tray). Leave it empty for its hostname " +
      "and short id.", "Rename", h("div", { class: "field" }, h("label", { for: "peer-label" }, "Name"), input));
    if (!ok) return;
    try {
      await api.syncLabel(peer.device_id, input.value.trim(), { signal });
      await refresh();
      say(h("p", { class: "ok" }, `Renamed to ${labelOf(rows.get(peer.device_id).peer)}.`));
    } catch (err) {
      if (!signal.aborted) say(errorBox(err));
    }
  }

  async function unpair(peer) {
    const label = labelOf(peer);
    const purge = h("input", { type: "checkbox", id: "unpair-purge" });
    const revoke = h("input", { type: "checkbox", id: "unpair-revoke" });
    const ok = await confirmDialog(`Unpair ${label}?`,
      `${label} (${shortId(peer.device_id)}) will no longer sync with this device, and it is told so when it ` +
      "can be reached. The data already copied here stays unless you tick the box.", "Unpair",
      h("div", null,
        h("label", { class: "field inline" }, purge, `Also delete the data mirrored from ${label} on this device`),
        h("label", { class: "field inline" }, revoke, `${label} was lost or stolen: revoke it on every device, so ` +
          "none accepts its data any more (what it already sent stays, marked)")));
    if (!ok) return;
    try {
      const answer = await api.syncUnpair(peer.device_id, purge.checked, revoke.checked, { signal });
      const parts = [`Unpaired ${label}.`];
      if (revoke.checked) parts.push("Its revocation goes to every device with their next sync.");
      if (purge.checked) parts.push("Its mirrored data was deleted from this device.");
      if (answer && answer.told_peer === false && !revoke.checked) {
        parts.push(`${label} could not be reached; it learns of it at its next sync.`);
      }
      say(h("p", { class: "ok" }, parts.join(" ")));
      await refresh();
      listTitle.focus(); // the row and its buttons are gone
    } catch (err) {
      if (!signal.aborted) say(errorBox(err));
    }
  }

  const pairing = pairingCard({ say, refresh, peersNow: () => peers, unavailable, signal });
  root.append(h("div", { class: "grid" }, listCard, skippedCard, pairing.card));
  return { update, refresh, loop };
}
