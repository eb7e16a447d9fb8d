// Codes, times and numbers as people read them, in the current locale.

import { h } from './dom.js';
import { intlLocale, t } from './i18n.js';

export const STATUSES = [
  [5, 'Queuing'], [10, 'Running'], [15, 'FailedRetry'], [20, 'Paused'],
  [30, 'Stopped'], [0, 'Completed'], [-1, 'None'],
];
export const KINDS = [[0, 'Once'], [1, 'Period'], [2, 'Persistent']];
export const PRIORITIES = [[5, 'Low'], [10, 'BelowNormal'], [15, 'Normal'], [20, 'AboveNormal'], [25, 'High']];
export const SOURCES = [[-1, 'None'], [0, 'User'], [10, 'System']];

function nameOf(list, code) {
  const found = list.find(([c]) => c === code);
  return found ? found[1] : String(code);
}

export const statusName = (code) => t(`status.${nameOf(STATUSES, code)}`);
export const kindName = (code) => t(`kind.${nameOf(KINDS, code)}`);
export const priorityName = (code) => t(`priority.${nameOf(PRIORITIES, code)}`);
export const sourceName = (code) => t(`source.${nameOf(SOURCES, code)}`);

/** A status badge; running and abandoned jobs say so. */
export function statusBadge(job) {
  const name = nameOf(STATUSES, job.status).toLowerCase();
  return h('span', { class: 'status-cell' },
    h('span', { class: `badge status-${name}`, 'data-test': 'status', 'data-status': job.status },
      statusName(job.status)),
    job.running ? h('span', { class: 'badge badge-running', 'data-test': 'running' },
      h('span', { class: 'live-dot' }), t('job.runningNow')) : null,
    job.isAbandoned ? h('span', { class: 'badge badge-danger-soft' }, t('job.abandoned')) : null);
}

/** A failure type name of the API (`Network`, `Business|Network`) in words. */
export function failureName(name) {
  if (!name) return '';
  return name.split('|').map((part) => t(`failure.${part.trim().toLowerCase()}`)).join(' + ');
}

/** A date and time, or a dash. */
export function dateTime(iso) {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(intlLocale(), { dateStyle: 'medium', timeStyle: 'medium' })
    .format(new Date(iso));
}

/** "in 5 min", "3 s ago", or a dash. */
export function relative(iso, now = Date.now()) {
  if (!iso) return '—';
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const format = new Intl.RelativeTimeFormat(intlLocale(), { numeric: 'auto', style: 'short' });
  const abs = Math.abs(seconds);
  if (abs < 60) return format.format(seconds, 'second');
  if (abs < 3600) return format.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return format.format(Math.round(seconds / 3600), 'hour');
  return format.format(Math.round(seconds / 86400), 'day');
}

/** A time shown relative, with the full time on hover. */
export function timeCell(iso) {
  return h('span', { title: iso ? dateTime(iso) : '' }, relative(iso));
}

/** A length of time in seconds, short. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 1) return t('unit.ms', { n: Math.round(seconds * 1000) });
  if (seconds < 60) return t('unit.s', { n: Math.round(seconds * 10) / 10 });
  if (seconds < 3600) return t('unit.min', { n: Math.round(seconds / 6) / 10 });
  if (seconds < 86400) return t('unit.h', { n: Math.round(seconds / 360) / 10 });
  return t('unit.d', { n: Math.round(seconds / 8640) / 10 });
}

/** A whole number with separators. */
export function number(n) {
  return new Intl.NumberFormat(intlLocale()).format(n ?? 0);
}

/** How a job is scheduled, in a few words. */
export function schedule(job) {
  if (job.jobType === 1) return job.cron || '—';
  if (job.jobType === 2) {
    const every = t('schedule.every', { d: duration(job.interval) });
    return job.maxCount > 0 ? `${every} × ${job.maxCount}` : every;
  }
  return t('kind.Once');
}

/** An ISO time as the value of a datetime-local input (local time). */
export function toLocalInput(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A datetime-local input's value as an ISO time (UTC), or empty. */
export function fromLocalInput(value) {
  if (!value) return '';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}
