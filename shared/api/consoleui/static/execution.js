// One execution in detail, below the pipeline view's board: a waterfall
// (one bar per action run, placed by its start and sized by its duration
// relative to the execution's start; running bars grow live), what started
// it, its source revisions and variables, who approved, why it stopped;
// and the pipeline's execution history, a page at a time.
import { get, seg } from './api.js';
import { ago, duration, h, replace, statusBadge, toDate } from './dom.js';

const terminal = new Set(['Succeeded', 'Failed', 'Stopped', 'Superseded', 'Cancelled', 'Abandoned']);

// makeDetail returns the detail's element and its update function, called
// with every new state of the execution, and tick, called every second.
export function makeDetail() {
  const facts = h('dl', { class: 'facts', id: 'exec-facts' });
  const list = h('ol', { class: 'waterfall', id: 'timeline', 'aria-label': 'Action runs, in the order they started' });
  const scale = h('p', { class: 'muted wf-scale', id: 'timeline-scale' });
  const el = h('section', { class: 'exec-detail', id: 'exec-detail', 'aria-labelledby': 'detail-title' },
    h('h2', { id: 'detail-title' }, 'Execution detail'),
    facts,
    h('h3', {}, 'Timeline'), scale, list);
  const d = { el, facts, list, scale, exec: null, rows: new Map() };
  return { el, update: (exec) => updateDetail(d, exec), tick: () => layout(d) };
}

function updateDetail(d, exec) {
  d.exec = exec;
  replace(d.facts, factsOf(exec));
  // The action runs, and the runs of the stages' Commands rules.
  const runs = [...(exec.actions || []), ...(exec.ruleRuns || [])].filter((r) => toDate(r.startTime))
    .sort((a, b) => toDate(a.startTime) - toDate(b.startTime) || a.stageIndex - b.stageIndex || a.actionIndex - b.actionIndex);
  const seen = new Set();
  let prev = null;
  for (const r of runs) {
    seen.add(r.id);
    let row = d.rows.get(r.id);
    if (!row) {
      row = makeRow(r);
      d.rows.set(r.id, row);
    }
    // Keep the list in start order without rebuilding it.
    const want = prev ? prev.el.nextSibling : d.list.firstChild;
    if (want !== row.el) d.list.insertBefore(row.el, want);
    row.run = r;
    row.el.dataset.status = r.status;
    prev = row;
  }
  for (const [id, row] of d.rows) {
    if (!seen.has(id)) { row.el.remove(); d.rows.delete(id); }
  }
  if (!runs.length) d.scale.textContent = 'No action has started yet.';
  layout(d);
}

function makeRow(r) {
  const name = r.stage + ' / ' + (r.rule ? 'rule ' : '') + r.action + (r.attempt > 1 ? ' (attempt ' + r.attempt + ')' : '');
  const bar = h('span', { class: 'wf-bar' });
  const text = h('span', { class: 'wf-text' });
  const el = h('li', { class: 'wf-row', dataset: { run: r.id, stage: r.stage, action: r.action, status: r.status } },
    h('span', { class: 'wf-label', title: name }, name),
    h('span', { class: 'wf-track', 'aria-hidden': 'true' }, bar),
    text);
  if (r.rule) el.dataset.rule = 'true';
  return { el, bar, text, name, run: r };
}

// layout places every bar: left at the run's start, width its duration,
// both as fractions of the execution's span so far.
function layout(d) {
  const exec = d.exec;
  if (!exec) return;
  const t0 = toDate(exec.startTime);
  if (!t0) return;
  const now = new Date();
  const running = !terminal.has(exec.status);
  let tEnd = toDate(exec.endTime) || (running ? now : toDate(exec.lastUpdateTime)) || now;
  for (const row of d.rows.values()) {
    const e = runEnd(row.run, now);
    if (e && e > tEnd) tEnd = e;
  }
  const span = Math.max(tEnd - t0, 1);
  for (const row of d.rows.values()) {
    const r = row.run;
    const s = toDate(r.startTime);
    const e = runEnd(r, now) || s;
    const left = Math.min(Math.max((s - t0) / span, 0), 1);
    const width = Math.min(Math.max((e - s) / span, 0), 1 - left);
    row.bar.style.left = (left * 100).toFixed(3) + '%';
    row.bar.style.width = (width * 100).toFixed(3) + '%';
    row.bar.className = 'wf-bar status-' + (r.status || '').toLowerCase();
    const at = s - t0 < 1000 ? '0 s' : duration(s - t0);
    const label = r.status + ' · starts at +' + at + ' · ' + (duration(e - s) || '< 1 s');
    row.bar.title = row.name + ': ' + label;
    row.text.textContent = label;
    row.el.dataset.left = left.toFixed(4);
    row.el.dataset.width = width.toFixed(4);
  }
  d.scale.textContent = d.rows.size ? 'Bars from the execution\'s start (' + t0.toLocaleTimeString() + ') to ' +
    (running ? 'now' : 'its end') + ': ' + (duration(span) || '< 1 s') + '.' : d.scale.textContent;
}

