// Calendar arithmetic in the browser's local time zone. A "day" starts at the
// `startOfDay` setting ("04:00" by default, as in ActivityWatch), so a night owl's
// 01:30 still counts towards the previous day.

const DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** "04:30" → {h: 4, m: 30}; anything unparsable → 04:00. */
export function parseStartOfDay(text) {
  const match = /^(\d{1,2}):(\d{2})/.exec(text || "");
  if (!match) return { h: 4, m: 0 };
  return { h: Math.min(23, Number(match[1])), m: Math.min(59, Number(match[2])) };
}

/** "2024-01-03" → local Date at midnight. */
export function parseDate(text) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || "");
  if (!match) return null;
  return new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
}

export function isoDate(date) {
  const p = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}`;
}

export function addDays(date, days) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate() + days);
}

/** The calendar date a moment belongs to, given the start of day. */
export function logicalDate(moment, startOfDay) {
  const { h, m } = parseStartOfDay(startOfDay);
  const shifted = new Date(moment.getTime() - (h * 60 + m) * 60_000);
  return new Date(shifted.getFullYear(), shifted.getMonth(), shifted.getDate());
}

/** [start, end) of the logical day `date`. Built from calendar fields, so DST days are 23 or 25 h. */
export function dayBounds(date, startOfDay) {
  const { h, m } = parseStartOfDay(startOfDay);
  const start = new Date(date.getFullYear(), date.getMonth(), date.getDate(), h, m);
  const end = new Date(date.getFullYear(), date.getMonth(), date.getDate() + 1, h, m);
  return [start, end];
}

/** The first calendar date of the week holding `date` (weeks begin on `startOfWeek`, a day name). */
export function weekStart(date, startOfWeek) {
  const first = Math.max(0, DAY_NAMES.indexOf(startOfWeek || "Monday"));
  return addDays(date, -((date.getDay() - first + 7) % 7));
}

/** First and last calendar date (inclusive) of a range kind around `date`. */
export function rangeDates(kind, date, startOfWeek, customEnd) {
  if (kind === "week") {
    const start = weekStart(date, startOfWeek);
    return [start, addDays(start, 6)];
  }
  if (kind === "month") {
    return [new Date(date.getFullYear(), date.getMonth(), 1),
      new Date(date.getFullYear(), date.getMonth() + 1, 0)];
  }
  if (kind === "year") {
    // The calendar year, but not its future: those days hold nothing yet, and asking the
    // server for each of them would only delay the "complete" state.
    const last = new Date(date.getFullYear(), 11, 31);
    const now = new Date();
    const today = new Date(now.getFullYear(), now.getMonth(), now.getDate());
    const first = new Date(date.getFullYear(), 0, 1);
    return [first, last > today && today >= first ? today : last];
  }
  if (kind === "custom" && customEnd && customEnd >= date) return [date, customEnd];
  return [date, date];
}

/** One [start, end) period per logical day from `first` to `last` inclusive. */
export function dailyPeriods(first, last, startOfDay) {
  const periods = [];
  for (let d = first; d <= last; d = addDays(d, 1)) periods.push(dayBounds(d, startOfDay));
  return periods;
}

/** Move a range of `kind` one step forward (+1) or back (-1). */
export function shiftDate(kind, date, step, spanDays = 1) {
  if (kind === "week") return addDays(date, 7 * step);
  if (kind === "month") return new Date(date.getFullYear(), date.getMonth() + step, 1);
  if (kind === "year") return new Date(date.getFullYear() + step, 0, 1);
  return addDays(date, spanDays * step);
}

export function rangeLabel(kind, first, last) {
  const long = { weekday: "short", year: "numeric", month: "short", day: "numeric" };
  if (kind === "day") return first.toLocaleDateString(undefined, long);
  if (kind === "month") return first.toLocaleDateString(undefined, { year: "numeric", month: "long" });
  if (kind === "year") return String(first.getFullYear());
  const short = { month: "short", day: "numeric" };
  return `${first.toLocaleDateString(undefined, short)} – ${last.toLocaleDateString(undefined, { ...short, year: "numeric" })}`;
}


export { DAY_NAMES };
