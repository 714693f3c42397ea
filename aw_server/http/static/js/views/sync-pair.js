// The Sync page's pairing card: show a code on this device (choosing which network the
// sync listener answers on: this computer only until the user picks one), or enter
// another device's code. Used by views/sync.js, which owns the peers table.

import { api } from "../api.js";
import { h, replace, errorBox, loading } from "../dom.js";

/**
 * `say(...)` writes the page's status line, `refresh()` reloads the peers, `peersNow()`
 * gives the last list; `unavailable(err)` explains a 404/503. Returns the card, and
 * `onPeers(list)` for the table's poll (it notices the device that joined).
 */
export function pairingCard({ say, refresh, peersNow, unavailable, signal }) {
  let pairing = null; // {known: Map, timer} while this device shows a code

  // -- where the listener answers ---------------------------------------------------------
  const listenSelect = h("select", { id: "pair-listen", "aria-describedby": "pair-listen-hint" });
  const listenField = h("div", { class: "field" },
    h("label", { for: "pair-listen" }, "Let other devices reach this one on"), listenSelect,
    h("span", { id: "pair-listen-hint", class: "muted" },
      "“This computer only” pairs two servers on one machine; pick your network to pair with another device."));

  async function loadChoices() {
    try {
      const state = await api.syncListen({ signal });
      const current = JSON.stringify(state.hosts);
      const choices = state.choices.some((c) => JSON.stringify(c.hosts) === current)
        ? state.choices : [{ hosts: state.hosts, label: state.hosts.join(", ") }, ...state.choices];
      replace(listenSelect, ...choices.map((c) => h("option", {
        value: JSON.stringify(c.hosts), selected: JSON.stringify(c.hosts) === current || null }, c.label)));
    } catch (err) {
      if (!signal.aborted) listenField.hidden = true; // an older server: it listens as it likes
    }
  }

  // -- show a code here -------------------------------------------------------------------
  const codeArea = h("div", { class: "pair-output" });
  const showButton = h("button", { type: "button", class: "primary", id: "pair-show", onclick: () => showCode() },
    "Show a pairing code");

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
      const hosts = listenField.hidden || !listenSelect.value ? null : JSON.parse(listenSelect.value);
      window_ = await api.syncPairing(hosts, { signal });
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
    pairing = { known: new Map(peersNow().map((p) => [p.device_id, p.changed])), timer: setInterval(tick, 1000) };
    tick();
    say(`Pairing code ${window_.code} shown; it is valid for ${Math.round((window_.expires_at - Date.now() / 1000) / 60)} minutes.`);
  }

  function onPeers(peers) {
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
    say(`Paired with ${joined.label}. Confirmation code ${joined.sas}.`);
    title.focus();
  }

  // -- enter another device's code ----------------------------------------------------------
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
      say(`Paired with ${peer.label || peer.name}.`);
      await refresh();
    } catch (err) {
      if (signal.aborted) return;
      const hints = {
        401: "The code was wrong. Each wrong try uses up one of three; check it and try again.",
        409: "This device's sync port is taken by another program.",
        410: "That device shows no pairing code now (expired, already used or out of tries). Show a new one there.",
        502: "That device could not be reached. Check the address, and that both devices are on the same network " +
          "(and that it lets other devices reach it).",
      };
      replace(pairResult, errorBox(new Error(hints[err.status] ? `${hints[err.status]} (${err.message})` : err.message)));
    } finally {
      pairButton.disabled = false;
    }
  }

  const discoverButton = h("button", { type: "button", onclick: (e) => discover(e.currentTarget) }, "Look for devices");
  const card = h("section", { class: "card full", "aria-labelledby": "pair-title" },
    h("h2", { id: "pair-title" }, "Pair a new device"),
    h("p", { class: "hint" }, "Both devices must be on the same network. Show a code on one of them and enter it on the other; " +
      "a code is valid for five minutes."),
    h("div", { class: "pair-grid" },
      h("section", { "aria-labelledby": "pair-show-title" },
        h("h3", { id: "pair-show-title" }, "Show a code on this device"), listenField, showButton, codeArea),
      h("form", { "aria-labelledby": "pair-enter-title", onsubmit: pair, novalidate: true },
        h("h3", { id: "pair-enter-title" }, "Enter another device's code"),
        h("div", { class: "field" }, h("label", { for: "pair-address" }, "Address of the other device"), address,
          h("span", { id: "pair-address-hint", class: "muted" }, "host:port, as shown next to its code")),
        h("div", { class: "actions" }, discoverButton), found,
        h("div", { class: "field" }, h("label", { for: "pair-code-input" }, "Pairing code"), code),
        h("div", { class: "actions" }, pairButton), pairResult)));
  loadChoices();
  return { card, onPeers, stop: stopPairing, pairing: () => pairing !== null };
}
