// charts.js -- small hand-drawn SVG charts (no library). Each chart is an <figure> with a
// caption, an SVG marked role="img" with a text summary for screen readers, and the numbers as
// a table behind a <details> for anyone who prefers reading.

import { h, s } from './dom.js';

let seq = 0;

// bars: [{label, value, title?}] in order; fmt(value) -> text
export function barChart({ title, bars, fmt = String, summary, height = 140 }) {
  const id = `chart-${++seq}`;
  const w = 600, pad = { l: 44, r: 8, t: 10, b: 22 };
  const max = Math.max(1, ...bars.map((b) => b.value));
  const iw = w - pad.l - pad.r, ih = height - pad.t - pad.b;
  const bw = bars.length ? iw / bars.length : iw;
  const svg = s('svg', { viewBox: `0 0 ${w} ${height}`, role: 'img', 'aria-labelledby': `${id}-t ${id}-d`, class: 'chart', preserveAspectRatio: 'none' },
    s('title', { id: `${id}-t` }, title),
    s('desc', { id: `${id}-d` }, summary || ''));
  // grid and y labels: 0, max/2, max
  for (const f of [0, 0.5, 1]) {
    const y = pad.t + ih - ih * f;
    svg.appendChild(s('line', { x1: pad.l, x2: w - pad.r, y1: y, y2: y, class: 'grid' }));
    svg.appendChild(s('text', { x: pad.l - 4, y: y + 4, 'text-anchor': 'end', class: 'axis' }, fmt(max * f)));
  }
  bars.forEach((b, i) => {
    const bh = (b.value / max) * ih;
    const x = pad.l + i * bw + Math.min(1, bw * 0.15);
    const rect = s('rect', { x, y: pad.t + ih - bh, width: Math.max(1, bw - Math.min(2, bw * 0.3)), height: Math.max(0, bh), class: 'bar' },
      s('title', {}, `${b.label}: ${fmt(b.value)}`));
    svg.appendChild(rect);
  });
  // x labels: first, middle, last
  const marks = bars.length > 2 ? [0, Math.floor(bars.length / 2), bars.length - 1] : bars.map((_, i) => i);
  for (const i of marks) {
    const anchor = i === 0 ? 'start' : i === bars.length - 1 ? 'end' : 'middle';
    const x = anchor === 'start' ? pad.l : anchor === 'end' ? w - pad.r : pad.l + i * bw + bw / 2;
    svg.appendChild(s('text', { x, y: height - 6, 'text-anchor': anchor, class: 'axis' }, bars[i].label));
  }
  const table = h('table', { class: 'data' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'When'), h('th', { scope: 'col' }, 'Value'))),
    h('tbody', {}, bars.filter((b) => b.value).map((b) => h('tr', {}, h('td', {}, b.label), h('td', {}, fmt(b.value))))));
  return h('figure', { class: 'figure' }, h('figcaption', {}, title), svg,
    h('details', {}, h('summary', {}, 'Show the numbers'), table));
}

// a tiny line for a series of numbers (overview)
export function sparkline(values, label) {
  const w = 160, ht = 36;
  const max = Math.max(1, ...values);
  const pts = values.map((v, i) => `${values.length > 1 ? (i / (values.length - 1)) * w : w / 2},${ht - 2 - (v / max) * (ht - 4)}`).join(' ');
  return s('svg', { viewBox: `0 0 ${w} ${ht}`, class: 'spark', role: 'img', 'aria-label': label },
    s('polyline', { points: pts || `0,${ht - 2} ${w},${ht - 2}`, class: 'sparkline' }));
}

// events -> per-day buckets over the last `days` days ending today (local time)
export function byDay(events, days, valueOf) {
  const end = new Date();
  end.setHours(0, 0, 0, 0);
  const start = new Date(end);
  start.setDate(start.getDate() - (days - 1));
  const buckets = [];
  for (let i = 0; i < days; i++) {
    const d = new Date(start);
    d.setDate(start.getDate() + i);
    buckets.push({ label: d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' }), value: 0, t: d.getTime() });
  }
  for (const e of events) {
    const t = new Date(e.timestamp);
    if (isNaN(t)) continue;
    t.setHours(0, 0, 0, 0);
    const i = Math.round((t.getTime() - start.getTime()) / 86400000);
    if (i >= 0 && i < days) buckets[i].value += valueOf(e);
  }
  return buckets;
}
