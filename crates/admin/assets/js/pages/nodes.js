// The nodes sharing the store — heartbeats, health, job types, runs in flight — and the
// due jobs no live node can run.

import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { dateTime, duration, number, statusBadge, timeCell } from '../format.js';
import { t } from '../i18n.js';

function loopRow(loop, now) {
  const age = loop.lastIteration ? (now - Date.parse(loop.lastIteration)) / 1000 : null;
  return h('tr', null,
    h('td', null, t(`loop.${String(loop.name).replace(/[\s_-]/g, '').toLowerCase()}`)),
    h('td', null, age === null ? t('nodes.never') : t('nodes.ago', { d: duration(Math.max(0, age)) })),
    h('td', { class: `num${loop.panics ? ' warn' : ''}` }, number(loop.panics)));
}

function nodeCard(node, now) {
  const health = (node.info && node.info.health) || {};
  const store = health.storeReachable === false
    ? h('span', { class: 'badge status-stopped' }, t('nodes.storeDown'))
    : health.storeReachable ? h('span', { class: 'badge status-completed' }, t('nodes.storeOk')) : '—';
  return h('section', { class: `card node-card${node.live ? '' : ' node-dead'}`, 'data-test': 'node', 'data-node': node.name },
    h('div', { class: 'card-header' },
      h('h2', null, node.name),
      h('span', { class: `badge ${node.live ? 'status-completed' : 'status-stopped'}` }, node.live ? t('nodes.live') : t('nodes.silent')),
      node.thisNode ? h('span', { class: 'badge badge-soft' }, t('nodes.thisNode')) : null),
    h('dl', { class: 'facts' },
      h('dt', null, t('nodes.heartbeat')), h('dd', null, t('nodes.ago', { d: duration(node.heartbeatAgeSeconds) }), h('span', { class: 'muted' }, ` · ${dateTime(node.lastHeartbeat)}`)),
      h('dt', null, t('nodes.started')), h('dd', null, timeCell(node.startedAt)),
      h('dt', null, t('nodes.running')), h('dd', null, `${number(node.running)} / ${number((node.info && node.info.workers) || 0)}`),
      h('dt', null, t('nodes.state')), h('dd', null, (node.info && node.info.state) || '—'),
      h('dt', null, t('nodes.store')), h('dd', null, store, health.storeError ? h('div', { class: 'muted small' }, health.storeError) : null)),
    Array.isArray(health.loops) ? h('table', { class: 'table compact' },
      h('thead', null, h('tr', null, h('th', null, t('nodes.loop')), h('th', null, t('nodes.lastIteration')), h('th', null, t('nodes.panics')))),
      h('tbody', null, health.loops.map((loop) => loopRow(loop, now)))) : null,
    h('div', { class: 'type-chips' }, h('span', { class: 'muted small' }, t('nodes.jobTypes')),
      node.jobTypes.map((type) => h('code', { class: 'type-chip' }, type))));
}

export function nodesPage() {
  const cards = h('div', { class: 'grid-2', 'data-test': 'nodes' });
  const orphans = h('tbody', { 'data-test': 'orphaned-jobs' });
  const types = h('div', { class: 'type-chips' });
  const el = h('section', { class: 'page' },
    h('div', { class: 'page-header' }, h('h1', null, t('nav.nodes'))),
    cards,
    h('section', { class: 'card' },
      h('h2', null, t('nodes.orphanedTitle')),
      h('p', { class: 'muted small' }, t('nodes.orphanedHelp')),
      types,
      h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
        h('thead', null, h('tr', null, h('th', null, t('jobs.col.name')), h('th', null, t('jobs.col.type')),
          h('th', null, t('jobs.col.status')), h('th', null, t('jobs.col.group')), h('th', null, t('nodes.dueSince')))),
        orphans))));

  async function refresh() {
    const [nodes, orphaned] = await Promise.all([api('nodes'), api('orphaned-jobs')]);
    const now = Date.now();
    replace(cards, nodes.items.length
      ? nodes.items.map((node) => nodeCard(node, now))
      : h('p', { class: 'muted' }, t('nodes.none')));
    replace(types, orphaned.types.map((x) => h('code', { class: 'type-chip warn' }, `${x.name} × ${x.count}`)));
    replace(orphans, orphaned.items.length === 0
      ? h('tr', null, h('td', { colspan: 5, class: 'empty' }, t('nodes.noOrphans')))
      : orphaned.items.map((job) => h('tr', null,
        h('td', null, h('a', { href: `#/jobs/${encodeURIComponent(job.id)}` }, job.name || job.id)),
        h('td', null, h('code', null, job.type)),
        h('td', null, statusBadge({ status: job.status })),
        h('td', null, job.group),
        h('td', null, timeCell(job.nextRunTime)))));
  }

  return { el, refresh };
}
