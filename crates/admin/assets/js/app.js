// The dashboard's shell: sign-in, header and navigation, the language switch, routing by
// the URL's hash, and live updates by polling the current page every 2 s.

import { ApiError, api, setToken, token } from './api.js';
import { button, h, replace, select } from './dom.js';
import { isDialogOpen } from './dialog.js';
import { LOCALES, locale, setLocale, t } from './i18n.js';
import { jobsPage } from './pages/jobs.js';
import { jobPage } from './pages/job.js';
import { statsPage } from './pages/stats.js';
import { nodesPage } from './pages/nodes.js';
import { alertsPage } from './pages/alerts.js';

const POLL_MS = 2000;
const root = document.getElementById('app');
const state = { session: null, page: null, polling: false, lastOk: true, liveNote: null };

const NAV = [
  ['jobs', 'nav.jobs'],
  ['stats', 'nav.stats'],
  ['nodes', 'nav.nodes'],
  ['alerts', 'nav.alerts'],
];

/** The route of the hash: `#/jobs?x=1` → {name: 'jobs', id, params}. */
function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = hash.split('?');
  const parts = path.split('/').filter(Boolean);
  const params = new URLSearchParams(query);
  if (parts[0] === 'jobs' && parts.length > 1) {
    return { name: 'job', id: decodeURIComponent(parts.slice(1).join('/')), params };
  }
  const name = NAV.some(([n]) => n === parts[0]) ? parts[0] : 'jobs';
  return { name, params };
}

function navigate(hash, { replace: replaceState = false } = {}) {
  if (replaceState) {
    history.replaceState(null, '', hash);
  } else if (location.hash !== hash) {
    location.hash = hash;
  }
}

function context() {
  return {
    session: state.session,
    canOperate: state.session && state.session.role === 'operator',
    navigate,
  };
}

function header(current) {
  const liveNote = h('span', { class: 'live-note', 'data-test': 'live' });
  state.liveNote = liveNote;
  showLive();
  const localeSelect = select(LOCALES, locale(), {
    class: 'locale-select',
    'data-test': 'locale',
    'aria-label': t('header.language'),
    onchange: (event) => { setLocale(event.target.value); render(); },
  });
  return h('header', { class: 'topbar' },
    h('a', { class: 'brand', href: '#/jobs' },
      h('img', { src: 'assets/favicon.svg', alt: '', width: 24, height: 24 }),
      h('span', null, state.session ? state.session.title : 'bgtasks')),
    h('nav', { class: 'nav' },
      NAV.map(([name, key]) => h('a', {
        href: `#/${name}`,
        class: current === name || (current === 'job' && name === 'jobs') ? 'active' : '',
        'data-test': `nav-${name}`,
      }, t(key)))),
    h('div', { class: 'topbar-right' },
      liveNote,
      state.session ? h('span', { class: `role role-${state.session.role}`, 'data-test': 'role' },
        t(`role.${state.session.role}`)) : null,
      state.session ? h('span', { class: 'node-name', title: t('header.node') }, state.session.node) : null,
      localeSelect,
      state.session && state.session.tokensRequired
        ? button(t('header.signOut'), () => { setToken(''); start(); }, { kind: 'ghost', small: true, test: 'sign-out' })
        : null));
}

function showLive() {
  if (!state.liveNote) return;
  state.liveNote.className = `live-note ${state.lastOk ? 'ok' : 'error'}`;
  state.liveNote.textContent = state.lastOk ? t('header.live') : t('header.offline');
}

async function render() {
  const current = route();
  if (state.page && state.page.destroy) state.page.destroy();
  const ctx = context();
  const pages = { jobs: jobsPage, job: jobPage, stats: statsPage, nodes: nodesPage, alerts: alertsPage };
  state.page = pages[current.name](ctx, current);
  replace(root, header(current.name), h('main', { class: 'content' }, state.page.el));
  document.title = `${t(current.name === 'job' ? 'nav.jobs' : `nav.${current.name}`)} · ${state.session.title}`;
  await refresh();
}

async function refresh() {
  if (!state.page || !state.page.refresh) return;
  try {
    await state.page.refresh();
    state.lastOk = true;
  } catch (error) {
    state.lastOk = false;
    if (!(error instanceof ApiError) || error.status !== 401) {
      console.warn('refresh failed', error);
    }
  }
  showLive();
}

async function poll() {
  if (state.polling || document.hidden || isDialogOpen() || !state.session) return;
  if (state.page && state.page.busy && state.page.busy()) return;
  state.polling = true;
  try {
    await refresh();
  } finally {
    state.polling = false;
  }
}

function signIn(message) {
  state.session = null;
  const input = h('input', { type: 'password', autocomplete: 'off', 'data-test': 'token', required: true });
  const error = h('p', { class: 'form-error', hidden: !message, role: 'alert' }, message || '');
  const form = h('form', {
    class: 'login-card',
    onsubmit: async (event) => {
      event.preventDefault();
      setToken(input.value.trim());
      await start();
    },
  },
  h('img', { src: 'assets/favicon.svg', alt: '', width: 40, height: 40 }),
  h('h1', null, t('login.title')),
  h('p', { class: 'muted' }, t('login.help')),
  h('label', { class: 'field' }, h('span', { class: 'field-label' }, t('login.token')), input),
  error,
  h('button', { type: 'submit', class: 'btn btn-primary', 'data-test': 'sign-in' }, t('login.signIn')),
  h('div', { class: 'login-locale' },
    select(LOCALES, locale(), {
      'data-test': 'locale',
      onchange: (event) => { setLocale(event.target.value); signIn(message); },
    })));
  replace(root, h('div', { class: 'login' }, form));
  input.focus();
}

async function start() {
  try {
    state.session = await api('session');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      signIn(token() ? t('login.rejected') : '');
      return;
    }
    replace(root, h('div', { class: 'login' }, h('div', { class: 'login-card' },
      h('h1', null, t('error.unreachable')), h('p', null, error.message),
      button(t('action.retry'), start, { kind: 'primary' }))));
    return;
  }
  await render();
}

window.addEventListener('hashchange', () => { if (state.session) render(); });
window.addEventListener('bgtasks:unauthorized', () => {
  if (state.session) signIn(t('login.expired'));
});
setInterval(poll, POLL_MS);
start();
