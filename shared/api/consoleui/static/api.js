// The REST door (/v1), the console's only way to the server. The session
// cookie authenticates; requests that change something carry the session's
// CSRF token, which GET /v1/whoami answers.

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

export async function call(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' };
  if (method !== 'GET' && method !== 'HEAD') {
    init.headers['Content-Type'] = 'application/json';
    if (csrf) init.headers['X-CSRF-Token'] = csrf;
    init.body = JSON.stringify(body || {});
  }
  let resp;
  try {
    resp = await fetch(path, init);
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
    throw new APIError(resp.status, err.code || 'HTTP' + resp.status, err.message || resp.statusText || 'request failed', err.problems);
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
