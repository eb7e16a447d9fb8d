// A job's page: its state and definition, operations (each confirmed), run history with
// errors, actions (the failure e-mail and other notifiers) and its alerts.

import { api, jobPath } from '../api.js';
import { button, h, replace } from '../dom.js';
import { showDialog } from '../dialog.js';
import { dateTime, duration, failureName, kindName, number, priorityName, schedule, sourceName,
  statusBadge, statusName, timeCell } from '../format.js';
import { t } from '../i18n.js';
import { singleOperation } from './operations.js';
import { actionDialog, editJobDialog, removeActionDialog } from './job_forms.js';

function row(label, ...value) {
  return [h('dt', null, label), h('dd', null, ...value)];
}

function pre(text, test, error = false) {
  return h('pre', { class: `pre${error ? ' pre-error' : ''}`, 'data-test': test }, text);
}

/** The outcome of a run log as a badge. */
function outcome(log) {
  if (!log.exception) return h('span', { class: 'badge status-completed' }, t('log.succeeded'));
  if (!log.exceptionType) return h('span', { class: 'badge status-paused' }, t('log.interrupted'));
  return h('span', { class: 'badge status-stopped' }, t('log.failed', { type: failureName(log.exceptionType) }));
}

/** Opens a run log in a dialog. */
export async function openLog(id) {
  const log = await api(`background-jobs/logs/${id}`);
  showDialog({
    title: t('log.title', { id: log.id }),
    test: 'log-dialog',
    wide: true,
    body: h('div', null,
      h('dl', { class: 'facts' },
        row(t('log.job'), h('a', { href: `#/jobs/${encodeURIComponent(log.jobId)}` }, log.jobName || log.jobId)),
        row(t('log.outcome'), outcome(log)),
        row(t('log.runTime'), dateTime(log.runTime)),
        row(t('log.duration'), duration(log.durationMs / 1000)),
        row(t('log.node'), log.node),
        row(t('log.message'), log.message || '—')),
      log.exception ? h('div', null, h('h3', null, t('log.exception')), pre(log.exception, 'log-exception', true)) : null),
    actions: [{ label: t('action.close'), kind: 'primary', test: 'close-log' }],
  });
}

