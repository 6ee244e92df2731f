// Keyboard shortcuts and the `?` overlay that lists them. A shortcut is
// ignored while the focus is in a field (typing a `?` or a `/` into a
// comment must stay typing) and while a dialog is open.
const shortcuts = [
  ['?', 'Show this list of keyboard shortcuts'],
  ['g p', 'Go to the pipelines'],
  ['g a', 'Go to the pending approvals'],
  ['/', 'Focus the search (pipelines) or the find box (logs)'],
  ['Esc', 'Close this dialog (or the confirmation dialog)'],
];

let pending = ''; // the first key of a two-key shortcut
let pendingTimer = 0;
let returnTo = null;

function typing(el) {
  if (!el) return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT';
}

function dialogOpen() {
  return !!document.querySelector('dialog[open]');
}

// openHelp shows the overlay; the focus goes back where it was on close.
export function openHelp() {
  const dlg = document.getElementById('help');
  if (!dlg || dlg.open) return;
  returnTo = document.activeElement;
  dlg.showModal();
  document.getElementById('help-close').focus();
}

function focusables(root) {
  return [...root.querySelectorAll('a[href], button:not([disabled]), input:not([disabled]), textarea, select, [tabindex]:not([tabindex="-1"])')]
    .filter((el) => !el.hidden && el.getClientRects().length);
}

export function initHelp() {
  const dlg = document.getElementById('help');
  if (!dlg) return;
  const list = document.getElementById('help-list');
  for (const [keys, what] of shortcuts) {
    const dt = document.createElement('dt');
    keys.split(' ').forEach((k, i) => {
      if (i) dt.append(' then ');
      const kbd = document.createElement('kbd');
      kbd.textContent = k;
      dt.append(kbd);
    });
    const dd = document.createElement('dd');
    dd.textContent = what;
    list.append(dt, dd);
  }
  document.getElementById('help-open').addEventListener('click', openHelp);
  document.getElementById('help-close').addEventListener('click', () => dlg.close());
  dlg.addEventListener('close', () => {
    const el = returnTo;
    returnTo = null;
    if (el && el.isConnected && typeof el.focus === 'function') el.focus();
  });
  // The focus stays in the dialog: Tab from the last control goes to the
  // first, Shift+Tab from the first to the last.
  dlg.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Tab') return;
    const els = focusables(dlg);
    if (!els.length) { ev.preventDefault(); return; }
    const first = els[0];
    const last = els[els.length - 1];
    const at = document.activeElement;
    if (ev.shiftKey && (at === first || !dlg.contains(at))) { ev.preventDefault(); last.focus(); }
    else if (!ev.shiftKey && (at === last || !dlg.contains(at))) { ev.preventDefault(); first.focus(); }
  });
  document.addEventListener('keydown', onKey);
}

function onKey(ev) {
  if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (typing(ev.target) || dialogOpen()) return;
  const k = ev.key;
  if (pending === 'g') {
    pending = '';
    clearTimeout(pendingTimer);
    if (k === 'p') { ev.preventDefault(); location.hash = '#/'; return; }
    if (k === 'a') { ev.preventDefault(); location.hash = '#/approvals'; return; }
  }
  if (k === '?') {
    ev.preventDefault();
    openHelp();
  } else if (k === 'g') {
    pending = 'g';
    clearTimeout(pendingTimer);
    pendingTimer = setTimeout(() => { pending = ''; }, 1500);
  } else if (k === '/') {
    const box = document.getElementById('search') || document.getElementById('log-search');
    if (box) {
      ev.preventDefault();
      box.focus();
    }
  }
}
