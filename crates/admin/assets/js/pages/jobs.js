// The jobs list: counts per status, filters, sorting, paging, selection and bulk actions
// on the selection or on everything the filter matches.

import { api } from '../api.js';
import { button, debounce, field, h, replace, select } from '../dom.js';
import { confirmAction } from '../dialog.js';
import { KINDS, PRIORITIES, SOURCES, STATUSES, fromLocalInput, kindName, number, priorityName,
  schedule, sourceName, statusBadge, statusName, timeCell, toLocalInput } from '../format.js';
import { t } from '../i18n.js';
import { bulkOperation, singleOperation } from './operations.js';
import { createJobDialog } from './job_forms.js';

const TEXT_FILTERS = ['filter', 'group', 'type', 'nodeName'];
const CHOICE_FILTERS = ['jobType', 'isAbandoned', 'priority', 'source', 'running'];
const TIME_FILTERS = ['beginTime', 'endTime', 'beginCreationTime', 'endCreationTime',
  'beginLastRunTime', 'endLastRunTime'];
const COLUMNS = [
  ['name', 'jobs.col.name'], ['status', 'jobs.col.status'], ['type', 'jobs.col.type'],
  ['group', 'jobs.col.group'], [null, 'jobs.col.schedule'], ['nextRunTime', 'jobs.col.nextRun'],
  ['lastRunTime', 'jobs.col.lastRun'], ['triggerCount', 'jobs.col.runs'],
  ['tryCount', 'jobs.col.tries'], ['priority', 'jobs.col.priority'],
];
const BULK = [
  ['bulk-pause', 'action.pause'], ['bulk-resume', 'action.resume'], ['bulk-trigger', 'action.trigger'],
  ['bulk-stop', 'action.stop'], ['bulk-start', 'action.start'], ['bulk-retry', 'action.retry'],
  ['bulk-delete', 'action.delete'],
];

/** The list's state from the URL's query. */
function readParams(params) {
  const filters = {};
  for (const key of [...TEXT_FILTERS, ...CHOICE_FILTERS, ...TIME_FILTERS]) {
    if (params.get(key)) filters[key] = params.get(key);
  }
  const status = params.get('status');
  return {
    filters,
    status: status ? status.split(',').map(Number) : [],
    sorting: params.get('sorting') || 'creationTime desc',
    skip: Number(params.get('skip')) || 0,
    size: Number(params.get('size')) || 20,
  };
}

