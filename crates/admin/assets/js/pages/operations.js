// Operations on jobs, each after a confirmation: one job, or many (a bulk operation with
// its report of what changed and what was refused).

import { api, jobPath } from '../api.js';
import { h } from '../dom.js';
import { confirmAction, showDialog, toast } from '../dialog.js';
import { number, statusName } from '../format.js';
import { t } from '../i18n.js';

const DANGER = new Set(['stop', 'delete']);

/** Asks, then applies `operation` to one job; `after` runs when it changed. */
export async function singleOperation(job, operation, after) {
  const name = job.name || job.id;
  const ok = await confirmAction({
    title: t(`action.${operation}`),
    message: t(`confirm.${operation}`, { name }),
    confirmLabel: t(`action.${operation}`),
    danger: DANGER.has(operation),
  });
  if (!ok) return false;
  try {
    if (operation === 'delete') {
      await api(jobPath(job.id), { method: 'DELETE' });
    } else {
      await api(jobPath(job.id, `/${operation}`), { method: 'PUT' });
    }
    toast(t('done.single', { action: t(`action.${operation}`), name }), 'success');
    if (after) await after();
    return true;
  } catch (error) {
    const now = error.current ? ` (${t('job.nowStatus', { status: statusName(error.current.status) })})` : '';
    toast(`${error.message}${now}`, 'error');
    if (after) await after();
    return false;
  }
}

/** Asks, then applies a bulk operation; shows what was refused. */
export async function bulkOperation(route, label, body, count, allMatching, session) {
  const limit = session ? session.bulkLimit : 1000;
  const message = allMatching
    ? t('confirm.bulkFilter', { action: label, n: number(count), limit: number(limit) })
    : t('confirm.bulkIds', { action: label, n: number(count) });
  const ok = await confirmAction({ title: label, message, confirmLabel: label, danger: route === 'bulk-delete' || route === 'bulk-stop' });
  if (!ok) return false;
  let report;
  try {
    report = await api(`background-jobs/${route}`, { method: route === 'bulk-delete' ? 'DELETE' : 'PUT', body });
  } catch (error) {
    toast(error.message, 'error');
    return false;
  }
  const summary = t('done.bulk', { action: label, changed: number(report.changed), refused: number(report.refused.length) });
  toast(summary, report.refused.length ? 'warning' : 'success');
  if (report.refused.length || report.remaining) {
    showDialog({
      title: summary,
      test: 'bulk-report',
      wide: true,
      body: h('div', null,
        report.remaining ? h('p', { class: 'notice' }, t('bulk.remaining', { n: number(report.remaining) })) : null,
        report.refused.length ? h('table', { class: 'table compact' },
          h('thead', null, h('tr', null, h('th', null, t('bulk.job')), h('th', null, t('bulk.reason')))),
          h('tbody', null, report.refused.map((r) => h('tr', null,
            h('td', null, h('a', { href: `#/jobs/${encodeURIComponent(r.id)}` }, r.id)),
            h('td', null, r.reason))))) : null),
      actions: [{ label: t('action.close'), kind: 'primary' }],
    });
  }
  return true;
}
