// Charts drawn as inline SVG: stacked bars over time, and a line. Colours come from CSS
// classes (`series-<key>`), so the page's style sheet decides them.

import { h, svg } from './dom.js';
import { intlLocale } from './i18n.js';
import { number } from './format.js';

const WIDTH = 720;
const HEIGHT = 220;
const PAD = { left: 44, right: 12, top: 12, bottom: 26 };

/** A round top for the axis: four steps of 1, 2 or 5 × 10^k (at least 1 each). */
function niceMax(value) {
  const rough = Math.max(value, 1e-9) / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  for (const step of [1, 2, 5, 10]) {
    if (step * magnitude >= rough) return Math.max(4, 4 * step * magnitude);
  }
  return 40 * magnitude;
}

function timeLabel(ms, spanMs) {
  let options = { hour: '2-digit', minute: '2-digit' };
  if (spanMs > 2 * 86400e3) options = { month: 'short', day: 'numeric', hour: '2-digit' };
  else if (spanMs < 15 * 60e3) options = { hour: '2-digit', minute: '2-digit', second: '2-digit' };
  return new Intl.DateTimeFormat(intlLocale(), options).format(new Date(ms));
}

function frame(maxValue, from, to, yFormat) {
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const parts = [];
  for (let i = 0; i <= 4; i += 1) {
    const y = PAD.top + plotHeight - (plotHeight * i) / 4;
    parts.push(svg('line', { class: 'grid', x1: PAD.left, x2: WIDTH - PAD.right, y1: y, y2: y }));
    parts.push(svg('text', { class: 'axis', x: PAD.left - 6, y: y + 4, 'text-anchor': 'end' },
      yFormat((maxValue * i) / 4)));
  }
  const span = to - from;
  for (let i = 0; i <= 5; i += 1) {
    const x = PAD.left + (plotWidth * i) / 5;
    parts.push(svg('text', { class: 'axis', x, y: HEIGHT - 8, 'text-anchor': i === 0 ? 'start' : i === 5 ? 'end' : 'middle' },
      timeLabel(from + (span * i) / 5, span)));
  }
  return { parts, plotHeight, plotWidth };
}

/**
 * Stacked bars: `buckets` are [{start (ms), values: {key: n}}] within [from, to) in
 * stretches of `bucketMs`; `series` are [{key, label}] bottom first.
 */
export function stackedBars({ buckets, series, from, to, bucketMs, label }) {
  const totals = buckets.map((b) => series.reduce((sum, s) => sum + (b.values[s.key] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const { parts, plotHeight, plotWidth } = frame(max, from, to, (v) => number(Math.round(v)));
  const count = Math.max(1, Math.round((to - from) / bucketMs));
  const slot = plotWidth / count;
  const barWidth = Math.max(1, slot * 0.8);
  for (const bucket of buckets) {
    const index = Math.floor((bucket.start - from) / bucketMs);
    if (index < 0 || index >= count) continue;
    let y = PAD.top + plotHeight;
    for (const s of series) {
      const value = bucket.values[s.key] || 0;
      if (!value) continue;
      const height = (plotHeight * value) / max;
      y -= height;
      parts.push(svg('rect', {
        class: `bar series-${s.key}`,
        x: PAD.left + index * slot + (slot - barWidth) / 2,
        y,
        width: barWidth,
        height,
      }, svg('title', null, `${timeLabel(bucket.start, to - from)} · ${s.label}: ${number(value)}`)));
    }
  }
  return chart(label, parts, series);
}

/** A line over time: `points` are [{t (ms), v}]. */
export function lineChart({ points, from, to, label, format, seriesKey = 'lag', seriesLabel }) {
  const max = niceMax(Math.max(0, ...points.map((p) => p.v)));
  const { parts, plotHeight, plotWidth } = frame(max, from, to, format);
  const x = (time) => PAD.left + ((time - from) / (to - from || 1)) * plotWidth;
  const y = (value) => PAD.top + plotHeight - (plotHeight * value) / max;
  const inRange = points.filter((p) => p.t >= from && p.t <= to);
  if (inRange.length > 0) {
    const path = inRange.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
    const area = `${path} L${x(inRange[inRange.length - 1].t).toFixed(1)},${y(0)} L${x(inRange[0].t).toFixed(1)},${y(0)} Z`;
    parts.push(svg('path', { class: `area series-${seriesKey}`, d: area }));
    parts.push(svg('path', { class: `line series-${seriesKey}`, d: path }));
    const last = inRange[inRange.length - 1];
    parts.push(svg('circle', { class: `dot series-${seriesKey}`, cx: x(last.t), cy: y(last.v), r: 3 },
      svg('title', null, format(last.v))));
  }
  return chart(label, parts, [{ key: seriesKey, label: seriesLabel || label }]);
}

function chart(label, parts, series) {
  return h('figure', { class: 'chart' },
    svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': label }, parts),
    h('figcaption', { class: 'legend' },
      series.map((s) => h('span', { class: 'legend-item' },
        h('span', { class: `swatch series-${s.key}` }), s.label))));
}
