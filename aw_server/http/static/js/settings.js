// Settings live on the server under ActivityWatch's keys (`classes`, `startOfDay`,
// `startOfWeek`, `theme`, ...), so rules made in ActivityWatch's own web UI keep working.

import { api } from "./api.js";
import { DEFAULT_CLASSES } from "./categories.js";

export const DEFAULTS = {
  startOfDay: "04:00",
  startOfWeek: "Monday",
  theme: "system",
};

let pending = null;

function normalize(raw) {
  const settings = { ...DEFAULTS, ...(raw || {}) };
  // Unset or empty rules fall back to ours; the page says so and saving makes them real.
  settings.usingDefaultClasses = !Array.isArray(settings.classes) || settings.classes.length === 0;
  if (settings.usingDefaultClasses) settings.classes = structuredClone(DEFAULT_CLASSES);
  return settings;
}

/** All settings, fetched once and shared by every view. */
export function loadSettings({ force = false } = {}) {
  if (!pending || force) {
    pending = api.settings().then(normalize);
    pending.catch(() => { pending = null; });
  }
  return pending;
}

/** Store one key, update the shared copy and tell the views. */
export async function saveSetting(key, value) {
  await api.setSetting(key, value);
  const settings = await loadSettings();
  settings[key] = value;
  if (key === "classes") settings.usingDefaultClasses = false;
  if (key === "theme") applyTheme(value);
  window.dispatchEvent(new CustomEvent("aw-settings-changed", { detail: { key } }));
}

/** "light" | "dark" | anything else = follow the system. */
export function applyTheme(theme) {
  const root = document.documentElement;
  if (theme === "light" || theme === "dark") root.dataset.theme = theme;
  else delete root.dataset.theme;
  try { localStorage.setItem("aw-theme", theme || "system"); } catch { /* storage disabled */ }
}
