// Sync: the devices paired with this one (state, last sync, last error, bytes), "Sync
// now" per device or for all, pairing in both directions (show a code here, or enter
// another device's code), and unpairing. Talks only to /api/0/sync/*; a server without
// those routes (404: ActivityWatch's own servers) or without the sync libraries (503)
// gets a plain sentence instead of the page.

import { api } from "../api.js";
import { h, replace, fmtBytes, fmtDateTime, fmtRelative, errorBox, loading, empty, confirmDialog } from "../dom.js";

const POLL_MS = 5000;
const FAST_POLL_MS = 1000; // while a sync runs or a pairing code is shown
const STATE_TEXT = { active: "Paired", removed: "Removed by the other device", revoked: "Unpaired" };

const shortId = (id) => String(id).slice(0, 8);

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
      "(or a VPN), encrypted with a key agreed when pairing. Each device keeps writing its own buckets and " +
      "receives read-only copies of the others'."),
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
  root.dataset.state = "complete";
  page.loop();
}

function syncPage(root, status, signal) {
  const say = (...content) => replace(status, ...content);
  const rows = new Map(); // device_id → {tr, cells, peer}
  const watching = new Map(); // device_id → last_sync when the user asked for a sync
  let peers = [];
  let pairing = null; // {expires, known: Set, timer} while this device shows a code

  const tbody = h("tbody");
  const syncAll = h("button", { type: "button", class: "primary", id: "sync-all", onclick: () => syncNow(null) }, "Sync all now");
  const listTitle = h("h2", { id: "peers-title", tabindex: "-1" }, "Paired devices");
  const noPeers = empty("No paired devices yet. Pair one below.");
  const table = h("div", { class: "table-wrap" }, h("table", { "aria-labelledby": "peers-title" },
    h("thead", null, h("tr", null,
      h("th", { scope: "col" }, "Device"), h("th", { scope: "col" }, "State"), h("th", { scope: "col" }, "Last sync"),
      h("th", { scope: "col" }, "Last error"), h("th", { scope: "col", class: "num" }, "Bytes (last sync)"),
      h("th", { scope: "col" }, "Actions"))),
    tbody));
  const listCard = h("section", { class: "card full", "aria-labelledby": "peers-title" },
    h("div", { class: "card-head" }, listTitle, syncAll), noPeers, table);

  // -- the peers table: rows updated in place, so focus stays on the button in use ------
  function row(peer) {
    const cells = {
      name: h("th", { scope: "row" }), state: h("td"), last: h("td"), error: h("td", { class: "sync-error" }),
      bytes: h("td", { class: "num" }),
    };
    const syncButton = h("button", { type: "button", class: "sync-one", onclick: () => syncNow(rows.get(peer.device_id).peer) });
    const unpairButton = h("button", { type: "button", class: "danger", onclick: () => unpair(rows.get(peer.device_id).peer) }, "Unpair");
    const tr = h("tr", { "data-device": peer.device_id }, cells.name, cells.state, cells.last, cells.error, cells.bytes,
      h("td", null, h("div", { class: "actions" }, syncButton, unpairButton)));
    return { tr, cells, syncButton, unpairButton, peer };
  }

  function fill(entry, peer) {
    entry.peer = peer;
    const { cells } = entry;
    replace(cells.name, h("span", { class: "peer-name" }, peer.name || "(unnamed)"), h("br"),
      h("span", { class: "mono muted", title: peer.device_id }, shortId(peer.device_id)));
    const state = peer.running ? "Syncing…" : STATE_TEXT[peer.state] || peer.state;
    replace(cells.state, h("span", { class: `badge state-${peer.running ? "running" : peer.state}` }, state),
      peer.skew_warning ? h("div", { class: "muted" }, `Clocks differ by ${Math.round(Math.abs(peer.skew))} s`) : null);
    replace(cells.last, peer.last_sync
      ? h("time", { datetime: new Date(peer.last_sync * 1000).toISOString(), title: fmtDateTime(peer.last_sync * 1000) },
        fmtRelative(peer.last_sync * 1000))
      : h("span", { class: "muted" }, "never"));
    replace(cells.error, peer.last_error || h("span", { class: "muted" }, "—"));
    cells.bytes.textContent = peer.last_sync ? fmtBytes(peer.last_bytes) : "—";
    entry.syncButton.textContent = peer.running ? "Syncing…" : "Sync now";
    entry.syncButton.disabled = peer.running || peer.state !== "active";
    entry.syncButton.setAttribute("aria-label", `Sync now with ${peer.name}`);
    entry.unpairButton.setAttribute("aria-label", `Unpair ${peer.name}`);
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
    checkPaired();
  }

  function reportFinished() {
    for (const [id, before] of watching) {
      const peer = peers.find((p) => p.device_id === id);
      if (!peer) { watching.delete(id); continue; }
      if (peer.running) continue;
      watching.delete(id);
      if (peer.last_sync && peer.last_sync !== before) {
        say(h("span", { class: "ok" }, `Synced with ${peer.name}: ${fmtBytes(peer.last_bytes)} exchanged.`));
      } else {
        say(errorBox(new Error(`Sync with ${peer.name} failed: ${peer.last_error || "no answer"}`)));
      }
    }
  }

  async function refresh() {
    try {
      update(await api.syncPeers({ signal }));
    } catch (err) {
      if (!signal.aborted) say(err.status === 404 || err.status === 503 ? unavailable(err) : errorBox(err));
    }
  }

  async function loop() {
    while (!signal.aborted) {
      const fast = pairing || watching.size || peers.some((p) => p.running);
      await sleep(fast ? FAST_POLL_MS : POLL_MS, signal);
      if (!signal.aborted && !document.hidden) await refresh();
    }
    if (pairing) clearInterval(pairing.timer);
  }

  // -- sync now ---------------------------------------------------------------------------
  async function syncNow(peer) {
    try {
      const answer = await api.syncNow(peer ? peer.device_id : null, { signal });
      const started = answer && answer.started ? answer.started : [];
      for (const id of started) {
        const known = peers.find((p) => p.device_id === id);
        watching.set(id, known ? known.last_sync : null);
      }
      if (!started.length) say("No paired device to sync with.");
      else say(loading(peer ? `Syncing with ${peer.name}…` : `Syncing with ${started.length} device${started.length > 1 ? "s" : ""}…`));
      await refresh();
    } catch (err) {
      if (signal.aborted) return;
      if (err.status === 409) {
        say(h("p", { class: "notice" }, peer ? `A sync with ${peer.name} is already running; ` +
          "its result appears here when it ends." : "A sync is already running; try again when it has ended."));
        if (peer && !watching.has(peer.device_id)) watching.set(peer.device_id, peer.last_sync);
      } else {
        say(err.status === 404 && !peer ? h("p", { class: "notice" }, "No paired device to sync with.") : errorBox(err));
      }
    }
  }

  // -- unpair -------------------------------------------------------------------------------
  async function unpair(peer) {
    const purge = h("input", { type: "checkbox", id: "unpair-purge" });
    const ok = await confirmDialog(`Unpair ${peer.name}?`,
      `${peer.name} (${shortId(peer.device_id)}) will no longer sync with this device, and it is told so when it ` +
      "can be reached. The data already copied here stays unless you tick the box.", "Unpair",
      h("label", { class: "field inline" }, purge, `Also delete the data mirrored from ${peer.name} on this device`));
    if (!ok) return;
    try {
      const answer = await api.syncUnpair(peer.device_id, purge.checked, { signal });
      const parts = [`Unpaired ${peer.name}.`];
      if (purge.checked) parts.push("Its mirrored data was deleted from this device.");
      if (answer && answer.told_peer === false) parts.push(`${peer.name} could not be reached; it learns of it at its next sync.`);
      say(h("p", { class: "ok" }, parts.join(" ")));
      await refresh();
      listTitle.focus(); // the row and its buttons are gone
    } catch (err) {
      if (!signal.aborted) say(errorBox(err));
    }
  }

  // -- pairing: show a code here ----------------------------------------------------------------
  const codeArea = h("div", { class: "pair-output" });
  const showButton = h("button", { type: "button", class: "primary", id: "pair-show", onclick: () => showCode() }, "Show a pairing code");

  function stopPairing() {
    if (pairing) clearInterval(pairing.timer);
    pairing = null;
  }

  async function showCode() {
    stopPairing();
    showButton.disabled = true;
    replace(codeArea, loading("Opening a pairing window…"));
    let window_;
    try {
      window_ = await api.syncPairing({ signal });
    } catch (err) {
      showButton.disabled = false;
      if (!signal.aborted) replace(codeArea, err.status === 404 || err.status === 503 ? unavailable(err) : errorBox(err));
      return;
    }
    showButton.disabled = false;
    showButton.textContent = "Show a new code";
    const countdown = h("span", { class: "countdown" });
    const code = h("output", { class: "pair-code", id: "pair-code", "aria-label": `Pairing code ${window_.code}` }, window_.code);
    replace(codeArea,
      h("p", null, "On the other device, choose “Enter another device's code” and type:"),
      code,
      h("p", null, "Address of this device: ", (window_.addresses || []).length
        ? h("span", { class: "addresses" }, window_.addresses.map((a, i) => [i ? ", " : "", h("code", { class: "mono" }, a)]))
        : h("span", { class: "muted" }, "none found (is the network up?)")),
      h("p", { class: "muted" }, countdown, window_.advertised ? " · devices on this network can find it with “Look for devices”" : ""));
    const tick = () => {
      const left = Math.max(0, Math.round(window_.expires_at - Date.now() / 1000));
      countdown.textContent = `Expires in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
      if (left <= 0 && pairing) {
        stopPairing();
        replace(codeArea, h("p", { class: "notice" }, "The pairing code expired without a device joining. " +
          "Show a new code to try again."));
        say("The pairing code expired.");
      }
    };
    pairing = { known: new Map(peers.map((p) => [p.device_id, p.changed])), timer: setInterval(tick, 1000) };
    tick();
    say(`Pairing code ${window_.code} shown; it is valid for ${Math.round((window_.expires_at - Date.now() / 1000) / 60)} minutes.`);
  }

  function checkPaired() {
    if (!pairing) return;
    // A device paired before and paired again counts too: its row changed.
    const joined = peers.find((p) => p.state === "active" && pairing.known.get(p.device_id) !== p.changed);
    if (!joined) return;
    stopPairing();
    showButton.textContent = "Show a pairing code";
    const title = h("h3", { tabindex: "-1" }, `Paired with ${joined.name}`);
    replace(codeArea, h("div", { class: "paired", "data-paired": joined.device_id }, title,
      h("p", null, "Confirmation code: ", h("strong", { class: "sas mono" }, joined.sas)),
      h("p", { class: "hint" }, `${joined.name} shows a confirmation code too. If the two differ, someone else ` +
        "answered the pairing: unpair it at once.")));
    say(`Paired with ${joined.name}. Confirmation code ${joined.sas}.`);
    title.focus();
  }

  // -- pairing: enter another device's code --------------------------------------------------------
  const address = h("input", { id: "pair-address", name: "address", required: true, autocomplete: "off",
    spellcheck: "false", placeholder: "192.168.1.20:5601", "aria-describedby": "pair-address-hint" });
  const code = h("input", { id: "pair-code-input", name: "code", required: true, autocomplete: "off", spellcheck: "false",
    placeholder: "K7QM-2XPA", autocapitalize: "characters" });
  const found = h("div", { class: "discovered", "aria-live": "polite" });
  const pairButton = h("button", { type: "submit", class: "primary" }, "Pair");
  const pairResult = h("div", { class: "pair-output", "aria-live": "polite" });

  async function discover(button) {
    button.disabled = true;
    replace(found, loading("Looking for devices showing a pairing code…"));
    try {
      const devices = await api.syncDiscover({ signal });
      if (!devices.length) {
        replace(found, h("p", { class: "muted" }, "No device with an open pairing code was found. Show a code on the " +
          "other device, or type its address."));
      } else {
        replace(found, h("ul", { class: "device-list", "aria-label": "Devices found" }, devices.map((d) => h("li", null,
          h("span", null, d.name, " ", h("span", { class: "mono muted" }, d.address)),
          h("button", { type: "button", "aria-label": `Use ${d.name} at ${d.address}`, onclick: () => {
            address.value = d.address;
            code.focus();
          } }, "Use")))));
      }
    } catch (err) {
      if (!signal.aborted) replace(found, err.status === 503 ? h("p", { class: "muted" }, err.message) : errorBox(err));
    } finally {
      button.disabled = false;
    }
  }

  async function pair(ev) {
    ev.preventDefault();
    const where = address.value.trim();
    const what = code.value.trim();
    if (!where || !what) { (where ? code : address).focus(); return; }
    pairButton.disabled = true;
    replace(pairResult, loading(`Pairing with ${where}…`));
    try {
      const answer = await api.syncPair(where, what, { signal });
      const peer = answer.peer;
      const title = h("h3", { tabindex: "-1" }, `Paired with ${peer.name}`);
      replace(pairResult, h("div", { class: "paired", "data-paired": peer.device_id }, title,
        h("p", null, "Confirmation code: ", h("strong", { class: "sas mono" }, peer.sas)),
        h("p", { class: "hint" }, `Check that ${peer.name} shows the same confirmation code. If it does not, ` +
          "someone else answered the pairing: unpair it at once.")));
      code.value = "";
      title.focus();
      say(`Paired with ${peer.name}.`);
      await refresh();
    } catch (err) {
      if (signal.aborted) return;
      const hints = {
        401: "The code was wrong. Each wrong try uses up one of three; check it and try again.",
        410: "That device shows no pairing code now (expired, already used or out of tries). Show a new one there.",
        502: "That device could not be reached. Check the address, and that both devices are on the same network.",
      };
      replace(pairResult, errorBox(new Error(hints[err.status] ? `${hints[err.status]} (${err.message})` : err.message)));
    } finally {
      pairButton.disabled = false;
    }
  }

  const discoverButton = h("button", { type: "button", onclick: (e) => discover(e.currentTarget) }, "Look for devices");
  const pairCard = h("section", { class: "card full", "aria-labelledby": "pair-title" },
    h("h2", { id: "pair-title" }, "Pair a new device"),
    h("p", { class: "hint" }, "Both devices must be on the same network. Show a code on one of them and enter it on the other; " +
      "a code is valid for five minutes."),
    h("div", { class: "pair-grid" },
      h("section", { "aria-labelledby": "pair-show-title" },
        h("h3", { id: "pair-show-title" }, "Show a code on this device"), showButton, codeArea),
      h("form", { "aria-labelledby": "pair-enter-title", onsubmit: pair, novalidate: true },
        h("h3", { id: "pair-enter-title" }, "Enter another device's code"),
        h("div", { class: "field" }, h("label", { for: "pair-address" }, "Address of the other device"), address,
          h("span", { id: "pair-address-hint", class: "muted" }, "host:port, as shown next to its code")),
        h("div", { class: "actions" }, discoverButton), found,
        h("div", { class: "field" }, h("label", { for: "pair-code-input" }, "Pairing code"), code),
        h("div", { class: "actions" }, pairButton), pairResult)));

  root.append(h("div", { class: "grid" }, listCard, pairCard));
  return { update, loop };
}
