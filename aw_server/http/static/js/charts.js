// Charts drawn as SVG by hand: vertical bars, a squarified treemap and ranked lists.
// Each chart carries a text alternative (aria-label and per-item <title>).

import { h, s, fmtDuration } from "./dom.js";

/**
 * Vertical bar chart. items: [{label, value, detail}] with value in seconds.
 * `labelEvery` thins the x labels when there are many bars.
 */
export function barChart(items, { width = 720, height = 180, ariaLabel = "Bar chart", labelEvery = 1, maxValue } = {}) {
  const pad = { top: 8, right: 4, bottom: 20, left: 44 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const height_ = (d) => (d.stack ? Math.max(d.value, d.stack.reduce((a, p) => a + p.value, 0)) : d.value);
  const max = Math.max(maxValue || 0, ...items.map(height_), 1);
  // Round the scale to whole units (minutes below 2 h, hours above) for readable grid lines.
  const unit = max > 7200 ? 3600 : 60;
  const step = niceStep(max / unit / 4) * unit;
  const top = Math.ceil(max / step) * step;
  const y = (v) => pad.top + innerH - (v / top) * innerH;
  const slot = innerW / Math.max(items.length, 1);
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": ariaLabel });
  for (let v = 0; v <= top + 1e-9; v += step) {
    svg.append(s("line", { class: "grid-line", x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }),
      s("text", { x: pad.left - 6, y: y(v) + 4, "text-anchor": "end" }, unit === 3600 ? `${v / 3600}h` : `${v / 60}m`));
  }
  items.forEach((d, i) => {
    const x = pad.left + i * slot;
    if (d.stack) svg.append(stackedBar(d, x, slot, y, innerH, pad.top, top));
    else {
      const barH = Math.max(0, (d.value / top) * innerH);
      svg.append(s("rect", {
        class: "bar", x: x + slot * 0.12, width: Math.max(1, slot * 0.76), y: pad.top + innerH - barH,
        height: barH, rx: Math.min(3, slot * 0.2),
      }, s("title", null, `${d.detail || d.label}: ${fmtDuration(d.value)}`)));
    }
    if (i % labelEvery === 0) {
      svg.append(s("text", { x: x + slot / 2, y: height - 5, "text-anchor": "middle" }, d.label));
    }
  });
  return svg;
}

/** One bar of per-device segments (`d.stack`: [{value, color, label}]) stacked bottom up,
 * with a mark at `d.value` (the combined time, which the overlap keeps below the stack). */
function stackedBar(d, x, slot, y, innerH, padTop, top) {
  const g = s("g", { class: "bar-stack" });
  let base = 0;
  const lines = d.stack.filter((p) => p.value > 0).map((p) => `${p.label}: ${fmtDuration(p.value)}`);
  const title = s("title", null, [`${d.detail || d.label}: ${fmtDuration(d.value)} combined`, ...lines].join("\n"));
  for (const part of d.stack) {
    if (part.value <= 0) continue;
    const h0 = (base / top) * innerH;
    const h1 = ((base + part.value) / top) * innerH;
    g.append(s("rect", { class: "seg", x: x + slot * 0.12, width: Math.max(1, slot * 0.76),
      y: padTop + innerH - h1, height: Math.max(0, h1 - h0), fill: part.color }));
    base += part.value;
  }
  if (d.value > 0) {
    g.append(s("line", { class: "combined-mark", x1: x + slot * 0.04, x2: x + slot * 0.96, y1: y(d.value), y2: y(d.value) }));
  }
  g.append(title);
  return g;
}

function niceStep(raw) {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 300, 600];
  return steps.find((st) => st >= raw) || Math.ceil(raw / 600) * 600;
}

/**
 * Ranked list with proportional background bars.
 * items: [{name, sub, value, color}]; shows `limit` first, with a "Show all" toggle.
 */
