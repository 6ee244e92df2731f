// The pipelines list: each pipeline's name, the latest status of each of
// its stages, its latest execution and when it changed; a search filters
// the rows as one types.
import { get, pages, seg } from './api.js';
import { ago, h, replace, statusBadge } from './dom.js';

const maxPipelines = 1000;

export function renderList(ctx) {
  let alive = true;
  const search = h('input', { type: 'search', id: 'search', placeholder: 'Filter by name', autocomplete: 'off', 'aria-controls': 'pipelines' });
  const count = h('p', { class: 'muted', id: 'count', 'aria-live': 'polite' }, 'Loading pipelines…');
  const body = h('tbody', {});
  const table = h('table', { id: 'pipelines', class: 'list' },
    h('caption', { class: 'sr-only' }, 'Pipelines, with the latest status of each stage'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Pipeline'),
      h('th', { scope: 'col' }, 'Stages (latest)'),
      h('th', { scope: 'col' }, 'Latest execution'),
      h('th', { scope: 'col' }, 'Last change'))),
    body);
  replace(ctx.main,
    h('h1', {}, 'Pipelines'),
    h('div', { class: 'toolbar' }, h('label', { for: 'search' }, 'Search'), search),
    count, table);

  const rows = [];
  const filter = () => {
    const q = search.value.trim().toLowerCase();
    let shown = 0;
    for (const r of rows) {
      r.el.hidden = q !== '' && !r.name.toLowerCase().includes(q);
      if (!r.el.hidden) shown++;
    }
    count.textContent = rows.length === 0 ? 'No pipelines yet.' : shown + ' of ' + rows.length + ' pipelines';
  };
  search.addEventListener('input', filter);

  (async () => {
    let list;
    try {
      list = await pages('/v1/pipelines?maxResults=100', 'pipelines', maxPipelines);
    } catch (err) {
      count.textContent = 'The pipelines could not be listed.';
      ctx.showError(err);
      return;
    }
    if (!alive) return;
    list.sort((a, b) => a.name.localeCompare(b.name));
    for (const p of list) {
      const stages = h('td', { class: 'stages' }, h('span', { class: 'muted' }, '…'));
      const latest = h('td', {}, '…');
      const changed = h('td', {}, ago(p.updated));
      const el = h('tr', { dataset: { pipeline: p.name } },
        h('th', { scope: 'row' }, h('a', { href: '#/pipelines/' + seg(p.name) }, p.name)),
        stages, latest, changed);
      body.append(el);
      rows.push({ name: p.name, el, stages, latest, changed, updated: p.updated });
    }
    filter();
    // The state of each, a few at a time.
    let next = 0;
    const worker = async () => {
      while (alive && next < rows.length) {
        const r = rows[next++];
        await fillRow(r, ctx);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  })();
  return () => { alive = false; };
}

async function fillRow(r, ctx) {
  const base = '/v1/pipelines/' + seg(r.name);
  try {
    const [state, execs] = await Promise.all([get(base + '/state'), get(base + '/executions?maxResults=1')]);
    replace(r.stages, h('ol', { class: 'stage-strip', 'aria-label': 'Stages of ' + r.name },
      (state.stageStates || []).map((s) => h('li', {},
        h('span', { class: 'stage-name' }, s.stageName), ' ',
        statusBadge(s.latestExecution && s.latestExecution.status, s.stageName)))));
    const e = (execs.pipelineExecutionSummaries || [])[0];
    if (e) {
      replace(r.latest, statusBadge(e.status, 'Latest execution'), ' ',
        h('a', { href: '#/pipelines/' + seg(r.name) + '/executions/' + seg(e.pipelineExecutionId), class: 'mono' }, e.pipelineExecutionId.slice(0, 8)));
      const t = e.lastUpdateTime || r.updated;
      replace(r.changed, ago(t));
    } else {
      replace(r.latest, h('span', { class: 'muted' }, 'never run'));
    }
  } catch (err) {
    replace(r.stages, h('span', { class: 'muted' }, 'unavailable: ' + err.message));
    replace(r.latest, '');
  }
}
