// A pipeline's versions (#/pipelines/NAME/versions): any earlier version
// against the latest, as a line diff of their pretty-printed JSON. Added
// and removed lines carry a + or − and a word for screen readers, not only
// a colour.
import { get, seg } from './api.js';
import { h, replace } from './dom.js';
import { diffLines, hunks } from './diff.js';

const context = 3; // unchanged lines shown around a change

export function renderVersions(ctx, name) {
  let alive = true;
  replace(ctx.main, h('p', { class: 'muted' }, 'Loading the versions of ' + name + '…'));
  const base = '/v1/pipelines/' + seg(name);
  (async () => {
    const latest = (await get(base)).pipeline;
    if (!alive) return;
    const n = latest.version || 1;
    const crumbs = h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/' }, 'Pipelines'), ' / ',
      h('a', { href: '#/pipelines/' + seg(name) }, name), ' / Versions');
    if (n < 2) {
      replace(ctx.main, crumbs, h('h1', {}, 'Versions of ' + name),
        h('p', { id: 'versions-status' }, 'This pipeline has one version: there is nothing to compare yet.'));
      return;
    }
    const from = h('select', { id: 'version-from' });
    for (let v = n - 1; v >= 1; v--) from.append(h('option', { value: String(v) }, 'version ' + v));
    const summary = h('p', { id: 'versions-status', 'aria-live': 'polite' });
    const out = h('div', { id: 'diff-box' });
    replace(ctx.main, crumbs, h('h1', {}, 'Versions of ' + name),
      h('div', { class: 'toolbar' }, h('label', { for: 'version-from' }, 'Compare'), from,
        h('span', {}, 'with the latest, version ' + n)),
      summary, out);
    const show = async () => {
      const v = Number(from.value);
      summary.textContent = 'Loading version ' + v + '…';
      let old;
      try {
        old = (await get(base + '?version=' + v)).pipeline;
      } catch (err) {
        summary.textContent = 'Version ' + v + ' could not be read.';
        ctx.showError(err);
        return;
      }
      if (!alive || Number(from.value) !== v) return;
      const lines = diffLines(pretty(old).split('\n'), pretty(latest).split('\n'));
      const added = lines.filter((l) => l.op === '+').length;
      const removed = lines.filter((l) => l.op === '-').length;
      summary.textContent = 'Version ' + v + ' → version ' + n + ': ' + added + ' lines added, ' + removed + ' removed.';
      replace(out, renderDiff(hunks(lines, context)));
    };
    from.addEventListener('change', show);
    show();
  })().catch((err) => {
    if (!alive) return;
    replace(ctx.main, h('h1', {}, 'Versions of ' + name), h('p', {}, h('a', { href: '#/pipelines/' + seg(name) }, name)));
    ctx.showError(err);
  });
  return () => { alive = false; };
}

// The version numbers differ between any two versions: they are left out,
// so that the diff shows what changed in the pipeline itself.
function pretty(p) {
  const c = Object.assign({}, p);
  delete c.version;
  return JSON.stringify(c, null, 2);
}

const words = { '+': 'added', '-': 'removed', '=': 'unchanged' };
const marks = { '+': '+', '-': '−', '=': ' ' };

function renderDiff(lines) {
  return h('ol', { id: 'diff', class: 'diff mono', 'aria-label': 'Changes from the earlier version to the latest' },
    lines.map((l) => {
      if (l.op === '…') return h('li', { class: 'diff-fold muted' }, '… ' + l.count + ' unchanged lines');
      return h('li', { class: l.op === '+' ? 'diff-add' : l.op === '-' ? 'diff-del' : 'diff-same' },
        h('span', { class: 'diff-mark', 'aria-hidden': 'true' }, marks[l.op]),
        l.op === '=' ? null : h('span', { class: 'sr-only' }, words[l.op] + ': '),
        h('span', { class: 'diff-text' }, l.text));
    }));
}