export function topList(items, { limit = 10, total, emptyText = "No data", label, split } = {}) {
  if (!items.length) return h("p", { class: "empty" }, emptyText);
  const max = Math.max(...items.map((d) => d.value), 1);
  const list = h("ol", { class: "toplist", "aria-label": label });
  const render = (count) => {
    list.replaceChildren(...items.slice(0, count).map((d) => {
      const share = total ? ` (${Math.round((d.value / total) * 100)}%)` : "";
      const parts = split && d.split ? split.map((dev, i) => [dev.label, d.split[i]]).filter(([, v]) => v > 0) : [];
      const perDevice = parts.map(([name, v]) => `\n${name}: ${fmtDuration(v)}`).join("");
      return h("li", { title: `${d.name}${d.sub ? ` — ${d.sub}` : ""}${perDevice}` },
        h("span", { class: "bar", style: { width: `${(d.value / max) * 100}%` }, "aria-hidden": "true" }),
        split ? splitStrip(d, split, max) : null,
        h("span", { class: "name" },
          d.color ? h("span", { class: "swatch", style: { background: d.color }, "aria-hidden": "true" }) : null,
          d.name, d.sub ? h("span", { class: "sub" }, ` · ${d.sub}`) : null),
        h("span", { class: "dur" }, fmtDuration(d.value), h("span", { class: "sr-only" }, share)));
    }));
  };
  render(limit);
  if (items.length <= limit) return list;
  let expanded = false;
  const toggle = h("button", { type: "button", class: "link-button more", "aria-expanded": "false" },
    `Show all ${items.length}`);
  toggle.addEventListener("click", () => {
    expanded = !expanded;
    render(expanded ? items.length : limit);
    toggle.textContent = expanded ? "Show fewer" : `Show all ${items.length}`;
    toggle.setAttribute("aria-expanded", String(expanded));
  });
  return h("div", null, list, toggle);
}

/** A thin strip under a list row: the row's time split by device (`split`: [{label,
 * color}] in the order of `d.split`), so stacked shares read like the bars above them. */
function splitStrip(d, split, max) {
  const strip = h("span", { class: "split", style: { width: `${(d.value / max) * 100}%` } });
  const text = [];
  split.forEach((dev, i) => {
    const v = (d.split || [])[i] || 0;
    if (v <= 0) return;
    strip.append(h("span", { style: { flex: `${v} 0 0`, background: dev.color }, "aria-hidden": "true" }));
    text.push(`${dev.label} ${fmtDuration(v)}`);
  });
  strip.append(h("span", { class: "sr-only" }, ` (${text.join(", ")})`));
  return strip;
}

/** Squarified treemap layout (Bruls et al.): rectangles with aspect ratios close to 1. */
function squarify(values, x, y, w, hgt) {
  const total = values.reduce((a, b) => a + b, 0);
  const rects = [];
  if (total <= 0 || w <= 0 || hgt <= 0) return values.map(() => ({ x, y, w: 0, h: 0 }));
  const scale = (w * hgt) / total;
  let index = 0;
  while (index < values.length) {
    const short = Math.min(w, hgt);
    let row = [values[index] * scale];
    let worst = worstRatio(row, short);
    let next = index + 1;
    while (next < values.length) {
      const candidate = [...row, values[next] * scale];
      const ratio = worstRatio(candidate, short);
      if (ratio > worst) break;
      row = candidate; worst = ratio; next++;
    }
    const rowArea = row.reduce((a, b) => a + b, 0);
    const thick = rowArea / short;
    let offset = 0;
    for (const area of row) {
      const len = area / thick;
      rects.push(w >= hgt ? { x, y: y + offset, w: thick, h: len } : { x: x + offset, y, w: len, h: thick });
      offset += len;
    }
    if (w >= hgt) { x += thick; w -= thick; } else { y += thick; hgt -= thick; }
    index = next;
  }
  return rects;
}

function worstRatio(row, short) {
  const sum = row.reduce((a, b) => a + b, 0);
  const max = Math.max(...row);
  const min = Math.min(...row);
  return Math.max((short * short * max) / (sum * sum), (sum * sum) / (short * short * min));
}

