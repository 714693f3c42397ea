// Settings: category rules, start of day and week, theme, and privacy rules. Everything
// is stored through /api/0/settings under ActivityWatch's keys.

import { h, replace, errorBox, loading } from "../dom.js";
import { loadSettings, saveSetting } from "../settings.js";
import { DAY_NAMES } from "../time.js";
import { categoriesEditor } from "./categories-editor.js";
import { api } from "../api.js";

/** A labelled control that stores its value as soon as it changes, with feedback next to it. */
function autoSaved(key, control, label, read = () => control.value) {
  const note = h("span", { class: "muted", "aria-live": "polite" });
  control.addEventListener("change", async () => {
    replace(note, "Saving…");
    try {
      await saveSetting(key, read());
      replace(note, h("span", { class: "ok" }, "Saved"));
    } catch (err) {
      replace(note, errorBox(err));
    }
  });
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, note);
}

function generalCard(settings) {
  const startOfDay = h("input", { type: "time", id: "set-start-of-day", value: settings.startOfDay, step: 60 });
  const startOfWeek = h("select", { id: "set-start-of-week" },
    DAY_NAMES.filter((d) => d === "Monday" || d === "Sunday" || d === "Saturday").map((d) =>
      h("option", { value: d, selected: d === settings.startOfWeek }, d)));
  const theme = h("select", { id: "set-theme" },
    [["system", "Same as the system"], ["light", "Light"], ["dark", "Dark"]].map(([v, label]) =>
      h("option", { value: v, selected: v === (settings.theme || "system") }, label)));
  return h("section", { class: "card half", "aria-labelledby": "general-title" },
    h("h2", { id: "general-title" }, "Days and appearance"),
    h("div", { class: "form-grid" },
      autoSaved("startOfDay", startOfDay, "Day starts at"),
      autoSaved("startOfWeek", startOfWeek, "Week starts on"),
      autoSaved("theme", theme, "Theme")),
    h("p", { class: "hint" }, "Time after midnight and before the start of the day counts towards the previous day."));
}

const lines = (text) => text.split("\n").map((l) => l.trim()).filter(Boolean);

function privacyCard(settings, signal) {
  const current = settings.privacy && typeof settings.privacy === "object" ? settings.privacy : {};
  const all = h("input", { type: "checkbox", id: "priv-all", checked: !!current.exclude_title });
  const titles = h("textarea", { id: "priv-titles", rows: 4, spellcheck: "false" });
  titles.value = (current.exclude_titles || []).join("\n");
  const apps = h("textarea", { id: "priv-apps", rows: 3, spellcheck: "false" });
  apps.value = (current.exclude_apps || []).join("\n");
  const status = h("div", { "aria-live": "polite" });
  const compile = () => {
    const out = { titles: [], apps: [] };
    for (const [kind, box] of [["titles", titles], ["apps", apps]]) {
      for (const pattern of lines(box.value)) {
        try { out[kind].push(new RegExp(pattern.replace(/^\(\?i\)/, ""), "i")); } catch (err) {
          throw new Error(`invalid regular expression ${JSON.stringify(pattern)}: ${err.message}`);
        }
      }
    }
    return out;
  };
  const preview = async () => {
    replace(status, loading("Checking recent windows…"));
    try {
      const rules = compile();
      const buckets = Object.values(await api.buckets({ signal })).filter((b) => b.type === "currentwindow");
      const events = (await Promise.all(buckets.map((b) => api.events(b.id, { limit: 2000 }, { signal })))).flat();
      const distinct = new Map(events.map((e) => [`${e.data.app}\u0000${e.data.title}`, e.data]));
      const hidden = [...distinct.values()].filter((d) => all.checked || rules.titles.some((r) => r.test(d.title || "")) ||
        rules.apps.some((r) => r.test(d.app || "")));
      replace(status, h("p", null, `These rules would hide ${hidden.length} of ${distinct.size} recent window titles.`),
        hidden.length ? h("ul", { class: "matches" }, hidden.slice(0, 30).map((d) => h("li", null, `${d.title} — ${d.app}`))) : null);
    } catch (err) {
      replace(status, errorBox(err));
    }
  };
  const save = async (ev) => {
    ev.preventDefault();
    try {
      compile();
      await saveSetting("privacy", { exclude_title: all.checked, exclude_titles: lines(titles.value), exclude_apps: lines(apps.value) });
      replace(status, h("p", { class: "ok" }, "Privacy rules saved."));
    } catch (err) {
      replace(status, errorBox(err));
    }
  };
  return h("form", { class: "card half", "aria-labelledby": "privacy-title", onsubmit: save },
    h("h2", { id: "privacy-title" }, "Privacy"),
    h("p", { class: "hint" }, "Window titles to keep out of the record. The names match the window watcher's config " +
      "(exclude_title, exclude_titles, exclude_apps); watchers that read the server's `privacy` setting apply them " +
      "to new events. Recorded events are not changed."),
    h("label", { class: "field inline" }, all, "Hide every window title"),
    h("label", { class: "field", for: "priv-titles" }, "Hide titles matching (one regular expression per line, case-insensitive)"), titles,
    h("label", { class: "field", for: "priv-apps" }, "Hide all titles of apps matching"), apps,
    h("div", { class: "actions", style: { marginTop: ".75rem" } },
      h("button", { type: "submit", class: "primary" }, "Save privacy rules"),
      h("button", { type: "button", onclick: preview }, "Preview on recent titles")),
    status);
}

export async function mount(root, { signal }) {
  let settings;
  try {
    settings = await loadSettings({ force: true });
  } catch (err) {
    root.append(h("h1", null, "Settings"), errorBox(err, () => window.dispatchEvent(new Event("aw-navigate"))));
    return;
  }
  root.append(h("h1", null, "Settings"),
    h("div", { class: "grid" }, generalCard(settings), privacyCard(settings, signal), categoriesEditor(settings, signal)));
}