function runEnd(r, now) {
  if (!toDate(r.startTime)) return null;
  if (r.status === 'InProgress') return now;
  return toDate(r.endTime) || toDate(r.lastUpdateTime);
}

// factsOf is what the record says about the execution: trigger, revisions,
// variables, approvals, stop, rollback.
function factsOf(exec) {
  const out = [];
  const fact = (key, term, ...values) => {
    if (!values.length) return;
    out.push(h('dt', {}, term), h('dd', { dataset: { fact: key } }, ...values));
  };
  const tr = exec.trigger || {};
  fact('trigger', 'Trigger', tr.triggerType || 'unknown', tr.triggerDetail ? h('span', { class: 'muted' }, ' · ' + tr.triggerDetail) : null);
  const start = toDate(exec.startTime);
  const end = toDate(exec.endTime);
  if (start) {
    fact('started', 'Started', start.toLocaleString(), end ? ' · took ' + (duration(end - start) || '< 1 s') : ' · running for ' + (duration(Date.now() - start) || '< 1 s'));
  }
  if (exec.rollback) {
    fact('rollback', 'Rollback', 'of stage ' + exec.rollback.stage + ' to execution ',
      h('a', { class: 'mono', href: '#/pipelines/' + seg(exec.pipelineName) + '/executions/' + seg(exec.rollback.targetPipelineExecutionId) },
        exec.rollback.targetPipelineExecutionId));
  }
  const revs = sourceRevisions(exec);
  if (revs.length) fact('revisions', 'Source revisions', h('ul', { class: 'plain' }, revs));
  const vars = Object.entries(exec.variables || {});
  if (vars.length) {
    fact('variables', 'Variables', h('dl', { class: 'vars', 'aria-label': 'Pipeline variables' },
      vars.map(([k, v]) => [h('dt', { class: 'mono' }, k), h('dd', { class: 'mono' }, v)])));
  }
  const approvals = approvalsOf(exec);
  if (approvals.length) fact('approvals', 'Approvals', h('ul', { class: 'plain' }, approvals));
  const overrides = (exec.conditions || []).filter((c) => c.status === 'Overridden');
  if (overrides.length) {
    fact('overrides', 'Overridden conditions', h('ul', { class: 'plain' }, overrides.map((c) =>
      h('li', {}, c.stage + ' ' + (c.kind === 'ON_SUCCESS' ? 'onSuccess' : 'beforeEntry') + ': ' + (c.overriddenBy ? 'by ' + c.overriddenBy : 'by an unrecorded caller')))));
  }
  if (exec.stop) {
    const s = exec.stop;
    const at = toDate(s.at);
    fact('stop', s.cancel ? 'Cancelled' : 'Stopped',
      s.cancel ? 'by the engine' : (s.abandon ? 'stop and abandon' : 'stop and wait'),
      at ? ' · ' + at.toLocaleString() : '',
      s.reason ? ' · reason: ' + s.reason : '',
      s.cancel ? '' : (s.by ? ' · by ' + s.by : h('span', { class: 'muted' }, ' · who asked is not recorded')));
  }
  return out;
}

