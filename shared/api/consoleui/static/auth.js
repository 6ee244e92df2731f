// The console's sign-in when deployed: the Cognito user pool's managed
// login (the hosted UI) with the authorization-code grant and PKCE (S256),
// for a public app client (no secret). GET /console/config.json says which
// sign-in the server has: "link" (locally: a one-time link, then a session
// cookie; nothing here applies) or "cognito".
//
// The tokens are kept in sessionStorage (this tab, until it closes; never
// localStorage), refreshed with the refresh token before the access token
// expires. The REST door is called under the configuration's apiBase with
// the access token (Authorization: Bearer), which the HTTP API's JWT
// authorizer checks (its audience is the app client: the access token's
// client_id).

const TOKENS = 'stageflow.tokens';
const PENDING = 'stageflow.signin';
const EARLY = 60 * 1000; // refresh this long before the access token expires
const SCOPES = 'openid email profile';

let config = { mode: 'link', domain: '', clientId: '', apiBase: '' };
let tokens = null; // { access, id, refresh, expiresAt (ms) }
let timer = 0;
let refreshing = null;
let onExpired = () => {};

// loadConfig asks the server how the console signs in. A server that
// cannot say (an older one) signs in with links.
export async function loadConfig() {
  let c = null;
  try {
    const resp = await fetch('/console/config.json', { cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (resp.ok) c = await resp.json();
  } catch {
    c = null;
  }
  if (c && c.mode === 'cognito') {
    if (typeof c.domain !== 'string' || !/^https?:\/\/[^/?#\s]+$/.test(c.domain) || typeof c.clientId !== 'string' || !/^[A-Za-z0-9]+$/.test(c.clientId)) {
      throw new Error('The server\'s Cognito sign-in configuration is incomplete (domain, clientId).');
    }
    const base = typeof c.apiBase === 'string' && /^(\/[A-Za-z0-9._-]+)*$/.test(c.apiBase) ? c.apiBase : '';
    config = { mode: 'cognito', domain: c.domain, clientId: c.clientId, apiBase: base };
  } else {
    config = { mode: 'link', domain: '', clientId: '', apiBase: '' };
  }
  return config.mode;
}

export const isCognito = () => config.mode === 'cognito';

// apiBase prefixes the REST door's paths (/console deployed, where /v1 is
// the IAM-authorized door).
export const apiBase = () => config.apiBase;

// whenExpired sets what happens when the session cannot be renewed.
export function whenExpired(fn) { onExpired = fn; }

const redirectURI = () => location.origin + '/console/';

function b64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(n) {
  const a = new Uint8Array(n);
  crypto.getRandomValues(a);
  return b64url(a);
}

// challengeOf is PKCE's S256 code_challenge of a verifier:
// BASE64URL(SHA-256(verifier)).
export async function challengeOf(verifier) {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return b64url(new Uint8Array(d));
}

function readJSON(key) {
  try {
    const v = JSON.parse(sessionStorage.getItem(key) || 'null');
    return v && typeof v === 'object' ? v : null;
  } catch {
    return null;
  }
}

function save() {
  if (tokens) sessionStorage.setItem(TOKENS, JSON.stringify(tokens));
  else sessionStorage.removeItem(TOKENS);
}

function clear() {
  clearTimeout(timer);
  tokens = null;
  save();
}

// signIn sends the browser to the hosted UI; it comes back to /console/
// with a code and the state, which start checks.
export async function signIn() {
  const verifier = randomString(48); // 64 characters (PKCE: 43 to 128)
  const state = randomString(24);
  sessionStorage.setItem(PENDING, JSON.stringify({ state, verifier, hash: location.hash }));
  const q = new URLSearchParams({
    response_type: 'code', client_id: config.clientId, redirect_uri: redirectURI(), scope: SCOPES, state,
    code_challenge: await challengeOf(verifier), code_challenge_method: 'S256',
  });
  location.assign(config.domain + '/oauth2/authorize?' + q.toString());
}

// start finishes a sign-in the hosted UI sent the browser back from, or
// picks up this tab's tokens: true when signed in. A sign-in that failed,
// or whose state is not the one this tab sent, throws.
export async function start() {
  const q = new URLSearchParams(location.search);
  if (q.has('code') || q.has('error')) {
    const pending = readJSON(PENDING);
    sessionStorage.removeItem(PENDING);
    // The code is single-use and must not stay in the address bar (nor in
    // the history); the view the user was on comes back.
    const hash = pending && typeof pending.hash === 'string' && pending.hash.startsWith('#') ? pending.hash : location.hash;
    history.replaceState(null, '', location.pathname + hash);
    if (q.has('error')) {
      throw new Error('Sign-in failed: ' + q.get('error') + (q.get('error_description') ? ' (' + q.get('error_description') + ')' : ''));
    }
    if (!pending || typeof pending.state !== 'string' || !pending.state || q.get('state') !== pending.state || typeof pending.verifier !== 'string') {
      throw new Error('The sign-in answer does not match a sign-in this tab started (its state differs): sign in again.');
    }
    await tokenRequest({
      grant_type: 'authorization_code', client_id: config.clientId, code: q.get('code') || '',
      redirect_uri: redirectURI(), code_verifier: pending.verifier,
    });
    return true;
  }
  const t = readJSON(TOKENS);
  if (!t || typeof t.access !== 'string' || !t.access || typeof t.expiresAt !== 'number') {
    clear();
    return false;
  }
  tokens = t;
  if (tokens.expiresAt - Date.now() < EARLY) {
    try {
      await refresh();
    } catch {
      clear();
      return false;
    }
  }
  schedule();
  return true;
}

// tokenRequest asks the token endpoint (a form POST, as OAuth 2.0 and
// Cognito's /oauth2/token take it) and keeps what it answers. A refresh
// answers no new refresh token: the one held is kept.
async function tokenRequest(params) {
  let resp;
  try {
    resp = await fetch(config.domain + '/oauth2/token', {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(), credentials: 'omit', cache: 'no-store',
    });
  } catch (e) {
    throw new Error('Cognito\'s sign-in could not be reached: ' + e.message);
  }
  let data = null;
  try { data = await resp.json(); } catch { data = null; }
  if (!resp.ok || !data || typeof data.access_token !== 'string' || !data.access_token) {
    const why = data && typeof data.error === 'string' ? data.error : 'HTTP ' + resp.status;
    throw new Error('Cognito refused the sign-in: ' + why);
  }
  const life = Number(data.expires_in) > 0 ? Number(data.expires_in) : 3600;
  tokens = {
    access: data.access_token,
    id: typeof data.id_token === 'string' ? data.id_token : '',
    refresh: typeof data.refresh_token === 'string' && data.refresh_token ? data.refresh_token : (tokens && tokens.refresh) || '',
    expiresAt: Date.now() + life * 1000,
  };
  save();
  schedule();
}

// refresh renews the access token with the refresh token (one request at a
// time, whoever asks).
export function refresh() {
  if (!tokens || !tokens.refresh) return Promise.reject(new Error('no refresh token: sign in again'));
  if (!refreshing) {
    refreshing = tokenRequest({ grant_type: 'refresh_token', client_id: config.clientId, refresh_token: tokens.refresh })
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

function schedule() {
  clearTimeout(timer);
  if (!tokens || !tokens.refresh) return;
  const wait = Math.max(0, tokens.expiresAt - Date.now() - EARLY);
  timer = setTimeout(() => {
    refresh().catch(() => { clear(); onExpired(); });
  }, wait);
}

// authorization is the Authorization header of a REST request ('' when
// not signed in with Cognito), refreshing an access token about to expire.
export async function authorization() {
  if (!isCognito() || !tokens) return '';
  if (tokens.expiresAt - Date.now() < 5000) {
    try {
      await refresh();
    } catch {
      clear();
      onExpired();
      return '';
    }
  }
  return 'Bearer ' + tokens.access;
}

export const signedIn = () => isCognito() && tokens !== null;

// signOut revokes the refresh token (and the access tokens issued with it),
// forgets the tokens, and ends the hosted UI's session through /logout,
// which sends the browser back to the console.
export async function signOut() {
  const t = tokens;
  clear();
  sessionStorage.removeItem(PENDING);
  if (t && t.refresh) {
    const ctl = new AbortController();
    const stop = setTimeout(() => ctl.abort(), 3000);
    try {
      await fetch(config.domain + '/oauth2/revoke', {
        method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: t.refresh, client_id: config.clientId }).toString(),
        credentials: 'omit', cache: 'no-store', signal: ctl.signal,
      });
    } catch {
      // The tokens are gone from this tab either way; they expire by themselves.
    } finally {
      clearTimeout(stop);
    }
  }
  location.assign(config.domain + '/logout?' + new URLSearchParams({ client_id: config.clientId, logout_uri: redirectURI() }).toString());
}
