// Hand-made SVG charts: hourly bars side by side (and a line), with axes, ticks, tooltips (<title>) and data-* on
// every bar so tests and tools can read what was drawn.

import { svg, el, dayLabel, hourLabel, wh, utc } from './dom.js';

const WIDTH = 960;
const HEIGHT = 300;
const M = { top: 16, right: 16, bottom: 44, left: 64 };

function niceStep(max) {
  if (max <= 0) return 1;
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const f of [1, 2, 2.5, 5, 10]) if (f * magnitude >= raw) return f * magnitude;
  return 10 * magnitude;
}

function tickLabel(value, max) {
  if (max >= 10_000_000) return `${value / 1_000_000} MWh`;
  if (max >= 10_000) return `${value / 1000} kWh`;
  return `${value} Wh`;
}

/** Axes, horizontal grid and hour labels; returns the plot's scales. */
function frame(root, hours, max) {
  const plotW = WIDTH - M.left - M.right;
  const plotH = HEIGHT - M.top - M.bottom;
  const step = niceStep(max);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const y = (v) => M.top + plotH - (v / top) * plotH;
  const band = hours.length > 0 ? plotW / hours.length : plotW;
  for (let v = 0; v <= top + step / 2; v += step) {
    root.append(svg('line', { class: 'grid', x1: M.left, x2: WIDTH - M.right, y1: y(v), y2: y(v) }));
    root.append(svg('text', { x: M.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, tickLabel(v, top)));
  }
  root.append(svg('line', { class: 'axis', x1: M.left, x2: M.left, y1: M.top, y2: M.top + plotH }));
  root.append(svg('line', { class: 'axis', x1: M.left, x2: WIDTH - M.right, y1: M.top + plotH, y2: M.top + plotH }));
  // At most about 16 hour labels; a date under the first hour of each day shown.
  const every = Math.max(1, Math.ceil(hours.length / 16));
  let lastDay = null;
  hours.forEach((h, i) => {
    if (i % every !== 0) return;
    const x = M.left + band * i + band / 2;
    root.append(svg('text', { x, y: M.top + plotH + 14, 'text-anchor': 'middle' }, hourLabel(h.hour)));
    const day = dayLabel(h.hour);
    if (day !== lastDay) {
      root.append(svg('text', { x, y: M.top + plotH + 28, 'text-anchor': 'middle' }, day));
      lastDay = day;
    }
  });
  return { y, band, plotH, base: M.top + plotH };
}

function bar(cls, x, width, y, base, value, hour, title) {
  return svg('rect', { class: `bar ${cls}`, x, y: y(value), width: Math.max(0.5, width), height: Math.max(0, base - y(value)), dataset: { hour: String(hour), wh: String(value) } }, svg('title', {}, title));
}

function chart(id, label) {
  return svg('svg', { id, class: 'chart', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': label, preserveAspectRatio: 'xMidYMid meet' });
}

/** A meter's hours: Wh of its archived readings beside Wh of the certificates issued, per hour. */
export function hourlyChart(hourly) {
  const hours = hourly.hours;
  const root = chart('hourly-chart', `Hourly generation of meter ${hourly.meter}: readings and certificates`);
  const max = Math.max(0, ...hours.map((h) => Math.max(h.readingWh, h.certificateWh)));
  const { y, band, base } = frame(root, hours, max);
  const w = Math.max(1, band * 0.38);
  hours.forEach((h, i) => {
    const x0 = M.left + band * i + band * 0.1;
    const when = utc(h.hour);
    if (h.readings > 0 || h.readingWh > 0) root.append(bar('bar-readings', x0, w, y, base, h.readingWh, h.hour, `${when}: ${wh(h.readingWh)} in ${h.readings} readings`));
    if (h.certificates > 0 || h.certificateWh > 0) root.append(bar('bar-certificates', x0 + w + band * 0.04, w, y, base, h.certificateWh, h.hour, `${when}: ${wh(h.certificateWh)} in ${h.certificates} certificates`));
  });
  const legend = el('div', { class: 'legend' },
    el('span', {}, el('span', { class: 'swatch readings' }), 'signed readings (archive)'),
    el('span', {}, el('span', { class: 'swatch certificates' }), 'certificates issued (ledger)'));
  return el('figure', { class: 'figure' }, root, legend);
}

const HOUR = 3600;
const MAX_HOURS = 31 * 24;

/** Every hour of [from, to) (at most the last month of it), the missing ones as zeros: gaps must show as gaps. */
export function denseHours(from, to, hours, zero) {
  const byHour = new Map(hours.map((h) => [h.hour, h]));
  const start = Math.max(from, to - MAX_HOURS * HOUR);
  const out = [];
  for (let t = start; t < to; t += HOUR) out.push(byHour.get(t) ?? { hour: t, ...zero });
  return out;
}

/** The buyer's hours: consumption and claimed certificates side by side, what matched hour by hour as a line. */
export function matchingChart(matching) {
  const hours = denseHours(matching.from, matching.to, matching.hours, { consumptionWh: 0, claimedWh: 0, matchedWh: 0 });
  const root = chart('matching-chart', `Hourly matching of ${matching.owner}`);
  const max = Math.max(0, ...hours.map((h) => Math.max(h.consumptionWh, h.claimedWh, h.matchedWh)));
  const { y, band, base } = frame(root, hours, max);
  const w = Math.max(1, band * 0.38);
  const points = [];
  hours.forEach((h, i) => {
    const x0 = M.left + band * i + band * 0.1;
    const when = utc(h.hour);
    if (h.consumptionWh > 0) root.append(bar('bar-consumption', x0, w, y, base, h.consumptionWh, h.hour, `${when}: ${wh(h.consumptionWh)} consumed`));
    if (h.claimedWh > 0) root.append(bar('bar-claimed', x0 + w + band * 0.04, w, y, base, h.claimedWh, h.hour, `${when}: ${wh(h.claimedWh)} claimed`));
    points.push([M.left + band * i + band / 2, y(h.matchedWh), h]);
  });
  if (points.length > 0) {
    root.append(svg('polyline', { class: 'matched-line', points: points.map(([x, py]) => `${x},${py}`).join(' ') }));
    for (const [x, py, h] of points) {
      root.append(svg('circle', { class: 'matched-dot', cx: x, cy: py, r: 2.5, dataset: { hour: String(h.hour), wh: String(h.matchedWh) } }, svg('title', {}, `${utc(h.hour)}: ${wh(h.matchedWh)} matched`)));
    }
  }
  const legend = el('div', { class: 'legend' },
    el('span', {}, el('span', { class: 'swatch consumption' }), 'consumption'),
    el('span', {}, el('span', { class: 'swatch claimed' }), 'certificates claimed'),
    el('span', {}, el('span', { class: 'swatch matched' }), 'matched in the same hour'));
  return el('figure', { class: 'figure' }, root, legend);
}
