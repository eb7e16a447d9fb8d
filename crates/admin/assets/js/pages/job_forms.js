// Forms in dialogs: create a job, edit a job's definition, add or edit an action.

import { api, jobPath } from '../api.js';
import { field, h, select } from '../dom.js';
import { confirmAction, showDialog, toast } from '../dialog.js';
import { KINDS, PRIORITIES, fromLocalInput, kindName, priorityName, toLocalInput } from '../format.js';
import { t } from '../i18n.js';

const REDACTED = '<redacted>';

function input(props) {
  return h('input', { type: 'text', ...props });
}

function numberInput(value, props = {}) {
  return h('input', { type: 'number', step: 1, value: value ?? '', ...props });
}

/** The JSON object in a textarea, or an error naming the field. */
function parseObject(text, label) {
  const trimmed = text.trim();
  if (!trimmed) return {};
  let value;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    throw new Error(t('form.badJson', { field: label, reason: error.message }));
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(t('form.notObject', { field: label }));
  }
  return value;
}

function optionalNumber(el) {
  return el.value === '' ? undefined : Number(el.value);
}

/** The dialog that creates a job. */
export function createJobDialog(definitions, ctx) {
  const id = input({ placeholder: t('form.idPlaceholder'), 'data-test': 'new-id' });
  const name = input({ 'data-test': 'new-name' });
  const group = input({ value: 'Default' });
  const type = definitions.length
    ? select(definitions.map((d) => [d.name, d.name]), definitions[0].name, { 'data-test': 'new-type' })
    : input({ 'data-test': 'new-type' });
  const kind = select(KINDS.map(([c]) => [c, kindName(c)]), 0, { 'data-test': 'new-kind' });
  const cron = input({ placeholder: '0 0/5 * * * ?' });
  const interval = numberInput(300, { min: 1 });
  const maxCount = numberInput(0, { min: 0 });
  const maxTry = numberInput(50, { min: 0 });
  const priority = select(PRIORITIES.map(([c]) => [c, priorityName(c)]), 15);
  const begin = h('input', { type: 'datetime-local' });
  const args = h('textarea', { rows: 4, placeholder: '{"invoice": 42}', class: 'mono' });
  const enabled = h('input', { type: 'checkbox', checked: true });
  const cronField = field(t('job.cron'), cron, t('form.cronHelp'));
  const intervalField = field(t('job.interval'), interval, t('form.seconds'));
  const sync = () => {
    cronField.hidden = kind.value !== '1';
    intervalField.hidden = kind.value === '1';
  };
  kind.addEventListener('change', sync);
  sync();
  showDialog({
    title: t('jobs.new'),
    test: 'new-job-dialog',
    wide: true,
    body: h('div', { class: 'form-grid' },
      field(t('job.id'), id), field(t('job.name'), name), field(t('job.group'), group),
      field(t('job.type'), type), field(t('job.kind'), kind), cronField, intervalField,
      field(t('job.maxCount'), maxCount), field(t('job.maxTries'), maxTry), field(t('job.priority'), priority),
      field(t('job.begin'), begin, t('form.beginHelp')),
      h('label', { class: 'field full' }, h('span', { class: 'field-label' }, t('job.args')), args),
      h('label', { class: 'toggle full' }, enabled, t('form.enabled'))),
    actions: [
      { label: t('action.cancel') },
      {
        label: t('action.create'), kind: 'primary', test: 'create',
        onClick: async () => {
          const body = {
            type: type.value.trim(), name: name.value.trim() || undefined, group: group.value.trim() || undefined,
            jobType: Number(kind.value), priority: Number(priority.value), maxTryCount: optionalNumber(maxTry),
            maxCount: optionalNumber(maxCount), args: parseObject(args.value, t('job.args')), isEnabled: enabled.checked,
          };
          if (id.value.trim()) body.id = id.value.trim();
          if (kind.value === '1') body.cron = cron.value.trim();
          else body.interval = optionalNumber(interval);
          if (begin.value) body.beginTime = fromLocalInput(begin.value);
          const job = await api('background-jobs', { method: 'POST', body });
          toast(t('done.created', { name: job.name }), 'success');
          ctx.navigate(`#/jobs/${encodeURIComponent(job.id)}`);
        },
      },
    ],
  });
}

