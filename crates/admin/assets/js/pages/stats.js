// Statistics: counts now, throughput and failures by type over time, and the queue's lag
// (sampled by this page at every refresh).

import { api } from '../api.js';
import { h, replace, select } from '../dom.js';
import { lineChart, stackedBars } from '../charts.js';
import { duration, number, statusName } from '../format.js';
import { t } from '../i18n.js';

const WINDOWS = [
  ['1', 60, 'stats.window.1h'], ['6', 300, 'stats.window.6h'],
  ['24', 900, 'stats.window.24h'], ['168', 3600, 'stats.window.7d'],
];
const FAILURE_TYPES = ['business', 'application', 'network', 'system'];
const LAG_WINDOW_MS = 10 * 60 * 1000;

// Lag samples survive a visit to another page.
const lagSamples = [];

function tile(label, value, { test, tone, hint } = {}) {
  return h('div', { class: `tile${tone ? ` tile-${tone}` : ''}`, 'data-test': test },
    h('div', { class: 'tile-label' }, label),
    h('div', { class: 'tile-value' }, value),
    hint ? h('div', { class: 'tile-hint' }, hint) : null);
}

function barList(items, total, link) {
  if (items.length === 0) return h('p', { class: 'muted' }, t('stats.nothing'));
  return h('ul', { class: 'bar-list' }, items.map((item) => h('li', null,
    h('span', { class: 'bar-label' }, link ? h('a', { href: link(item) }, item.label) : item.label),
    h('span', { class: 'bar-track' }, h('span', {
      class: `bar-fill${item.tone ? ` ${item.tone}` : ''}`,
      style: { width: `${total ? Math.max(2, (100 * item.count) / total) : 0}%` },
    })),
    h('span', { class: 'bar-count' }, number(item.count)))));
}

export function statsPage() {
  let hours = '6';
  const tiles = h('div', { class: 'tiles', 'data-test': 'stat-tiles' });
  const warning = h('div', { class: 'notice notice-warning', hidden: true, 'data-test': 'orphaned-warning' });
  const throughput = h('div', { 'data-test': 'chart-throughput' });
  const failures = h('div', { 'data-test': 'chart-failures' });
  const lag = h('div', { 'data-test': 'chart-lag' });
  const byStatus = h('div');
  const byType = h('div');
  const byGroup = h('div');
  const byNode = h('div');
  const windowSelect = select(WINDOWS.map(([v, , key]) => [v, t(key)]), hours, {
    'data-test': 'stats-window',
    onchange: (event) => { hours = event.target.value; refresh(); },
  });
  const el = h('section', { class: 'page' },
    h('div', { class: 'page-header' }, h('h1', null, t('nav.stats')), windowSelect),
    warning, tiles,
    h('div', { class: 'grid-2' },
      h('section', { class: 'card' }, h('h2', null, t('stats.throughput')), throughput),
      h('section', { class: 'card' }, h('h2', null, t('stats.failures')), failures)),
    h('div', { class: 'grid-2' },
      h('section', { class: 'card' }, h('h2', null, t('stats.lag')), h('p', { class: 'muted small' }, t('stats.lagHelp')), lag),
      h('section', { class: 'card' }, h('h2', null, t('stats.byStatus')), byStatus)),
    h('div', { class: 'grid-3' },
      h('section', { class: 'card' }, h('h2', null, t('stats.byType')), byType),
      h('section', { class: 'card' }, h('h2', null, t('stats.byGroup')), byGroup),
      h('section', { class: 'card' }, h('h2', null, t('stats.byNode')), byNode)));

  async function refresh() {
    const bucket = WINDOWS.find(([v]) => v === hours)[1];
    const stats = await api('statistics', { query: { hours, bucketSeconds: bucket } });
    const now = Date.parse(stats.now);
    lagSamples.push({ t: now, v: stats.queueLagSeconds });
    while (lagSamples.length && lagSamples[0].t < now - 3 * LAG_WINDOW_MS) lagSamples.shift();

    const runs = stats.history.reduce((sum, b) => sum + b.runs, 0);
    const failed = stats.history.reduce((sum, b) => sum + Object.values(b.failed).reduce((a, c) => a + c, 0), 0);
    const running = stats.runningByNode.reduce((sum, n) => sum + n.count, 0);
    replace(tiles,
      tile(t('stats.total'), number(stats.total), { test: 'tile-total' }),
      tile(t('stats.due'), number(stats.due), { test: 'tile-due', hint: t('stats.dueHint') }),
      tile(t('stats.queueLag'), duration(stats.queueLagSeconds), { test: 'tile-lag', tone: stats.queueLagSeconds > 60 ? 'warning' : null }),
      tile(t('stats.runningNow'), number(running), { test: 'tile-running' }),
      tile(t('stats.runsInWindow'), number(runs), { hint: t('stats.failedInWindow', { n: number(failed) }) }),
      tile(t('stats.abandoned'), number(stats.abandoned), { tone: stats.abandoned ? 'danger' : null }),
      tile(t('stats.liveNodes'), number(stats.liveNodes), { tone: stats.liveNodes ? null : 'danger' }));

    warning.hidden = stats.orphanedTypes.length === 0;
    replace(warning, t('stats.orphaned', { n: number(stats.orphanedJobs), types: stats.orphanedTypes.join(', ') }), ' ',
      h('a', { href: '#/nodes' }, t('stats.seeNodes')));

    const from = Date.parse(stats.since);
    const bucketMs = stats.bucketSeconds * 1000;
    const buckets = stats.history.map((b) => {
      const failedTotal = Object.values(b.failed).reduce((a, c) => a + c, 0);
      const values = { succeeded: b.succeeded, failed: failedTotal, interrupted: b.interrupted };
      for (const [type, count] of Object.entries(b.failed)) {
        const key = FAILURE_TYPES.includes(type) ? type : 'other';
        values[key] = (values[key] || 0) + count;
      }
      return { start: Date.parse(b.start), values };
    });
    replace(throughput, stackedBars({
      buckets, from, to: now, bucketMs, label: t('stats.throughput'),
      series: [
        { key: 'succeeded', label: t('stats.s.succeeded') },
        { key: 'failed', label: t('stats.s.failed') },
        { key: 'interrupted', label: t('stats.s.interrupted') },
      ],
    }));
    replace(failures, stackedBars({
      buckets, from, to: now, bucketMs, label: t('stats.failures'),
      series: [...FAILURE_TYPES, 'other'].map((key) => ({ key, label: t(`failure.${key}`) })),
    }));
    replace(lag, lineChart({
      points: lagSamples, from: Math.max(now - LAG_WINDOW_MS, Math.min(now - 60000, lagSamples[0].t)), to: now, label: t('stats.lag'),
      format: (v) => duration(v), seriesLabel: t('stats.queueLag'),
    }));

    const statusItems = stats.byStatus.filter((s) => s.count > 0)
      .map((s) => ({ label: statusName(s.status), count: s.count, tone: `status-${s.name.toLowerCase()}`, status: s.status }));
    replace(byStatus, barList(statusItems, stats.total, (item) => `#/jobs?status=${item.status}`));
    replace(byType, barList(stats.byType.map((x) => ({ label: x.name, count: x.count })), stats.total,
      (item) => `#/jobs?type=${encodeURIComponent(item.label)}`));
    replace(byGroup, barList(stats.byGroup.map((x) => ({ label: x.name, count: x.count })), stats.total,
      (item) => `#/jobs?group=${encodeURIComponent(item.label)}`));
    replace(byNode, barList(stats.runningByNode.map((x) => ({ label: x.name, count: x.count })), running));
  }

  return { el, refresh };
}
