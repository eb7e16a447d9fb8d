// Modal dialogs (confirmation, forms, details) and toasts.

import { button, h } from './dom.js';
import { t } from './i18n.js';

let open = 0;

/** Whether a dialog is open (live updates wait meanwhile). */
export function isDialogOpen() {
  return open > 0;
}

/**
 * Shows a modal dialog. `body` is a node; `actions` are [{label, kind, test, onClick}]:
 * onClick may return false (or a promise of false) to keep the dialog open.
 */
export function showDialog({ title, body, actions = [], wide = false, test }) {
  const dialog = h('dialog', { class: `modal${wide ? ' modal-wide' : ''}`, 'data-test': test });
  const error = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const close = () => {
    if (!dialog.open) return;
    dialog.close();
  };
  dialog.addEventListener('close', () => {
    open = Math.max(0, open - 1);
    dialog.remove();
  });
  const footer = h('footer', { class: 'modal-actions' },
    actions.map((action) => button(action.label, async (event) => {
      const target = event.currentTarget;
      error.hidden = true;
      target.disabled = true;
      try {
        const keep = action.onClick ? await action.onClick() : undefined;
        if (keep !== false) close();
      } catch (failure) {
        error.textContent = failure.message || String(failure);
        error.hidden = false;
      } finally {
        target.disabled = false;
      }
    }, { kind: action.kind || 'secondary', test: action.test })));
  dialog.append(
    h('header', { class: 'modal-header' },
      h('h2', null, title),
      button('×', close, { kind: 'ghost', title: t('action.close'), test: 'dialog-close' })),
    h('div', { class: 'modal-body' }, body),
    error,
    footer);
  document.body.append(dialog);
  open += 1;
  dialog.showModal();
  return { close, dialog, showError(message) { error.textContent = message; error.hidden = false; } };
}

/** Asks for a confirmation; resolves to true when confirmed. */
export function confirmAction({ title, message, confirmLabel, danger = false }) {
  return new Promise((resolve) => {
    let answered = false;
    const { dialog } = showDialog({
      title,
      test: 'confirm-dialog',
      body: h('p', { class: 'confirm-message' }, message),
      actions: [
        { label: t('action.cancel'), kind: 'secondary', test: 'cancel' },
        {
          label: confirmLabel || t('action.confirm'),
          kind: danger ? 'danger' : 'primary',
          test: 'confirm',
          onClick: () => { answered = true; resolve(true); },
        },
      ],
    });
    dialog.addEventListener('close', () => { if (!answered) resolve(false); });
  });
}

/** A short message in the corner for a few seconds. */
export function toast(message, kind = 'info') {
  const host = document.getElementById('toasts');
  if (!host) return;
  const note = h('div', { class: `toast toast-${kind}`, role: 'status', 'data-test': 'toast' }, message);
  host.append(note);
  setTimeout(() => note.remove(), kind === 'error' ? 8000 : 4000);
}
