// The console's entry: who is signed in, then the view the URL's fragment
// names (#/ the pipelines, #/pipelines/NAME a pipeline, and
// #/pipelines/NAME/executions/ID one of its executions; #/new and
// #/pipelines/NAME/edit the editor, #/pipelines/NAME/versions its diffs).
import { APIError, post, setCSRF, whoami } from './api.js';
import * as auth from './auth.js';
import { h, replace } from './dom.js';
import { renderList } from './list.js';
import { renderApprovals } from './approvals.js';
import { renderLog } from './logs.js';
import { renderPipeline } from './pipeline.js';
import { renderEditor } from './editor.js';
import { renderVersions } from './versions.js';
import { initHelp } from './help.js';

const main = document.getElementById('main');
const banner = document.getElementById('banner');
let identity = null;
let leave = null; // the current view's cleanup (closing its streams)

export function showError(err) {
  if (!err) {
    banner.hidden = true;
    banner.textContent = '';
    return;
  }
  let text = err.message || String(err);
  if (err instanceof APIError) {
    if (err.status === 403 && err.code === 'AccessDeniedException') text = 'Not allowed: ' + text;
    else text = err.code + ': ' + text;
  }
  banner.textContent = text;
  banner.hidden = false;
}

function signedOut(err) {
  document.getElementById('who').textContent = 'Not signed in';
  document.getElementById('signout').hidden = true;
  if (auth.isCognito()) {
    // Deployed: the user pool's hosted sign-in page.
    const go = h('button', { type: 'button', id: 'signin' }, 'Sign in');
    go.addEventListener('click', () => {
      go.disabled = true;
      auth.signIn().catch((e) => { go.disabled = false; showError(e); });
    });
    replace(main,
      h('h1', {}, 'Sign in to Stageflow'),
      h('p', {}, 'Sign in with your Stageflow user (the deployment\'s Cognito user pool).'),
      h('p', {}, go),
      err ? h('p', { class: 'muted' }, err.message) : null);
    return;
  }
  replace(main,
    h('h1', {}, 'Sign in to Stageflow'),
    h('p', {}, 'Run ', h('code', {}, 'stageflow console-link'), ' and open the link it prints. A link signs one browser in, once.'),
    err ? h('p', { class: 'muted' }, 'The server said: ' + err.message) : null);
}

// route shows the view the URL names; after a navigation (not on the
// first load) the focus moves to the new view, for keyboards and screen
// readers.
function route(ev) {
  if (leave) { leave(); leave = null; }
  showError(null);
  const parts = location.hash.replace(/^#\/?/, '').split('/').map((p) => {
    try { return decodeURIComponent(p); } catch { return null; }
  });
  if (parts.includes(null)) {
    replace(main, h('h1', {}, 'Not found'), h('p', {}, 'This address is not a console page.'));
    return;
  }
  // Each view draws into a box of its own: once the address has moved on,
  // a view still finishing a request draws into a box no longer on the
  // page, and its errors are not shown over the next view's.
  const box = h('div', { class: 'view' });
  replace(main, box);
  const ctx = { main: box, identity, showError: (err) => { if (box.isConnected) showError(err); } };
  if (parts.length === 1 && parts[0] === '') {
    leave = renderList(ctx);
  } else if (parts.length === 1 && parts[0] === 'approvals') {
    leave = renderApprovals(ctx);
  } else if (parts[0] === 'pipelines' && parts.length === 2 && parts[1] !== '') {
    leave = renderPipeline(ctx, parts[1], '');
  } else if (parts.length === 1 && parts[0] === 'new') {
    leave = renderEditor(ctx, '');
  } else if (parts[0] === 'pipelines' && parts.length === 3 && parts[1] !== '' && (parts[2] === 'edit' || parts[2] === 'versions')) {
    leave = (parts[2] === 'edit' ? renderEditor : renderVersions)(ctx, parts[1]);
  } else if (parts[0] === 'pipelines' && parts.length === 4 && parts[2] === 'executions' && parts[3] !== '') {
    leave = renderPipeline(ctx, parts[1], parts[3]);
  } else if (parts[0] === 'pipelines' && parts[2] === 'executions' && parts[4] === 'logs' && parts[5] &&
    (parts.length === 6 || (parts.length === 7 && /^L[1-9][0-9]{0,8}$/.test(parts[6])))) {
    leave = renderLog(ctx, parts[1], parts[3], parts[5], parts.length === 7 ? Number(parts[6].slice(1)) : 0);
  } else {
    replace(main, h('h1', {}, 'Not found'), h('p', {}, 'There is no console page ' + location.hash + '.'), h('a', { href: '#/' }, 'All pipelines'));
  }
  if (ev) main.focus({ preventScroll: true });
}

async function start() {
  try {
    await auth.loadConfig();
    if (auth.isCognito()) {
      auth.whenExpired(() => {
        identity = null;
        if (leave) { leave(); leave = null; }
        signedOut(new Error('The session has ended: sign in again.'));
      });
      if (!(await auth.start())) {
        signedOut(null);
        return;
      }
    }
  } catch (err) {
    signedOut(err);
    return;
  }
  try {
    identity = await whoami([]);
  } catch (err) {
    if (err instanceof APIError && (err.status === 401 || err.status === 403 || err.status === 400)) {
      signedOut(err);
      return;
    }
    showError(err);
    return;
  }
  setCSRF(identity.csrfToken);
  document.getElementById('who').textContent = 'Signed in as ' + identity.principal;
  const so = document.getElementById('signout');
  if (auth.isCognito()) {
    so.hidden = false;
    so.addEventListener('click', () => {
      so.disabled = true;
      auth.signOut();
    });
  } else if (identity.csrfToken) {
    so.hidden = false;
    so.addEventListener('click', async () => {
      try {
        await post('/console/signout', {});
      } catch (err) {
        // the answer is 204 with no body: APIError only on a refusal
        if (err.status !== 0) { showError(err); return; }
      }
      identity = null;
      so.hidden = true;
      if (leave) { leave(); leave = null; }
      signedOut(null);
    });
  }
  window.addEventListener('hashchange', route);
  route(null);
}

initHelp();
start();
