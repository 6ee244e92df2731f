// The REST door (/v1), the console's only way to the server. Locally the
// session cookie authenticates, and requests that change something carry
// the session's CSRF token, which GET /v1/whoami answers. Deployed
// (auth.js: Cognito), the door is under apiBase (/console/v1) and every
// request carries the user pool's access token instead (no cookie, so no
// CSRF token either).
import { apiBase, authorization, isCognito } from './auth.js';

let csrf = '';

export class APIError extends Error {
  constructor(status, code, message, problems) {
    super(message);
    this.status = status;
    this.code = code;
    this.problems = problems || [];
  }
}

export function setCSRF(token) { csrf = token || ''; }

export function seg(s) {
  // One path segment; a name made only of dots is escaped whole, as the
  // door's own clients do (a "." segment would be cleaned away).
  if (s !== '' && /^\.+$/.test(s)) return '%2E'.repeat(s.length);
  return encodeURIComponent(s);
}

// canStream reports whether the execution's server-sent events can reach
// the page: not deployed, where API Gateway cannot stream (and EventSource
// sends no Authorization header): the views poll there instead.
export const canStream = () => !isCognito();

// url is where a REST path (/v1/...) is served.
export const url = (path) => (path.startsWith('/v1') ? apiBase() + path : path);

export async function call(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' };
  const auth = await authorization();
  if (auth) init.headers.Authorization = auth;
  if (method !== 'GET' && method !== 'HEAD') {
    init.headers['Content-Type'] = 'application/json';
    if (csrf) init.headers['X-CSRF-Token'] = csrf;
    init.body = JSON.stringify(body || {});
  }
  let resp;
  try {
    resp = await fetch(url(path), init);
  } catch (e) {
    throw new APIError(0, 'NetworkError', 'The server could not be reached: ' + e.message);
  }
  const text = await resp.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!resp.ok) {
    const err = (data && data.error) || {};
    // API Gateway's own refusals (its JWT authorizer's 401) are {"message": ...}.
    const msg = err.message || (data && typeof data.message === 'string' && data.message) || resp.statusText || 'request failed';
    throw new APIError(resp.status, err.code || 'HTTP' + resp.status, msg, err.problems);
  }
  return data;
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body);

// whoami asks who the caller is and, for each [action, resource] pair,
// whether its policy allows it.
export async function whoami(checks) {
  const q = new URLSearchParams();
  for (const [action, resource] of checks || []) {
    q.append('action', action);
    q.append('resource', resource || '*');
  }
  const qs = q.toString();
  return get('/v1/whoami' + (qs ? '?' + qs : ''));
}

// pages follows nextToken through a listing, up to limit items.
export async function pages(path, key, limit) {
  const out = [];
  let token = '';
  for (;;) {
    const sep = path.includes('?') ? '&' : '?';
    const page = await get(path + (token ? sep + 'nextToken=' + encodeURIComponent(token) : ''));
    out.push(...(page[key] || []));
    token = page.nextToken || '';
    if (!token || out.length >= limit) return out;
  }
}