export function jobsPage(ctx, route) {
  const view = readParams(route.params);
  const selected = new Set();
  let allMatching = false;
  let lastPage = { items: [], totalCount: 0 };
  let definitions = [];

  const filterObject = () => {
    const object = { ...view.filters };
    if (view.status.length) object.status = view.status;
    return object;
  };
  const syncUrl = () => {
    const params = new URLSearchParams(view.filters);
    if (view.status.length) params.set('status', view.status.join(','));
    if (view.sorting !== 'creationTime desc') params.set('sorting', view.sorting);
    if (view.skip) params.set('skip', view.skip);
    if (view.size !== 20) params.set('size', view.size);
    const query = params.toString();
    ctx.navigate(`#/jobs${query ? `?${query}` : ''}`, { replace: true });
  };
  const changed = () => {
    view.skip = 0;
    selected.clear();
    allMatching = false;
    syncUrl();
    refresh();
  };
  const setFilter = (key, value) => {
    if (value === '' || value === null || value === undefined) delete view.filters[key];
    else view.filters[key] = value;
    changed();
  };

  // Status chips with counts.
  const chips = h('div', { class: 'chips', 'data-test': 'status-chips' });
  const renderChips = (stats) => {
    const counts = new Map((stats ? stats.byStatus : []).map((s) => [s.status, s.count]));
    replace(chips,
      h('button', {
        type: 'button',
        class: `chip${view.status.length === 0 ? ' active' : ''}`,
        onclick: () => { view.status = []; changed(); },
      }, t('jobs.all'), h('span', { class: 'chip-count' }, number(stats ? stats.total : 0))),
      STATUSES.map(([code, name]) => h('button', {
        type: 'button',
        class: `chip chip-${name.toLowerCase()}${view.status.includes(code) ? ' active' : ''}`,
        'data-test': `chip-${code}`,
        onclick: () => {
          view.status = view.status.includes(code)
            ? view.status.filter((c) => c !== code) : [...view.status, code];
          changed();
        },
      }, statusName(code), h('span', { class: 'chip-count' }, number(counts.get(code) || 0)))));
  };

  // Filters.
  const search = h('input', {
    type: 'search', class: 'search', placeholder: t('jobs.searchPlaceholder'),
    value: view.filters.filter || '', 'data-test': 'filter-text',
    oninput: debounce((event) => setFilter('filter', event.target.value.trim()), 300),
  });
  const textInput = (key, placeholder, test) => h('input', {
    type: 'text', placeholder, value: view.filters[key] || '', 'data-test': test,
    onchange: (event) => setFilter(key, event.target.value.trim()),
  });
  const typeSelect = select([['', t('jobs.anyType')]], view.filters.type || '', {
    'data-test': 'filter-type', onchange: (event) => setFilter('type', event.target.value),
  });
  const choice = (key, options, anyLabel, test) => select([['', anyLabel], ...options],
    view.filters[key] || '', { 'data-test': test, onchange: (event) => setFilter(key, event.target.value) });
  const timeInput = (key) => h('input', {
    type: 'datetime-local', value: toLocalInput(view.filters[key]),
    onchange: (event) => setFilter(key, fromLocalInput(event.target.value)),
  });
  const more = h('div', { class: 'filter-more', hidden: !TIME_FILTERS.concat(['priority', 'source', 'nodeName', 'running']).some((k) => view.filters[k]) },
    field(t('jobs.f.priority'), choice('priority', PRIORITIES.map(([c]) => [c, priorityName(c)]), t('jobs.any'))),
    field(t('jobs.f.source'), choice('source', SOURCES.map(([c]) => [c, sourceName(c)]), t('jobs.any'))),
    field(t('jobs.f.node'), textInput('nodeName', t('jobs.f.nodePlaceholder'))),
    field(t('jobs.f.running'), choice('running', [['true', t('yes')], ['false', t('no')]], t('jobs.any'))),
    field(t('jobs.f.beginFrom'), timeInput('beginTime')),
    field(t('jobs.f.endUntil'), timeInput('endTime')),
    field(t('jobs.f.createdFrom'), timeInput('beginCreationTime')),
    field(t('jobs.f.createdUntil'), timeInput('endCreationTime')),
    field(t('jobs.f.lastRunFrom'), timeInput('beginLastRunTime')),
    field(t('jobs.f.lastRunUntil'), timeInput('endLastRunTime')));
  const toolbar = h('div', { class: 'filters' },
    search,
    textInput('group', t('jobs.f.group'), 'filter-group'),
    typeSelect,
    choice('jobType', KINDS.map(([c]) => [c, kindName(c)]), t('jobs.anyKind'), 'filter-kind'),
    choice('isAbandoned', [['true', t('jobs.abandonedOnly')], ['false', t('jobs.notAbandoned')]], t('jobs.anyAbandoned'), 'filter-abandoned'),
    button(t('jobs.moreFilters'), () => { more.hidden = !more.hidden; }, { kind: 'ghost', small: true }),
    button(t('jobs.clearFilters'), () => {
      view.filters = {};
      view.status = [];
      view.skip = 0;
      syncUrl();
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    }, { kind: 'ghost', small: true, test: 'clear-filters' }));

  // Selection bar and bulk actions.
  const selectionBar = h('div', { class: 'selection-bar', hidden: true, 'data-test': 'selection-bar' });
  const renderSelection = () => {
    const count = allMatching ? lastPage.totalCount : selected.size;
    selectionBar.hidden = count === 0 || !ctx.canOperate;
    if (selectionBar.hidden) return;
    const pageAllSelected = lastPage.items.length > 0 && lastPage.items.every((j) => selected.has(j.id));
    replace(selectionBar,
      h('span', { class: 'selection-count', 'data-test': 'selection-count' },
        allMatching ? t('jobs.allMatchingSelected', { n: number(count) }) : t('jobs.selected', { n: number(count) })),
      !allMatching && pageAllSelected && lastPage.totalCount > selected.size
        ? button(t('jobs.selectAllMatching', { n: number(lastPage.totalCount) }), () => { allMatching = true; renderSelection(); },
          { kind: 'link', test: 'select-all-matching' }) : null,
      button(t('jobs.clearSelection'), () => { selected.clear(); allMatching = false; renderRows(); }, { kind: 'link' }),
      h('span', { class: 'spacer' }),
      BULK.map(([operation, label]) => button(t(label), async () => {
        const body = allMatching ? { filter: filterObject() } : { jobIds: [...selected] };
        const done = await bulkOperation(operation, t(label), body, count, allMatching, ctx.session);
        if (done) { selected.clear(); allMatching = false; await refresh(); }
      }, { kind: operation === 'bulk-delete' ? 'danger' : 'secondary', small: true, test: operation })));
  };

  // The table.
  const headRow = h('tr');
  const body = h('tbody', { 'data-test': 'jobs-body' });
  const pageCheckbox = h('input', {
    type: 'checkbox', 'aria-label': t('jobs.selectPage'), 'data-test': 'select-page',
    onchange: (event) => {
      allMatching = false;
      for (const job of lastPage.items) {
        if (event.target.checked) selected.add(job.id); else selected.delete(job.id);
      }
      renderRows();
    },
  });
  const renderHead = () => {
    const [field0, direction] = view.sorting.split(' ');
    replace(headRow,
      ctx.canOperate ? h('th', { class: 'check' }, pageCheckbox) : null,
      COLUMNS.map(([key, label]) => {
        if (!key) return h('th', null, t(label));
        const active = field0 === key;
        return h('th', { class: `sortable${active ? ' sorted' : ''}`, 'aria-sort': active ? (direction === 'desc' ? 'descending' : 'ascending') : 'none' },
          h('button', {
            type: 'button', class: 'sort', 'data-test': `sort-${key}`,
            onclick: () => { view.sorting = `${key} ${active && direction !== 'desc' ? 'desc' : 'asc'}`; renderHead(); changed(); },
          }, t(label), h('span', { class: 'sort-mark' }, active ? (direction === 'desc' ? '▼' : '▲') : '')));
      }),
      ctx.canOperate ? h('th', { class: 'row-actions' }) : null);
  };
  const renderRows = () => {
    const columns = COLUMNS.length + (ctx.canOperate ? 2 : 0);
    if (lastPage.items.length === 0) {
      replace(body, h('tr', null, h('td', { colspan: columns, class: 'empty' }, t('jobs.none'))));
    } else {
      replace(body, lastPage.items.map((job) => h('tr', { 'data-job-id': job.id, class: selected.has(job.id) || allMatching ? 'selected' : '' },
        ctx.canOperate ? h('td', { class: 'check' }, h('input', {
          type: 'checkbox', checked: selected.has(job.id) || allMatching, 'aria-label': job.id,
          onchange: (event) => {
            allMatching = false;
            if (event.target.checked) selected.add(job.id); else selected.delete(job.id);
            renderRows();
          },
        })) : null,
        h('td', { class: 'name' },
          h('a', { href: `#/jobs/${encodeURIComponent(job.id)}`, 'data-test': 'job-link' }, job.name || job.id),
          h('div', { class: 'sub' }, job.id)),
        h('td', null, statusBadge(job)),
        h('td', null, h('code', null, job.type)),
        h('td', null, job.group),
        h('td', { class: 'mono-sm' }, schedule(job)),
        h('td', null, timeCell(job.nextRunTime)),
        h('td', null, timeCell(job.lastRunTime)),
        h('td', { class: 'num' }, number(job.triggerCount)),
        h('td', { class: `num${job.tryCount > 0 ? ' warn' : ''}` }, `${job.tryCount}/${job.maxTryCount}`),
        h('td', null, priorityName(job.priority)),
        ctx.canOperate ? h('td', { class: 'row-actions' },
          job.status === 20
            ? button(t('action.resume'), () => singleOperation(job, 'resume', refresh), { small: true, kind: 'ghost', test: 'row-resume' })
            : button(t('action.pause'), () => singleOperation(job, 'pause', refresh), { small: true, kind: 'ghost', test: 'row-pause', disabled: ![5, 10, 15].includes(job.status) }),
          button(t('action.trigger'), () => singleOperation(job, 'trigger', refresh), { small: true, kind: 'ghost', test: 'row-trigger' })) : null)));
    }
    pageCheckbox.checked = lastPage.items.length > 0 && lastPage.items.every((j) => selected.has(j.id));
    renderSelection();
  };

  // Paging.
  const pager = h('div', { class: 'pager', 'data-test': 'pager' });
  const renderPager = () => {
    const total = lastPage.totalCount;
    const from = total === 0 ? 0 : view.skip + 1;
    const to = Math.min(total, view.skip + lastPage.items.length);
    replace(pager,
      h('span', { 'data-test': 'range' }, t('jobs.range', { from: number(from), to: number(to), total: number(total) })),
      select([[20, '20'], [50, '50'], [100, '100'], [500, '500']], view.size, {
        'aria-label': t('jobs.pageSize'),
        onchange: (event) => { view.size = Number(event.target.value); changed(); },
      }),
      button('‹', () => { view.skip = Math.max(0, view.skip - view.size); syncUrl(); refresh(); },
        { small: true, disabled: view.skip === 0, title: t('jobs.previous'), test: 'prev' }),
      button('›', () => { view.skip += view.size; syncUrl(); refresh(); },
        { small: true, disabled: to >= total, title: t('jobs.next'), test: 'next' }));
  };

  const title = h('span', { class: 'count' });
  const el = h('section', { class: 'page' },
    h('div', { class: 'page-header' },
      h('h1', null, t('nav.jobs'), title),
      ctx.canOperate ? button(t('jobs.new'), () => createJobDialog(definitions, ctx), { kind: 'primary', test: 'new-job' }) : null),
    chips, toolbar, more, selectionBar,
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-test': 'jobs-table' }, h('thead', null, headRow), body)),
    pager);
  renderHead();

  api('background-jobs/definitions').then((list) => {
    definitions = list.items;
    const current = view.filters.type || '';
    replace(typeSelect, h('option', { value: '' }, t('jobs.anyType')),
      definitions.map((d) => h('option', { value: d.name }, d.name)));
    typeSelect.value = current;
  }).catch(() => {});

  async function refresh() {
    const query = { ...filterObject(), sorting: view.sorting, skipCount: view.skip, maxResultCount: view.size };
    const [page, stats] = await Promise.all([
      api('background-jobs', { query }),
      api('statistics', { query: { history: false } }).catch(() => null),
    ]);
    lastPage = page;
    title.textContent = ` ${number(page.totalCount)}`;
    renderChips(stats);
    renderRows();
    renderPager();
  }

  return { el, refresh };
}
