// Building elements without markup: every value from the server becomes
// text, never HTML.

// h makes an element: h('div', {class: 'x', onclick: f}, child, 'text', ...).
// Attributes named on* take listeners; false, null and undefined are left out.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// replace empties el and puts children in it.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

// announce tells screen readers about a change.
export function announce(text) {
  const el = document.getElementById('announce');
  if (el) el.textContent = text;
}

// confirmDialog asks the user to confirm; it resolves to true or false.
// With inputLabel it also asks for a text (required), and resolves to that
// text, or null when cancelled.
export function confirmDialog(title, text, okLabel, inputLabel) {
  const dlg = document.getElementById('confirm');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = okLabel || 'Confirm';
  const field = document.getElementById('confirm-field');
  const input = document.getElementById('confirm-input');
  field.hidden = !inputLabel;
  input.required = !!inputLabel;
  input.value = '';
  document.getElementById('confirm-label').textContent = inputLabel || '';
  dlg.returnValue = '';
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => {
      const ok = dlg.returnValue === 'ok';
      if (inputLabel) resolve(ok ? input.value.trim() : null);
      else resolve(ok);
    }, { once: true });
    dlg.showModal();
    (inputLabel ? input : document.getElementById('confirm-ok')).focus();
  });
}

// status renders an execution status as a badge: a word and a colour, so
// that colour is never the only sign.
export function statusBadge(status, label) {
  const s = status || 'NotRun';
  return h('span', { class: 'badge status-' + s.toLowerCase(), title: label ? label + ': ' + s : s }, s === 'NotRun' ? 'Not run' : s);
}

// Times: the REST door answers CodePipeline's shapes in epoch seconds and
// execution records in RFC 3339.
export function toDate(t) {
  if (t === null || t === undefined || t === '') return null;
  const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
  return isNaN(d.getTime()) || d.getUTCFullYear() <= 1 ? null : d;
}

export function ago(t) {
  const d = toDate(t);
  if (!d) return '—';
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.floor(s / 60) + ' min ago';
  if (s < 86400) return Math.floor(s / 3600) + ' h ago';
  return d.toLocaleDateString();
}

export function duration(ms) {
  if (ms === null || ms === undefined || ms < 0) return '';
  if (ms < 1000) return '< 1 s';
  const s = Math.round(ms / 1000);
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
}

// safeLink is an http(s) URL as given, or '' (no javascript: or data: links).
export function safeLink(s) {
  if (!s) return '';
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : '';
  } catch { return ''; }
}