/**
 * Two-level treemap of a duration tree (top categories, subcategories inside).
 * Items are focusable, with the full path and time in their title.
 */
export function treemap(root, colorOf, { width = 720, height = 300, ariaLabel = "Categories" } = {}) {
  const svg = s("svg", { class: "chart treemap", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": ariaLabel });
  const tops = [...root.children.values()].filter((n) => n.value > 0).sort((a, b) => b.value - a.value);
  const rects = squarify(tops.map((n) => n.value), 0, 0, width, height);
  tops.forEach((node, i) => {
    const r = rects[i];
    const kids = [...node.children.values()].filter((n) => n.value > 0).sort((a, b) => b.value - a.value);
    // The parent's own time (not in any subcategory) is one more tile, in the parent's colour.
    const parts = node.own > 0 && kids.length ? [{ ...node, value: node.own, children: new Map(), self: true }, ...kids] : kids;
    const inner = parts.length ? squarify(parts.map((n) => n.value), r.x, r.y, r.w, r.h) : [r];
    (parts.length ? parts : [node]).forEach((part, j) => tile(svg, part, inner[j], colorOf(part.path), root.value));
    // The parent's name sits on its first tile (squarify starts at the top left).
    if (r.w > 60 && r.h > 34) {
      svg.append(s("text", { x: r.x + 6, y: r.y + 16, "font-weight": "700", style: { fill: textOn(colorOf((parts[0] || node).path)) } },
        clip(node.name, r.w)));
    }
  });
  return svg;
}

function tile(svg, node, r, color, total) {
  const pct = total ? Math.round((node.value / total) * 100) : 0;
  const g = s("g", { tabindex: "0", role: "listitem", "aria-label": `${node.path.join(" › ")}: ${fmtDuration(node.value)}, ${pct}%` },
    s("rect", { x: r.x, y: r.y, width: Math.max(0, r.w), height: Math.max(0, r.h), fill: color, rx: 3 }),
    s("title", null, `${node.path.join(" › ")}${node.self ? " (itself)" : ""}: ${fmtDuration(node.value)} (${pct}%)`));
  if (!node.self && node.path.length > 1 && r.w > 56 && r.h > 40) {
    g.append(s("text", { x: r.x + 6, y: r.y + r.h - 8, style: { fill: textOn(color) } }, clip(node.name, r.w)));
  }
  svg.append(g);
}

/** sRGB relative luminance of "#rrggbb" or "hsl(h s% l%)"; null if unparsable. */
function luminance(color) {
  let rgb = null;
  const hex = /^#([0-9a-f]{6})$/i.exec(color);
  const hsl = /^hsl\((\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)%\s+(\d+(?:\.\d+)?)%\)$/.exec(color);
  if (hex) {
    rgb = [0, 2, 4].map((i) => parseInt(hex[1].slice(i, i + 2), 16) / 255);
  } else if (hsl) {
    const [hue, sat, light] = [Number(hsl[1]), Number(hsl[2]) / 100, Number(hsl[3]) / 100];
    const a = sat * Math.min(light, 1 - light);
    const f = (n) => { const k = (n + hue / 30) % 12; return light - a * Math.max(-1, Math.min(k - 3, 9 - k, 1)); };
    rgb = [f(0), f(8), f(4)];
  }
  if (!rgb) return null;
  const lin = rgb.map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
}

/** Near-black or white, whichever contrasts more with the tile colour (WCAG ratio). */
export function textOn(color) {
  const lum = luminance(color);
  if (lum === null) return "#10151f";
  const dark = (lum + 0.05) / (0.0085 + 0.05);
  const light = 1.05 / (lum + 0.05);
  return dark >= light ? "#10151f" : "#ffffff";
}

function clip(text, width) {
  const max = Math.floor((width - 10) / 7);
  return text.length > max ? `${text.slice(0, Math.max(1, max - 1))}…` : text;
}
