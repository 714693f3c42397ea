// A calendar heat map of active time per day, GitHub-contributions style: one column per
// week, one row per weekday (from the startOfWeek setting), one square per day.
//
// It is drawn once, empty, and then only recoloured: a year's 366 squares are cheap to
// update, so cells can fill in as each day's answer arrives without rebuilding anything.
// The colour scale uses fixed hour steps rather than the year's maximum, so a cell keeps
// its colour while later days load. One square is in the tab order (roving tabindex);
// arrows move by day and week, Enter opens the day.

import { h, s, fmtDuration } from "./dom.js";
import { DAY_NAMES, addDays, isoDate } from "./time.js";

const CELL = 13;
const STEP = 16;
const LEFT = 34;
const TOP = 18;

/** Upper bounds (seconds) of the colour levels 1..4; level 0 is "no activity". */
export const LEVELS = [
  { max: 3600, label: "under 1h" },
  { max: 3 * 3600, label: "1–3h" },
  { max: 5 * 3600, label: "3–5h" },
  { max: Infinity, label: "5h or more" },
];

export function levelOf(seconds) {
  if (!seconds) return 0;
  return LEVELS.findIndex((l) => seconds < l.max) + 1;
}

// One formatter for all squares: toLocaleDateString() builds a new one per call, which
// for a year's labels cost more than drawing the map.
const DAY_FORMAT = new Intl.DateTimeFormat(undefined, { weekday: "long", year: "numeric", month: "long", day: "numeric" });
const MONTH_FORMAT = new Intl.DateTimeFormat(undefined, { month: "short" });

/**
 * first, last: the calendar dates of the map (inclusive). startOfWeek: a day name.
 * onOpen(date): called when a day is clicked or chosen with the keyboard.
 * Returns {el, update(valueOf)} where valueOf(i) gives day i's active seconds, null while it
 * loads, or undefined when there is nothing to load (a day still to come).
 */
export function heatmap({ first, last, startOfWeek, onOpen, label }) {
  const weekStart = Math.max(0, DAY_NAMES.indexOf(startOfWeek || "Monday"));
  const lead = (first.getDay() - weekStart + 7) % 7; // empty rows before `first` in column 0
  const days = Math.round((last - first) / 86_400_000) + 1;
  const columns = Math.ceil((lead + days) / 7);
  const width = LEFT + columns * STEP;
  const height = TOP + 7 * STEP;
  const svg = s("svg", {
    class: "heatmap", viewBox: `0 0 ${width} ${height}`, role: "group", "aria-label": label,
    style: { maxWidth: `${width * 1.6}px` },
  });
  const sunday = new Date(2024, 0, 7); // any Sunday: weekday names in the user's locale
  for (let row = 0; row < 7; row++) {
    svg.append(s("text", { class: "hm-weekday", x: LEFT - 6, y: TOP + row * STEP + CELL - 2, "text-anchor": "end",
      "aria-hidden": "true" }, addDays(sunday, (weekStart + row) % 7).toLocaleDateString(undefined, { weekday: "short" })));
  }
  const cells = [];
  for (let i = 0; i < days; i++) {
    const date = addDays(first, i);
    const slot = lead + i;
    const column = Math.floor(slot / 7);
    if (date.getDate() === 1 || i === 0) {
      // A month's name above the week holding its first day (if there is room to the right).
      if (columns - column >= 3) {
        svg.append(s("text", { class: "hm-month", x: LEFT + column * STEP, y: TOP - 6, "aria-hidden": "true" },
          MONTH_FORMAT.format(date)));
      }
    }
    const rect = s("rect", {
      class: "hm-cell", x: LEFT + column * STEP, y: TOP + (slot % 7) * STEP, width: CELL, height: CELL, rx: 2,
      role: "button", tabindex: "-1", "data-date": isoDate(date), "data-level": "pending",
    });
    const title = s("title");
    rect.append(title);
    svg.append(rect);
    rect.addEventListener("click", () => onOpen && onOpen(date));
    rect.addEventListener("focus", () => focusCell(i, false));
    cells.push({ rect, title, date, name: DAY_FORMAT.format(date), text: "" });
  }
  let focused = Math.max(0, days - 1);
  function focusCell(i, move = true) {
    const next = Math.min(days - 1, Math.max(0, i));
    cells[focused].rect.setAttribute("tabindex", "-1");
    focused = next;
    cells[focused].rect.setAttribute("tabindex", "0");
    if (move) cells[focused].rect.focus();
  }
  cells[focused].rect.setAttribute("tabindex", "0");
  svg.addEventListener("keydown", (e) => {
    const moves = { ArrowUp: -1, ArrowDown: 1, ArrowLeft: -7, ArrowRight: 7 };
    if (e.key in moves) focusCell(focused + moves[e.key]);
    else if (e.key === "Home") focusCell(0);
    else if (e.key === "End") focusCell(days - 1);
    else if ((e.key === "Enter" || e.key === " ") && onOpen) onOpen(cells[focused].date);
    else return;
    e.preventDefault();
  });

  // Days still to come are drawn too (the year keeps its shape); their key is shown only
  // while the map holds some, so a past year's legend lists nothing it does not draw.
  const toCome = h("span", { class: "hm-key", "data-key": "to-come", hidden: true },
    legendSwatch("none"), "still to come");
  const legend = h("div", { class: "hm-legend", "aria-label": "Colour legend" },
    h("span", { class: "hm-key" }, legendSwatch("pending"), "not loaded yet"),
    h("span", { class: "hm-key" }, legendSwatch("0"), "no activity"),
    LEVELS.map((l, i) => h("span", { class: "hm-key" }, legendSwatch(String(i + 1)), l.label)),
    toCome);
  const el = h("div", { class: "hm-wrap" }, svg, legend);

  function update(valueOf) {
    let anyToCome = false;
    cells.forEach((cell, i) => {
      const value = valueOf(i);
      if (value === undefined) anyToCome = true;
      const level = value === undefined ? "none" : value === null ? "pending" : String(levelOf(value));
      const what = value === undefined ? "still to come" : value === null ? "loading" : fmtDuration(value);
      const text = `${cell.name}: ${what}`;
      if (text === cell.text) return;
      cell.text = text;
      cell.rect.setAttribute("data-level", level);
      if (typeof value === "number") cell.rect.setAttribute("data-seconds", String(value));
      else cell.rect.removeAttribute("data-seconds");
      cell.rect.setAttribute("aria-label", text);
      cell.title.textContent = text;
    });
    toCome.hidden = !anyToCome;
  }
  return { el, update };
}

function legendSwatch(level) {
  return s("svg", { class: "heatmap hm-swatch", viewBox: `0 0 ${CELL} ${CELL}`, "aria-hidden": "true" },
    s("rect", { class: "hm-cell", width: CELL, height: CELL, rx: 2, "data-level": level }));
}
