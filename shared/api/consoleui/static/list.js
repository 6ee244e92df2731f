// The pipelines list: each pipeline's name, the latest status of each of
// its stages, its latest execution and when it changed; a search filters
// the rows as one types.
import { get, pages, seg, whoami } from './api.js';
import { ago, duration, h, replace, statusBadge } from './dom.js';

const maxPipelines = 1000;
const pageSize = 25;
const recent = 20; // the executions health is measured over

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
      h('th', { scope: 'col' }, h('abbr', { title: 'Success rate and median duration of the ' + recent + ' latest executions' }, 'Health')),
      h('th', { scope: 'col' }, 'Last change'))),
    body);
  const prev = h('button', { type: 'button', class: 'secondary', id: 'prev-page' }, 'Previous');
  const next = h('button', { type: 'button', class: 'secondary', id: 'next-page' }, 'Next');
  const pageInfo = h('span', { id: 'page-info', 'aria-live': 'polite' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of pipelines', hidden: true }, prev, pageInfo, next);
  // Create pipeline, when the caller's policy allows it.
  const title = h('div', { class: 'title-row' }, h('h1', {}, 'Pipelines'));
  whoami([['codepipeline:CreatePipeline', '*']]).then((me) => {
    if (alive && me.checks && me.checks[0] && me.checks[0].allowed) title.append(h('a', { href: '#/new', id: 'create-pipeline', class: 'button' }, 'Create pipeline'));
    title.dataset.checked = 'true';
  }, () => {});
  replace(ctx.main,
    title,
    h('div', { class: 'toolbar' }, h('label', { for: 'search' }, 'Search'), search),
    count, table, pager);

  const rows = [];
  let page = 0;
  const filter = () => {
    const q = search.value.trim().toLowerCase();
    const matched = rows.filter((r) => q === '' || r.name.toLowerCase().includes(q));
    const pages = Math.max(1, Math.ceil(matched.length / pageSize));
    page = Math.min(page, pages - 1);
    const visible = new Set(matched.slice(page * pageSize, (page + 1) * pageSize));
    for (const r of rows) r.el.hidden = !visible.has(r);
    count.textContent = rows.length === 0 ? 'No pipelines yet.' : matched.length + ' of ' + rows.length + ' pipelines';
    pager.hidden = pages < 2;
    pageInfo.textContent = 'Page ' + (page + 1) + ' of ' + pages;
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
    for (const r of visible) fill(r);
  };
  search.addEventListener('input', () => { page = 0; filter(); });
  prev.addEventListener('click', () => { page--; filter(); });
  next.addEventListener('click', () => { page++; filter(); });
  // The state of the rows shown, a few at a time.
  const queue = [];
  let running = 0;
  const fill = (r) => {
    if (r.filled) return;
    r.filled = true;
    queue.push(r);
    pump();
  };
  const pump = () => {
    while (alive && running < 4 && queue.length) {
      const r = queue.shift();
      running++;
      fillRow(r).finally(() => { running--; pump(); });
    }
  };

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
      const health = h('td', { class: 'health' }, '');
      const changed = h('td', {}, ago(p.updated));
      const el = h('tr', { dataset: { pipeline: p.name }, hidden: true },
        h('th', { scope: 'row' }, h('a', { href: '#/pipelines/' + seg(p.name) }, p.name)),
        stages, latest, health, changed);
      body.append(el);
      rows.push({ name: p.name, el, stages, latest, health, changed, updated: p.updated, filled: false });
    }
    filter();
  })();
  return () => { alive = false; };
}

async function fillRow(r) {
  const base = '/v1/pipelines/' + seg(r.name);
  try {
    const [state, execs] = await Promise.all([get(base + '/state'), get(base + '/executions?maxResults=' + recent)]);
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
      replace(r.health, healthOf(execs.pipelineExecutionSummaries));
    } else {
      replace(r.latest, h('span', { class: 'muted' }, 'never run'));
    }
  } catch (err) {
    replace(r.stages, h('span', { class: 'muted' }, 'unavailable: ' + err.message));
    replace(r.latest, '');
  }
}

// healthOf is the success rate of the ended executions and the median
// duration of the succeeded ones.
function healthOf(list) {
  const ended = list.filter((e) => ['Succeeded', 'Failed', 'Stopped'].includes(e.status));
  if (ended.length === 0) return h('span', { class: 'muted' }, '—');
  const ok = ended.filter((e) => e.status === 'Succeeded');
  const rate = Math.round((100 * ok.length) / ended.length);
  const times = ok.map((e) => (e.lastUpdateTime - e.startTime) * 1000).filter((d) => d >= 0).sort((a, b) => a - b);
  let median = '';
  if (times.length) {
    const m = times.length >> 1;
    median = duration(times.length % 2 ? times[m] : (times[m - 1] + times[m]) / 2);
  }
  return [h('span', { class: 'rate', title: ok.length + ' of ' + ended.length + ' ended executions succeeded' }, rate + '% of ' + ended.length),
    median ? h('span', { class: 'muted median', title: 'median duration of the succeeded executions' }, ' · ' + median) : null];
}
