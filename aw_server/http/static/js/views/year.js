// The Year range's own cards: a calendar heat map of active time per day and totals per
// month and per weekday. They are built empty when the view mounts, so the year's shape
// and "not loaded yet" squares are on screen before the first answer, and then fed the
// Activity view's summary after each batch of days; they read only the per-day totals.

import { h, replace, fmtDuration, card } from "../dom.js";
import { barChart } from "../charts.js";
import { heatmap } from "../heatmap.js";
import { DAY_NAMES, addDays } from "../time.js";

/** The calendar date a [start, end) day period is named after. */
const dateOf = ([start]) => new Date(start.getFullYear(), start.getMonth(), start.getDate());

/**
 * periods: the view's day periods (Jan 1 up to Dec 31, or today in the current year).
 * openDay(date): show that day. Returns {cards: [elements], update(summary)}.
 */
export function yearCards({ periods, startOfWeek, openDay }) {
  const first = dateOf(periods[0]);
  const year = first.getFullYear();
  const map = heatmap({
    first, last: new Date(year, 11, 31), startOfWeek, onOpen: openDay,
    label: `Active time per day in ${year}; choose a day to open it`,
  });
  const heat = card("Calendar of active time", "full year-heatmap");
  const months = card("Active time per month", "half year-months");
  const weekdays = card("Active time per weekday", "half year-weekdays");
  heat.body.append(map.el);
  map.update(() => null);
  const weekStart = Math.max(0, DAY_NAMES.indexOf(startOfWeek || "Monday"));
  // Names are formatted once: the cards are redrawn many times while the year loads.
  const monthNames = Array.from({ length: 12 }, (_, m) => {
    const day = new Date(year, m, 1);
    return { short: day.toLocaleDateString(undefined, { month: "short" }),
      long: day.toLocaleDateString(undefined, { month: "long", year: "numeric" }) };
  });
  const order = Array.from({ length: 7 }, (_, k) => (weekStart + k) % 7); // Date.getDay() values
  const weekdayNames = order.map((day) => {
    const sample = addDays(new Date(2024, 0, 7), day); // 2024-01-07 is a Sunday
    return { short: sample.toLocaleDateString(undefined, { weekday: "short" }),
      long: sample.toLocaleDateString(undefined, { weekday: "long" }) };
  });

  function update(summary) {
    const totals = summary.dayTotals;
    map.update((i) => (i < totals.length ? totals[i] : undefined));
    const perMonth = new Array(12).fill(0);
    const monthDays = new Array(12).fill(0);
    const perWeekday = new Array(7).fill(0); // by Date.getDay()
    const weekdayDays = new Array(7).fill(0);
    totals.forEach((value, i) => {
      if (value === null) return;
      const date = addDays(first, i);
      perMonth[date.getMonth()] += value;
      monthDays[date.getMonth()]++;
      perWeekday[date.getDay()] += value;
      weekdayDays[date.getDay()]++;
    });
    const widthOf = (c) => Math.max(280, Math.round(c.body.clientWidth || 560));
    const monthItems = perMonth.map((value, m) => ({
      label: monthNames[m].short, value,
      detail: `${monthNames[m].long} (${monthDays[m]} ${monthDays[m] === 1 ? "day" : "days"} loaded)`,
    }));
    const weekdayItems = order.map((day, k) => {
      const average = weekdayDays[day] ? perWeekday[day] / weekdayDays[day] : 0;
      return { label: weekdayNames[k].short, value: perWeekday[day],
        detail: `${weekdayNames[k].long}s: ${fmtDuration(average)} a day on average ` +
          `(${weekdayDays[day]} days loaded); total` };
    });
    // Exact seconds for scripts and tests; the charts round to minutes.
    months.body.dataset.seconds = JSON.stringify(perMonth);
    weekdays.body.dataset.seconds = JSON.stringify(order.map((day) => perWeekday[day]));
    replace(months.body, barChart(monthItems, {
      width: widthOf(months), height: 200, ariaLabel: `Active time per month of ${year}`,
    }));
    replace(weekdays.body, barChart(weekdayItems, {
      width: widthOf(weekdays), height: 200, ariaLabel: `Active time per weekday in ${year}`,
    }));
  }
  update({ dayTotals: periods.map(() => null) });
  // Set just before the frame that shows the empty year and the progress bar (benchmark).
  requestAnimationFrame(() => performance.mark("aw-year-progress"));
  return { cards: [heat.el, months.el, weekdays.el], update };
}
