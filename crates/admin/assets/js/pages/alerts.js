// Alerts (R51): pending, failed and delivered notifications of every job.

import { api } from '../api.js';
import { h, replace, select } from '../dom.js';
import { number, timeCell } from '../format.js';
import { t } from '../i18n.js';

export function alertsPage() {
  let state = 'pending';
  const body = h('tbody', { 'data-test': 'alerts' });
  const total = h('span', { class: 'count' });
  const stateSelect = select([
    ['pending', t('alerts.state.pending')], ['failed', t('alerts.state.failed')],
    ['delivered', t('alerts.state.delivered')], ['', t('alerts.all')],
  ], state, { 'data-test': 'alert-state', onchange: (event) => { state = event.target.value; refresh(); } });
  const el = h('section', { class: 'page' },
    h('div', { class: 'page-header' }, h('h1', null, t('nav.alerts'), total), stateSelect),
    h('p', { class: 'muted' }, t('alerts.help')),
    h('div', { class: 'table-wrap card' }, h('table', { class: 'table' },
      h('thead', null, h('tr', null,
        h('th', null, t('alerts.created')), h('th', null, t('alerts.job')), h('th', null, t('alerts.action')),
        h('th', null, t('alerts.kind')), h('th', null, t('alerts.state')), h('th', null, t('alerts.attempts')),
        h('th', null, t('alerts.next')), h('th', null, t('alerts.lastError')))),
      body)));

  async function refresh() {
    const page = await api('notifications', { query: { state, maxResultCount: 100 } });
    total.textContent = ` ${number(page.totalCount)}`;
    replace(body, page.items.length === 0
      ? h('tr', null, h('td', { colspan: 8, class: 'empty' }, t('alerts.none')))
      : page.items.map((n) => h('tr', null,
        h('td', null, timeCell(n.createdAt)),
        h('td', null, h('a', { href: `#/jobs/${encodeURIComponent(n.jobId)}` }, n.jobId)),
        h('td', null, n.action),
        h('td', null, t(`alerts.kind.${n.kind}`)),
        h('td', null, h('span', { class: `badge alert-${n.state}` }, t(`alerts.state.${n.state}`))),
        h('td', { class: 'num' }, number(n.attempts)),
        h('td', null, n.state === 'pending' ? timeCell(n.nextAttemptAt) : timeCell(n.finishedAt)),
        h('td', { class: 'ellipsis', title: n.lastError || '' }, n.lastError || '—'))));
  }

  return { el, refresh };
}
