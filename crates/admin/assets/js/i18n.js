// The dashboard's text in English and Simplified Chinese: picked from the browser's
// languages unless the user chose one (kept in localStorage; it is not a secret).

import en from './locales/en.js';
import zh from './locales/zh-Hans.js';

const DICTIONARIES = { en, 'zh-Hans': zh };
const LOCALE_KEY = 'bgtasks.locale';

/** The locales offered, with their own names. */
export const LOCALES = [['en', 'English'], ['zh-Hans', '简体中文']];

function preferred() {
  const saved = localStorage.getItem(LOCALE_KEY);
  if (saved && DICTIONARIES[saved]) return saved;
  for (const language of navigator.languages || [navigator.language || 'en']) {
    if (/^zh/i.test(language)) return 'zh-Hans';
    if (/^en/i.test(language)) return 'en';
  }
  return 'en';
}

let current = preferred();
document.documentElement.lang = current;

/** The current locale. */
export function locale() {
  return current;
}

/** The locale to format numbers and dates with. */
export function intlLocale() {
  return current === 'zh-Hans' ? 'zh-CN' : 'en-GB';
}

/** Chooses a locale and remembers it. */
export function setLocale(next) {
  if (!DICTIONARIES[next]) return;
  current = next;
  localStorage.setItem(LOCALE_KEY, next);
  document.documentElement.lang = next;
}

/** The text of `key`, with `{name}` placeholders filled from `vars`. */
export function t(key, vars) {
  const text = DICTIONARIES[current][key] ?? en[key] ?? key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}