export function jobPage(ctx, route) {
  const id = route.id;
  let job = null;
  let definitions = [];
  let errorsOnly = false;
  let logLimit = 20;

  const title = h('h1', null, id);
  const subtitle = h('div', { class: 'sub' });
  const badge = h('span', { 'data-test': 'job-status' });
  const operations = h('div', { class: 'operations', 'data-test': 'operations' });
  const state = h('dl', { class: 'facts', 'data-test': 'job-state' });
  const definition = h('dl', { class: 'facts' });
  const args = h('div');
  const logsBody = h('tbody', { 'data-test': 'run-history' });
  const logsMore = h('div', { class: 'more' });
  const actionsList = h('div', { class: 'actions-list', 'data-test': 'actions' });
  const alerts = h('tbody', { 'data-test': 'job-alerts' });
  const missing = h('div', { class: 'notice', hidden: true });

  const reload = () => refresh();
  const op = (name) => button(t(`action.${name}`), () => singleOperation(job, name, reload), {
    kind: name === 'delete' || name === 'stop' ? 'danger' : name === 'trigger' ? 'primary' : 'secondary',
    test: `op-${name}`,
  });

  const renderOperations = () => {
    if (!ctx.canOperate || !job) { replace(operations); return; }
    const active = [5, 10, 15].includes(job.status);
    replace(operations,
      op('trigger'),
      job.status === 20 ? op('resume') : active ? op('pause') : null,
      job.status === 30 ? op('start') : job.status !== 0 ? op('stop') : null,
      job.status === 30 || job.isAbandoned ? op('retry') : null,
      button(t('action.edit'), () => editJobDialog(job, reload), { test: 'op-edit' }),
      job.status === 30 ? op('delete') : null);
  };

  const renderJob = () => {
    title.textContent = job.name || job.id;
    replace(subtitle, h('code', null, job.id), ' · ', h('code', null, job.type), ' · ', job.group);
    replace(badge, statusBadge(job));
    renderOperations();
    replace(state,
      row(t('job.status'), statusName(job.status), job.isAbandoned ? ` · ${t('job.abandoned')}` : ''),
      row(t('job.running'), job.running
        ? t('job.runningOn', { node: job.lease.node, expires: dateTime(job.lease.expiresAt) }) : t('no')),
      job.interrupt ? row(t('job.interrupt'), job.interrupt) : null,
      job.triggered ? row(t('job.triggered'), t('job.triggeredHelp')) : null,
      row(t('job.nextRun'), timeCell(job.nextRunTime), job.nextRunTime ? h('span', { class: 'muted' }, ` · ${dateTime(job.nextRunTime)}`) : null),
      row(t('job.lastRun'), timeCell(job.lastRunTime)),
      row(t('job.runs'), h('span', { 'data-test': 'trigger-count' }, number(job.triggerCount))),
      row(t('job.tries'), `${job.tryCount} / ${job.maxTryCount || '∞'}`),
      row(t('job.attempts'), `${number(job.attempts)} · ${t('job.rescues', { n: job.rescues })}`),
      row(t('job.result'), job.result ? pre(job.result) : '—'));
    replace(definition,
      row(t('job.kind'), kindName(job.jobType)),
      row(t('job.schedule'), h('code', null, schedule(job))),
      row(t('job.priority'), priorityName(job.priority)),
      row(t('job.interval'), duration(job.interval)),
      row(t('job.begin'), dateTime(job.beginTime)),
      row(t('job.end'), dateTime(job.endTime)),
      row(t('job.maxCount'), job.maxCount || '∞'),
      row(t('job.lockTimeout'), job.lockTimeOut ? duration(job.lockTimeOut) : t('none')),
      row(t('job.timeLimit'), job.timeLimit ? duration(job.timeLimit) : t('none')),
      row(t('job.node'), job.nodeName || t('job.anyNode')),
      row(t('job.source'), sourceName(job.source)),
      row(t('job.created'), dateTime(job.creationTime)),
      row(t('job.revision'), String(job.revision)),
      job.description ? row(t('job.description'), job.description) : null);
    replace(args, h('h3', null, t('job.args')), pre(JSON.stringify(job.args, null, 2)));
    const definitionOf = (name) => definitions.find((d) => d.name === name);
    replace(actionsList,
      job.actions.length === 0 ? h('p', { class: 'muted' }, t('actions.none')) : null,
      job.actions.map((action) => {
        const known = definitionOf(action.name);
        return h('div', { class: 'action-item', 'data-test': 'action' },
          h('div', { class: 'action-head' },
            h('strong', null, known ? known.displayName : action.name),
            known ? h('span', { class: 'badge badge-soft' }, t(`actions.type.${known.type}`)) : null,
            h('code', { class: 'muted' }, `#${action.index} · ${action.name}`),
            h('span', { class: 'spacer' }),
            ctx.canOperate ? button(t('action.edit'), () => actionDialog(job, action.index, definitions, reload), { small: true, kind: 'ghost' }) : null,
            ctx.canOperate ? button(t('action.remove'), () => removeActionDialog(job, action.index, reload), { small: true, kind: 'ghost' }) : null),
          h('dl', { class: 'facts compact' },
            Object.entries(action.parameters).map(([key, value]) => row(key, typeof value === 'string' ? value : JSON.stringify(value)))));
      }),
      ctx.canOperate ? button(t('actions.add'), () => actionDialog(job, null, definitions, reload), { small: true, test: 'add-action' }) : null);
  };

  const renderLogs = (page) => {
    if (page.items.length === 0) {
      replace(logsBody, h('tr', null, h('td', { colspan: 5, class: 'empty' }, t('log.none'))));
    } else {
      replace(logsBody, page.items.map((log) => h('tr', {
        class: `clickable${log.exception ? ' has-error' : ''}`, 'data-log-id': log.id, tabindex: 0,
        onclick: () => openLog(log.id), onkeydown: (e) => { if (e.key === 'Enter') openLog(log.id); },
      },
      h('td', null, timeCell(log.runTime)),
      h('td', null, outcome(log)),
      h('td', { class: 'num' }, duration(log.durationMs / 1000)),
      h('td', null, log.node),
      h('td', { class: 'ellipsis' }, (log.exception || log.message || '').split('\n')[0]))));
    }
    replace(logsMore, page.totalCount > page.items.length
      ? button(t('log.more', { n: number(page.totalCount - page.items.length) }), () => { logLimit += 50; refresh(); }, { small: true, kind: 'ghost' })
      : null);
  };

  const renderAlerts = (page) => {
    if (page.items.length === 0) {
      replace(alerts, h('tr', null, h('td', { colspan: 6, class: 'empty' }, t('alerts.none'))));
      return;
    }
    replace(alerts, page.items.map((n) => h('tr', null,
      h('td', null, timeCell(n.createdAt)),
      h('td', null, n.action),
      h('td', null, t(`alerts.kind.${n.kind}`)),
      h('td', null, h('span', { class: `badge alert-${n.state}` }, t(`alerts.state.${n.state}`))),
      h('td', { class: 'num' }, number(n.attempts)),
      h('td', { class: 'ellipsis' }, n.lastError || '—'))));
  };

  const errorsToggle = h('label', { class: 'toggle' },
    h('input', { type: 'checkbox', 'data-test': 'errors-only', onchange: (e) => { errorsOnly = e.target.checked; refresh(); } }),
    t('log.errorsOnly'));

  const content = h('div', { class: 'job-content' },
    h('div', { class: 'grid-2' },
      h('section', { class: 'card' }, h('h2', null, t('job.stateTitle')), state),
      h('section', { class: 'card' }, h('h2', null, t('job.definitionTitle')), definition, args)),
    h('section', { class: 'card' },
      h('div', { class: 'card-header' }, h('h2', null, t('log.title.list')), errorsToggle),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
        h('thead', null, h('tr', null,
          h('th', null, t('log.runTime')), h('th', null, t('log.outcome')), h('th', null, t('log.duration')),
          h('th', null, t('log.node')), h('th', null, t('log.message')))),
        logsBody)),
      logsMore),
    h('div', { class: 'grid-2' },
      h('section', { class: 'card' }, h('h2', null, t('actions.title')), h('p', { class: 'muted small' }, t('actions.help')), actionsList),
      h('section', { class: 'card' }, h('h2', null, t('alerts.titleJob')),
        h('div', { class: 'table-wrap' }, h('table', { class: 'table compact' },
          h('thead', null, h('tr', null, h('th', null, t('alerts.created')), h('th', null, t('alerts.action')),
            h('th', null, t('alerts.kind')), h('th', null, t('alerts.state')), h('th', null, t('alerts.attempts')),
            h('th', null, t('alerts.lastError')))),
          alerts)))));

  const el = h('section', { class: 'page' },
    h('nav', { class: 'breadcrumb' }, h('a', { href: '#/jobs', 'data-test': 'back' }, t('nav.jobs')), ' / ', h('span', null, id)),
    h('div', { class: 'page-header' }, h('div', null, h('div', { class: 'title-row' }, title, badge), subtitle), operations),
    missing, content);

  api('background-jobs/actions/definitions').then((list) => { definitions = list.items; if (job) renderJob(); }).catch(() => {});

  async function refresh() {
    try {
      job = await api(jobPath(id));
    } catch (error) {
      if (error.status === 404) {
        missing.hidden = false;
        replace(missing, t('job.missing', { id }), ' ', h('a', { href: '#/jobs' }, t('job.backToList')));
        content.hidden = true;
        replace(operations);
        return;
      }
      throw error;
    }
    missing.hidden = true;
    content.hidden = false;
    const [logs, notifications] = await Promise.all([
      api('background-jobs/logs', { query: { jobId: id, maxResultCount: logLimit, hasExceptions: errorsOnly ? 'true' : '' } }),
      api('notifications', { query: { jobId: id, maxResultCount: 20 } }),
    ]);
    renderJob();
    renderLogs(logs);
    renderAlerts(notifications);
  }

  return { el, refresh };
}