function sourceRevisions(exec) {
  const out = [];
  const latest = new Map();
  for (const r of [...(exec.actions || []), ...(exec.inherited || [])]) {
    if (!r.actionTypeId || r.actionTypeId.category !== 'Source' || !r.currentRevision || !r.currentRevision.revisionId) continue;
    const prev = latest.get(r.action);
    if (!prev || r.attempt >= prev.attempt) latest.set(r.action, r);
  }
  for (const r of latest.values()) {
    const rev = r.currentRevision;
    out.push(h('li', { dataset: { action: r.action } }, r.action + ': ',
      h('span', { class: 'mono', title: rev.revisionId }, rev.revisionId.slice(0, 12)),
      rev.summary ? h('span', { class: 'muted' }, ' — ' + firstLine(rev.summary)) : null));
  }
  for (const p of exec.sourceRevisions || []) {
    if (latest.has(p.actionName)) continue;
    out.push(h('li', { dataset: { action: p.actionName } }, p.actionName + ': asked for ' + p.revisionType + ' ', h('span', { class: 'mono' }, p.revisionValue)));
  }
  return out;
}

function approvalsOf(exec) {
  const latest = new Map();
  for (const r of exec.actions || []) {
    if (!r.actionTypeId || r.actionTypeId.category !== 'Approval') continue;
    const key = r.stage + '/' + r.action;
    const prev = latest.get(key);
    if (!prev || r.attempt >= prev.attempt) latest.set(key, r);
  }
  return [...latest.entries()].map(([key, r]) => {
    let what = 'waiting';
    if (r.status === 'Succeeded') what = 'approved';
    else if (r.status === 'Failed' && r.errorCode === 'Rejected') what = 'rejected';
    else if (r.status !== 'InProgress') what = r.status;
    const by = r.updatedBy ? ' by ' + r.updatedBy : '';
    const comment = r.status === 'Succeeded' ? r.summary : (r.errorCode === 'Rejected' ? r.summary : '');
    return h('li', { dataset: { approval: key } }, key + ': ' + what + (what === 'waiting' ? '' : by),
      comment ? h('q', { class: 'comment' }, comment) : null);
  });
}

function firstLine(s) {
  const l = String(s).split('\n')[0];
  return l.length > 100 ? l.slice(0, 99) + '…' : l;
}

// makeHistory lists the pipeline's executions, newest first, a page at a
// time: status, trigger, source revision, start and duration, each linking
// to its detail.
export function makeHistory(view, first, current) {
  const list = h('ol', { id: 'history', class: 'history-list' });
  const more = h('button', { type: 'button', class: 'secondary', id: 'history-more', hidden: !first.nextToken }, 'Older executions');
  let token = first.nextToken || '';
  const add = (rows) => {
    for (const e of rows) list.append(historyRow(view, e, current));
  };
  add(first.pipelineExecutionSummaries || []);
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const page = await get('/v1/pipelines/' + seg(view.name) + '/executions?maxResults=10&nextToken=' + encodeURIComponent(token));
      if (!view.alive) return;
      add(page.pipelineExecutionSummaries || []);
      token = page.nextToken || '';
      more.hidden = !token;
    } catch (err) {
      view.ctx.showError(err);
    } finally {
      more.disabled = false;
    }
  });
  if (!list.firstChild) return null;
  return h('section', { class: 'history', 'aria-labelledby': 'history-title' },
    h('h2', { id: 'history-title' }, 'Executions'), list, more);
}

function historyRow(view, e, current) {
  const id = e.pipelineExecutionId;
  const start = toDate(e.startTime);
  const last = toDate(e.lastUpdateTime);
  let took = '';
  if (start && e.status === 'InProgress') took = 'running';
  else if (start && last) took = duration(last - start) || '< 1 s';
  const rev = (e.sourceRevisions || [])[0];
  const tr = e.trigger || {};
  return h('li', { dataset: { execution: id } },
    statusBadge(e.status, 'Execution'),
    h('a', { class: 'mono', href: '#/pipelines/' + seg(view.name) + '/executions/' + seg(id), 'aria-current': id === current ? 'page' : false }, id.slice(0, 8)),
    h('span', { class: 'h-trigger' }, (tr.triggerType || '') + (e.executionType === 'ROLLBACK' ? ' (rollback)' : '')),
    h('span', { class: 'h-rev mono', title: rev ? (rev.revisionSummary || rev.revisionId || '') : '' },
      rev && rev.revisionId ? rev.revisionId.slice(0, 8) + (rev.revisionSummary ? ' ' + firstLine(rev.revisionSummary) : '') : ''),
    h('span', { class: 'muted h-start', title: start ? start.toLocaleString() : '' }, ago(e.startTime)),
    h('span', { class: 'muted h-took' }, took));
}
