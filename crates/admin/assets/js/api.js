// The admin API client: relative URLs (so the dashboard works under any prefix), the
// token from sessionStorage sent as a bearer header, never as a cookie.

const TOKEN_KEY = 'bgtasks.token';

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** An error answer of the API. */
export class ApiError extends Error {
  constructor(status, error, text) {
    super((error && error.message) || text || `HTTP ${status}`);
    this.status = status;
    this.code = error ? error.code : 'http';
    this.field = error ? error.field : undefined;
    this.current = error ? error.current : undefined;
  }
}

/** Calls `api/<path>`; resolves to the JSON answer, rejects with an ApiError. */
export async function api(path, { method = 'GET', body, query } = {}) {
  const url = new URL(`api/${path}`, document.baseURI);
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === '') continue;
    url.searchParams.set(key, Array.isArray(value) ? value.join(',') : String(value));
  }
  const headers = { Accept: 'application/json' };
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (error) {
    throw new ApiError(0, { code: 'network', message: String(error.message || error) });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    if (response.status === 401) window.dispatchEvent(new CustomEvent('bgtasks:unauthorized'));
    throw new ApiError(response.status, data && data.error, text);
  }
  return data;
}

/** The API path of a job (ids may hold any character). */
export function jobPath(id, suffix = '') {
  return `background-jobs/${encodeURIComponent(id)}${suffix}`;
}
