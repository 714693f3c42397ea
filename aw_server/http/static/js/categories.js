// Category rules in ActivityWatch's `classes` format:
//   {id, name: ["Work", "Programming"], rule: {type: "regex"|"none", regex, ignore_case}, data: {color}}
// plus the helpers the views need: the server-side `categorize` argument, a tree for
// display, colours, and a JavaScript matcher to preview rules against recent titles.

import { hashColor } from "./dom.js";

let nextDefaultId = 0;
function cat(name, regex, color, ignoreCase = false) {
  const rule = regex ? { type: "regex", regex, ignore_case: ignoreCase } : { type: "none" };
  return { id: nextDefaultId++, name, rule, data: color ? { color } : {} };
}

/** Used when the user has no `classes` setting yet. */
export const DEFAULT_CLASSES = [
  cat(["Work"], "", "#4e8fe6"),
  cat(["Work", "Programming"], "GitHub|GitLab|Stack Overflow|[Cc]ode|vim|emacs|PyCharm|IntelliJ|Alacritty|[Tt]erminal|konsole", "#2f6fde"),
  cat(["Work", "Documents"], "Google Docs|LibreOffice|libreoffice|Word|Excel|Notion|Jira|Confluence", "#7aa7ef"),
  cat(["Comms"], "Slack|Discord|Teams|thunderbird|Thunderbird|Gmail|Outlook|Signal|Telegram|Element", "#e6a23c"),
  cat(["Comms", "Meetings"], "[Zz]oom|Google Meet|Meeting|Standup|Jitsi", "#d4862a"),
  cat(["Media"], "", "#d16ba5"),
  cat(["Media", "Video"], "YouTube|Netflix|Twitch|VLC|mpv|Prime Video", "#c2569a"),
  cat(["Media", "Music"], "Spotify|Podcast|Rhythmbox|Deezer", "#a35cc7"),
  cat(["Media", "Games"], "[Ss]team|Minecraft|FPS:|Lutris", "#8e6ad8"),
  cat(["Media", "Social Media"], "reddit|twitter|hacker news|facebook|instagram|mastodon|linkedin", "#e0719a", true),
  cat(["Reference"], "Wikipedia|[Dd]ocumentation|MDN|docs\\.python", "#3bb08f"),
  cat(["Shopping"], "Amazon|eBay|Etsy", "#9aa645"),
];

export const UNCATEGORIZED = "Uncategorized";

/** The `categorize(events, ...)` argument: [[name, rule], ...] for rules that can match. */
export function queryCategories(classes) {
  return (classes || [])
    .filter((c) => c && Array.isArray(c.name) && c.rule && c.rule.type === "regex" && c.rule.regex)
    .map((c) => [c.name, { type: "regex", regex: c.rule.regex, ...(c.rule.ignore_case ? { ignore_case: true } : {}),
      ...(c.rule.select_keys ? { select_keys: c.rule.select_keys } : {}) }]);
}

export const pathKey = (path) => (path || []).join(" > ");

/** Colour of a category: its own, else the nearest ancestor's, else derived from its top name. */
export function categoryColor(path, classes) {
  if (!path || path.length === 0 || path[0] === UNCATEGORIZED) return "#9aa3b2";
  const byKey = new Map((classes || []).map((c) => [pathKey(c.name), c]));
  for (let n = path.length; n > 0; n--) {
    const c = byKey.get(pathKey(path.slice(0, n)));
    if (c && c.data && c.data.color) return c.data.color;
  }
  return hashColor(path[0]);
}

/** Nested nodes {name, path, cls, children} from the flat list; implied parents are added. */
export function classTree(classes) {
  const root = { name: "", path: [], cls: null, children: [] };
  const byKey = new Map([["", root]]);
  const ensure = (path) => {
    const key = pathKey(path);
    if (byKey.has(key)) return byKey.get(key);
    const parent = ensure(path.slice(0, -1));
    const node = { name: path[path.length - 1], path, cls: null, children: [] };
    parent.children.push(node);
    byKey.set(key, node);
    return node;
  };
  for (const c of classes || []) {
    if (Array.isArray(c.name) && c.name.length) ensure(c.name).cls = c;
  }
  return root;
}

/** Sum durations of `cat_events` into a tree: every node's `value` includes its children. */
export function durationTree(catEvents) {
  const root = { name: "All", path: [], value: 0, own: 0, children: new Map() };
  for (const event of catEvents) {
    const path = event.data && Array.isArray(event.data.$category) ? event.data.$category : [UNCATEGORIZED];
    root.value += event.duration;
    let node = root;
    for (const name of path) {
      if (!node.children.has(name)) {
        node.children.set(name, { name, path: [...node.path, name], value: 0, own: 0, children: new Map() });
      }
      node = node.children.get(name);
      node.value += event.duration;
    }
    node.own += event.duration;
  }
  return root;
}

/** A JavaScript RegExp for an ActivityWatch rule (Python syntax: a leading (?i) becomes the i flag). */
export function ruleRegExp(rule) {
  if (!rule || rule.type !== "regex" || !rule.regex) return null;
  let source = rule.regex;
  let flags = rule.ignore_case ? "i" : "";
  if (source.startsWith("(?i)")) { source = source.slice(4); flags = "i"; }
  return new RegExp(source, flags);
}

/** Does the rule match any of the selected (default: all) string values of an event? */
export function ruleMatches(regexp, data, selectKeys) {
  const keys = selectKeys && selectKeys.length ? selectKeys : Object.keys(data || {});
  return keys.some((k) => typeof data[k] === "string" && regexp.test(data[k]));
}

const PALETTE = ["#2f6fde", "#e6a23c", "#3bb08f", "#d16ba5", "#8e6ad8", "#9aa645", "#e05d5d", "#3aa7c9",
  "#c98a3a", "#6c8ebf", "#b5651d", "#5fa35f"];

/** A colour for a new category: the first of the palette no category uses yet. */
export function unusedColor(classes) {
  const used = new Set((classes || []).map((c) => (c.data && c.data.color || "").toLowerCase()));
  return PALETTE.find((c) => !used.has(c)) || PALETTE[(classes || []).length % PALETTE.length];
}

export function nextId(classes) {
  return (classes || []).reduce((max, c) => Math.max(max, Number(c.id) || 0), -1) + 1;
}