/** The dialog that edits a job's definition (conditioned on the revision shown). */
export function editJobDialog(job, after) {
  const name = input({ value: job.name, 'data-test': 'edit-name' });
  const group = input({ value: job.group });
  const description = h('textarea', { rows: 2, value: job.description });
  const cron = input({ value: job.cron || '' });
  const interval = numberInput(job.interval, { min: 0 });
  const maxTry = numberInput(job.maxTryCount, { min: 0 });
  const maxCount = numberInput(job.maxCount, { min: 0 });
  const priority = select(PRIORITIES.map(([c]) => [c, priorityName(c)]), job.priority);
  const lock = numberInput(job.lockTimeOut, { min: 0 });
  const limit = numberInput(job.timeLimit ?? '', { min: 1 });
  const node = input({ value: job.nodeName || '', placeholder: t('job.anyNode') });
  const begin = h('input', { type: 'datetime-local', value: toLocalInput(job.beginTime) });
  const end = h('input', { type: 'datetime-local', value: toLocalInput(job.endTime) });
  const args = h('textarea', { rows: 5, class: 'mono', value: JSON.stringify(job.args, null, 2) });
  const beginShown = begin.value;
  const endShown = end.value;
  showDialog({
    title: t('form.editTitle', { name: job.name || job.id }),
    test: 'edit-dialog',
    wide: true,
    body: h('div', { class: 'form-grid' },
      field(t('job.name'), name), field(t('job.group'), group),
      job.jobType === 1 ? field(t('job.cron'), cron, t('form.cronHelp')) : field(t('job.interval'), interval, t('form.seconds')),
      field(t('job.priority'), priority), field(t('job.maxTries'), maxTry), field(t('job.maxCount'), maxCount),
      field(t('job.lockTimeout'), lock, t('form.seconds')), field(t('job.timeLimit'), limit, t('form.seconds')),
      field(t('job.node'), node), field(t('job.begin'), begin), field(t('job.end'), end),
      h('label', { class: 'field full' }, h('span', { class: 'field-label' }, t('job.description')), description),
      h('label', { class: 'field full' }, h('span', { class: 'field-label' }, t('job.args')), args)),
    actions: [
      { label: t('action.cancel') },
      {
        label: t('action.save'), kind: 'primary', test: 'save',
        onClick: async () => {
          const body = {
            revision: job.revision, name: name.value, group: group.value, description: description.value,
            priority: Number(priority.value), maxTryCount: optionalNumber(maxTry), maxCount: optionalNumber(maxCount),
            lockTimeOut: optionalNumber(lock), timeLimit: limit.value === '' ? null : Number(limit.value),
            nodeName: node.value.trim() || null, args: parseObject(args.value, t('job.args')),
          };
          if (job.jobType === 1 && cron.value.trim() !== (job.cron || '')) body.cron = cron.value.trim();
          if (job.jobType !== 1 && optionalNumber(interval) !== job.interval) body.interval = optionalNumber(interval);
          if (begin.value && begin.value !== beginShown) body.beginTime = fromLocalInput(begin.value);
          if (end.value !== endShown) body.endTime = end.value ? fromLocalInput(end.value) : null;
          try {
            await api(jobPath(job.id), { method: 'PUT', body });
          } catch (error) {
            if (error.status === 409) {
              toast(t('form.changedMeanwhile'), 'warning');
              await after();
              return true;
            }
            throw error;
          }
          toast(t('done.saved'), 'success');
          await after();
          return true;
        },
      },
    ],
  });
}

/** The dialog that adds (index null) or edits an action of a job. */
export function actionDialog(job, index, definitions, after) {
  const existing = index === null ? null : job.actions[index];
  const names = definitions.map((d) => [d.name, d.displayName || d.name]);
  const name = names.length
    ? select(names, existing ? existing.name : names[0][0], { 'data-test': 'action-name' })
    : input({ value: existing ? existing.name : '', 'data-test': 'action-name' });
  const fields = h('div', { class: 'form-grid' });
  const values = new Map();
  const renderFields = () => {
    fields.replaceChildren();
    values.clear();
    const definition = definitions.find((d) => d.name === name.value);
    const params = definition ? definition.parameters : [];
    for (const p of params) {
      const current = existing && existing.name === name.value ? existing.parameters[p.name] : undefined;
      const el = input({ value: current === undefined ? '' : String(current), required: p.required, 'data-test': `param-${p.name}` });
      values.set(p.name, el);
      fields.append(field(`${p.displayName || p.name}${p.required ? ' *' : ''}`, el, p.description));
    }
    const extra = existing && existing.name === name.value
      ? Object.fromEntries(Object.entries(existing.parameters).filter(([k]) => !values.has(k))) : {};
    const textarea = h('textarea', { rows: 3, class: 'mono', value: Object.keys(extra).length ? JSON.stringify(extra, null, 2) : '' });
    values.set('__extra', textarea);
    fields.append(h('label', { class: 'field full' }, h('span', { class: 'field-label' }, t('actions.extra')), textarea));
  };
  name.addEventListener('change', renderFields);
  renderFields();
  showDialog({
    title: existing ? t('actions.editTitle') : t('actions.add'),
    test: 'action-dialog',
    wide: true,
    body: h('div', null, field(t('actions.definition'), name), fields,
      h('p', { class: 'muted small' }, t('actions.redactedHelp', { marker: REDACTED }))),
    actions: [
      { label: t('action.cancel') },
      {
        label: t('action.save'), kind: 'primary', test: 'save-action',
        onClick: async () => {
          const parameters = parseObject(values.get('__extra').value, t('actions.extra'));
          for (const [key, el] of values) {
            if (key !== '__extra' && el.value.trim() !== '') parameters[key] = el.value.trim();
          }
          const body = { name: name.value.trim(), parameters, revision: job.revision };
          const path = `background-jobs/actions/${encodeURIComponent(job.id)}`;
          if (existing) await api(`${path}/${index}`, { method: 'PUT', body });
          else await api(path, { method: 'POST', body });
          toast(t('done.saved'), 'success');
          await after();
          return true;
        },
      },
    ],
  });
}

/** Asks, then removes action `index` of a job. */
export async function removeActionDialog(job, index, after) {
  const action = job.actions[index];
  const ok = await confirmAction({
    title: t('action.remove'),
    message: t('actions.confirmRemove', { name: action.name, job: job.name || job.id }),
    confirmLabel: t('action.remove'),
    danger: true,
  });
  if (!ok) return;
  try {
    await api(`background-jobs/actions/${encodeURIComponent(job.id)}/${index}`, { method: 'DELETE' });
    toast(t('done.saved'), 'success');
  } catch (error) {
    toast(error.message, 'error');
  }
  await after();
}
