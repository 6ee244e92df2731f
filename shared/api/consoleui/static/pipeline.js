// The pipeline view: the stages as columns, left to right; in each, the
// actions as cards grouped by runOrder (the actions of one runOrder side by
// side); each card with its status, provider and duration, updated live
// from the execution's server-sent events. Start (confirmed) and pending
// manual approvals (approve or reject with a comment) are offered only
// when the caller's policy allows them (GET /v1/whoami's checks).
import { canStream, get, post, seg, whoami } from './api.js';
import { approvalControls } from './approvals.js';
import { announce, confirmDialog, duration, h, replace, safeLink, statusBadge, toDate } from './dom.js';
import { makeDetail, makeHistory } from './execution.js';
import { makeStageControls, updateStageControls } from './stagecontrols.js';

const terminal = new Set(['Succeeded', 'Failed', 'Stopped', 'Superseded', 'Cancelled']);

export function renderPipeline(ctx, name, execId) {
  const view = { ctx, name, execId, alive: true, es: null, timers: [], cards: new Map(), stages: [], exec: null, allowed: {} };
  replace(ctx.main, h('p', { class: 'muted' }, 'Loading ' + name + '…'));
  load(view).catch((err) => {
    if (!view.alive) return;
    replace(ctx.main, h('h1', {}, name), h('p', {}, h('a', { href: '#/' }, 'All pipelines')));
    ctx.showError(err);
  });
  return () => {
    view.alive = false;
    if (view.es) view.es.close();
    for (const t of view.timers) clearInterval(t);
  };
}

const base = (name) => '/v1/pipelines/' + seg(name);

async function load(view) {
  const { ctx, name } = view;
  const doc = await get(base(name));
  if (!view.alive) return;
  const def = doc.pipeline;
  const arn = (doc.metadata && doc.metadata.pipelineArn) || '';
  let exec = null;
  let id = view.execId;
  const page = await get(base(name) + '/executions?maxResults=10');
  const history = page.pipelineExecutionSummaries || [];
  view.newestId = history.length ? history[0].pipelineExecutionId : '';
  view.currentVersion = def.version || 0;
  if (!id) id = view.newestId;
  if (id) exec = await get(base(name) + '/executions/' + seg(id));
  if (!view.alive) return;

  // What the caller may do here.
  const shape = exec ? exec.pipeline : def;
  const checks = [['codepipeline:StartPipelineExecution', arn], ['codepipeline:StopPipelineExecution', arn],
    ['codepipeline:RetryStageExecution', arn], ['stageflow:GetActionLogs', arn],
    ['codepipeline:RollbackStage', arn], ['codepipeline:OverrideStageCondition', arn],
    ['codepipeline:UpdatePipeline', arn]];
  const fixed = ['start', 'stop', 'retry', 'logs', 'rollback', 'override', 'edit'];
  const approvals = [];
  const stageNames = (shape.stages || []).map((st) => st.name);
  for (const st of shape.stages || []) {
    for (const a of st.actions || []) {
      if (a.actionTypeId && a.actionTypeId.category === 'Approval') {
        approvals.push(st.name + '/' + a.name);
        checks.push(['codepipeline:PutApprovalResult', arn + '/' + st.name + '/' + a.name]);
      }
    }
  }
  const transitionsAt = checks.length;
  for (const st of stageNames.slice(1)) {
    checks.push(['codepipeline:DisableStageTransition', arn + '/' + st], ['codepipeline:EnableStageTransition', arn + '/' + st]);
  }
  if (arn) {
    try {
      const me = await whoami(checks.slice(0, 100));
      const results = me.checks || [];
      fixed.forEach((k, i) => { view.allowed[k] = !!(results[i] && results[i].allowed); });
      approvals.forEach((key, i) => { view.allowed['approve:' + key] = !!(results[i + fixed.length] && results[i + fixed.length].allowed); });
      stageNames.slice(1).forEach((st, i) => {
        const d = results[transitionsAt + 2 * i];
        const e = results[transitionsAt + 2 * i + 1];
        view.allowed['disable:' + st] = !!(d && d.allowed);
        view.allowed['enable:' + st] = !!(e && e.allowed);
      });
    } catch (err) {
      ctx.showError(err);
    }
    if (!view.alive) return;
  }

  const startBtn = view.allowed.start
    ? h('button', { type: 'button', id: 'start', onclick: () => start(view) }, 'Start execution')
    : null;
  const info = h('div', { class: 'exec-info', id: 'exec-info' });
  view.bar = h('div', { class: 'actions-bar', id: 'exec-actions' });
  const board = h('div', { class: 'board', id: 'board', 'aria-label': 'Stages of ' + name });
  view.detail = makeDetail();
  replace(ctx.main,
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/' }, 'Pipelines'), ' / ', name),
    h('div', { class: 'title-row' },
      h('h1', {}, name, ' ', h('span', { class: 'muted version' }, 'version ' + (doc.pipeline.version || ''))),
      startBtn,
      view.allowed.edit ? h('a', { href: '#/pipelines/' + seg(name) + '/edit', id: 'edit-pipeline' }, 'Edit') : null,
      h('a', { href: '#/pipelines/' + seg(name) + '/versions', id: 'pipeline-versions' }, 'Versions')),
    info, view.bar, board, exec ? view.detail.el : null, makeHistory(view, page, id));
  buildBoard(view, shape, board);
  view.info = info;
  refreshTransitions(view);
  if (exec) {
    if (!terminal.has(exec.status)) follow(view, exec.id);
    update(view, exec);
  } else {
    replace(info, h('p', { class: 'muted' }, 'This pipeline has not run yet.'));
  }
  view.timers.push(setInterval(() => tick(view), 1000));
}

// buildBoard makes the stage columns and action cards once; update fills
// in what changes, so that a comment being typed survives an update.
function buildBoard(view, shape, board) {
  (shape.stages || []).forEach((st, si) => {
    const groups = new Map();
    (st.actions || []).forEach((a, ai) => {
      const ro = a.runOrder || 1;
      if (!groups.has(ro)) groups.set(ro, []);
      groups.get(ro).push([a, ai]);
    });
    const badge = h('span', { class: 'stage-status' }, statusBadge('', st.name));
    const retry = h('div', { class: 'retry' });
    if (si > 0) board.append(makeTransition(view, st.name));
    const col = h('section', { class: 'stage', 'aria-label': 'Stage ' + st.name, dataset: { stage: st.name, status: '' } },
      h('h2', {}, st.name, ' ', badge));
    const controls = makeStageControls();
    view.stages[si] = { col, badge, retry, controls, name: st.name };
    for (const ro of [...groups.keys()].sort((x, y) => x - y)) {
      const row = h('div', { class: 'group', role: 'group', 'aria-label': 'Run order ' + ro });
      for (const [a, ai] of groups.get(ro)) row.append(makeCard(view, st, a, si, ai));
      col.append(row);
    }
    col.append(controls.cond, retry, controls.el);
    board.append(col);
  });
}

// makeTransition is the link into a stage from the one before it: a line,
// struck through while the transition is disabled (with its reason), and
// a button to disable or enable it when the caller's policy allows.
function makeTransition(view, stage) {
  const btn = h('button', { type: 'button', class: 'transition-toggle', hidden: true });
  const reason = h('p', { class: 'transition-reason' });
  const el = h('div', { class: 'transition', dataset: { stage, enabled: 'true' } }, h('div', { class: 'line', 'aria-hidden': 'true' }), btn, reason);
  const t = { el, btn, reason, stage, enabled: true };
  btn.addEventListener('click', () => toggleTransition(view, t));
  view.transitions = view.transitions || [];
  view.transitions.push(t);
  return el;
}

async function refreshTransitions(view) {
  let state;
  try {
    state = await get(base(view.name) + '/state');
  } catch (err) {
    view.ctx.showError(err);
    return;
  }
  if (!view.alive) return;
  const byName = new Map((state.stageStates || []).map((s) => [s.stageName, s.inboundTransitionState]));
  for (const t of view.transitions || []) {
    const ts = byName.get(t.stage);
    t.enabled = !ts || ts.enabled !== false;
    t.el.dataset.enabled = String(t.enabled);
    t.reason.textContent = t.enabled ? '' : 'Disabled' + (ts.disabledReason ? ': ' + ts.disabledReason : '');
    t.reason.title = !t.enabled && ts.lastChangedBy ? 'by ' + ts.lastChangedBy : '';
    const may = view.allowed[(t.enabled ? 'disable:' : 'enable:') + t.stage];
    t.btn.hidden = !may;
    t.btn.textContent = t.enabled ? 'Disable' : 'Enable';
    t.btn.setAttribute('aria-label', (t.enabled ? 'Disable' : 'Enable') + ' the transition into ' + t.stage);
    t.btn.title = (t.enabled ? 'Disable' : 'Enable') + ' the transition into ' + t.stage;
  }
}

async function toggleTransition(view, t) {
  const path = base(view.name) + '/stages/' + seg(t.stage) + (t.enabled ? '/disable-transition' : '/enable-transition');
  let body = {};
  if (t.enabled) {
    const reason = await confirmDialog('Disable the transition into ' + t.stage + '?',
      'Executions wait in front of ' + t.stage + ' until the transition is enabled again.', 'Disable', 'Reason');
    if (reason === null) return;
    body = { reason };
  } else if (!(await confirmDialog('Enable the transition into ' + t.stage + '?', 'Waiting executions go on into ' + t.stage + '.', 'Enable'))) {
    return;
  }
  try {
    await post(path, body);
    announce('The transition into ' + t.stage + ' is ' + (t.enabled ? 'disabled' : 'enabled'));
  } catch (err) {
    view.ctx.showError(err);
  }
  await refreshTransitions(view);
}

function makeCard(view, st, a, si, ai) {
  const t = a.actionTypeId || {};
  const status = h('span', { class: 'card-status' }, statusBadge('', a.name));
  const dur = h('span', { class: 'duration', 'aria-label': 'Duration' });
  const detail = h('div', { class: 'detail' });
  const slot = h('div', { class: 'approval-slot' });
  const links = h('p', { class: 'links' });
  const el = h('article', { class: 'card', tabindex: '0', 'aria-label': 'Action ' + a.name, dataset: { stage: st.name, action: a.name, status: '' } },
    h('header', {}, h('h3', {}, a.name), status),
    h('p', { class: 'provider' }, t.provider || '?', t.category ? ' · ' + t.category : ''),
    h('p', { class: 'meta' }, dur),
    detail, links, slot);
  const card = { el, status, dur, detail, slot, links, stage: st.name, action: a.name, category: t.category, config: a.configuration || {}, run: null };
  view.cards.set(si + '/' + ai, card);
  return el;
}

// latestRuns picks each action's latest attempt.
function latestRuns(exec) {
  const out = new Map();
  for (const r of exec.actions || []) {
    const key = r.stageIndex + '/' + r.actionIndex;
    const prev = out.get(key);
    if (!prev || r.attempt >= prev.attempt) out.set(key, r);
  }
  return out;
}

function update(view, exec) {
  const before = view.exec;
  view.exec = exec;
  const id = exec.id;
  const started = toDate(exec.startTime);
  replace(view.info,
    h('p', {},
      'Execution ', h('a', { class: 'mono', href: '#/pipelines/' + seg(view.name) + '/executions/' + seg(id) }, id), ' ',
      h('span', { id: 'exec-status' }, statusBadge(exec.status, 'Execution')),
      exec.trigger && exec.trigger.triggerType ? ' · started by ' + exec.trigger.triggerType + (exec.trigger.triggerDetail ? ' (' + exec.trigger.triggerDetail + ')' : '') : '',
      started ? ' · ' + started.toLocaleString() : ''),
    exec.statusSummary ? h('p', { class: 'muted' }, exec.statusSummary) : null,
    view.live ? h('p', { class: 'live', id: 'live' }, view.live) : null);
  (exec.stages || []).forEach((s, si) => {
    const st = view.stages[si];
    if (!st) return;
    if (st.col.dataset.status !== (s.status || '')) {
      st.col.dataset.status = s.status || '';
      replace(st.badge, statusBadge(s.status, st.name));
    }
    const canRetry = view.allowed.retry && s.status === 'Failed' && exec.status === 'Failed' && !exec.rollback;
    if (canRetry && !st.retry.firstChild) {
      st.retry.append(
        h('button', { type: 'button', class: 'secondary retry-failed', onclick: () => retryStage(view, st.name, 'FAILED_ACTIONS') }, 'Retry failed actions'),
        h('button', { type: 'button', class: 'secondary retry-all', onclick: () => retryStage(view, st.name, 'ALL_ACTIONS') }, 'Retry all actions'));
    }
    if (!canRetry && st.retry.firstChild) st.retry.replaceChildren();
    updateStageControls(view, st, si, exec);
  });
  view.detail.update(exec);
  const runs = latestRuns(exec);
  for (const [key, card] of view.cards) {
    const r = runs.get(key) || null;
    const was = card.run ? card.run.status : '';
    card.run = r;
    // Only the cards whose run changed are drawn again (an event of a
    // 50-stage pipeline changes one or two of its cards).
    const sig = exec.id + '\n' + (r ? JSON.stringify(r) : '');
    if (card.sig === sig) continue;
    card.sig = sig;
    const s = r ? r.status : '';
    card.el.dataset.status = s;
    replace(card.status, statusBadge(s, card.action));
    const lines = [];
    if (r && r.errorMessage) lines.push(h('p', { class: 'error' }, (r.errorCode ? r.errorCode + ': ' : '') + r.errorMessage));
    else if (r && r.summary) lines.push(h('p', {}, r.summary));
    if (r && r.currentRevision && r.currentRevision.revisionId) {
      lines.push(h('p', { class: 'revision mono', title: r.currentRevision.summary || '' }, 'Revision ' + r.currentRevision.revisionId.slice(0, 12)));
    }
    const vars = Object.entries((r && r.outputVariables) || {});
    if (vars.length) {
      lines.push(h('dl', { 'aria-label': 'Output variables' }, vars.slice(0, 20).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
    }
    replace(card.detail, lines);
    const ls = [];
    if (r && view.allowed.logs && r.startTime && card.category !== 'Approval') {
      const href = '#/pipelines/' + seg(view.name) + '/executions/' + seg(exec.id) + '/logs/' + seg(r.id);
      ls.push(h('a', { href, class: r.status === 'Failed' ? 'log-link failed' : 'log-link' }, r.status === 'Failed' ? 'Why it failed' : 'Log'));
    }
    const ext = safeLink(r && r.externalExecutionUrl);
    if (ext) ls.push(h('a', { href: ext, rel: 'noopener noreferrer', target: '_blank' }, 'Details'));
    replace(card.links, ls);
    const pending = r && r.status === 'InProgress' && card.category === 'Approval';
    if (pending && !card.slot.firstChild) card.slot.append(approvalForm(view, card));
    if (!pending && card.slot.firstChild) card.slot.replaceChildren();
    if (before && was !== s && s) announce(card.action + ' is ' + s);
  }
  const bar = [];
  if (view.allowed.stop && exec.status === 'InProgress') {
    bar.push(h('button', { type: 'button', class: 'secondary', id: 'stop', onclick: () => stop(view, false) }, 'Stop'),
      h('button', { type: 'button', class: 'secondary reject', id: 'abandon', onclick: () => stop(view, true) }, 'Stop and abandon'));
  }
  if (bar.length !== view.bar.childElementCount) replace(view.bar, bar);
  tick(view);
  if (before && before.status !== exec.status) announce('Execution ' + exec.status);
}

function tick(view) {
  if (view.detail) view.detail.tick();
  for (const card of view.cards.values()) {
    const r = card.run;
    const start = r && toDate(r.startTime);
    if (!start) { if (card.dur.textContent) card.dur.textContent = ''; continue; }
    const end = toDate(r.endTime) || (r.status === 'InProgress' ? new Date() : toDate(r.lastUpdateTime));
    const text = duration(end - start);
    if (card.dur.textContent !== text) card.dur.textContent = text;
  }
}

// follow applies the execution's server-sent events until it ends. Where
// no stream gets through (a gateway that cannot stream), it polls.
function follow(view, id) {
  if (!canStream()) { poll(view, id); return; }
  const url = base(view.name) + '/executions/' + seg(id) + '/events';
  const es = new EventSource(url);
  view.es = es;
  let got = false;
  view.live = 'Live: following the execution';
  es.addEventListener('execution', (ev) => {
    got = true;
    let e;
    try { e = JSON.parse(ev.data); } catch { return; }
    if (!view.alive) return;
    if (terminal.has(e.status)) {
      es.close();
      if (view.es === es) view.es = null;
      view.live = '';
    }
    update(view, e);
  });
  es.onerror = () => {
    if (!view.alive) return;
    // After a message EventSource reconnects by itself, unless the server
    // refused (a session ended): then, as when no stream gets through at
    // all, the page polls (and shows why a poll fails).
    if (got && es.readyState !== EventSource.CLOSED) return;
    es.close();
    view.es = null;
    poll(view, id);
  };
}

function poll(view, id) {
  view.live = 'Live: checking every 2 s';
  const t = setInterval(async () => {
    if (!view.alive) return;
    try {
      const e = await get(base(view.name) + '/executions/' + seg(id));
      if (!view.alive) return;
      if (terminal.has(e.status)) {
        clearInterval(t);
        view.live = '';
      }
      if (!view.exec || e.version !== view.exec.version || !view.live) update(view, e);
    } catch (err) {
      view.ctx.showError(err);
    }
  }, 2000);
  view.timers.push(t);
}

async function start(view) {
  const ok = await confirmDialog('Start ' + view.name + '?', 'A new execution of ' + view.name + ' starts with the latest version of the pipeline.', 'Start');
  if (!ok) return;
  try {
    const out = await post(base(view.name) + '/executions', {});
    announce('Started execution ' + out.pipelineExecutionId);
    if (!view.alive) return; // the user has gone elsewhere meanwhile
    location.hash = '#/pipelines/' + seg(view.name) + '/executions/' + seg(out.pipelineExecutionId);
  } catch (err) {
    view.ctx.showError(err);
  }
}

async function stop(view, abandon) {
  const ok = await confirmDialog(abandon ? 'Stop and abandon?' : 'Stop this execution?',
    abandon ? 'Running actions are abandoned at once; the execution ends Stopped.'
      : 'No new action starts; running actions finish first, then the execution ends Stopped.',
    abandon ? 'Stop and abandon' : 'Stop');
  if (!ok) return;
  try {
    await post(base(view.name) + '/executions/' + seg(view.exec.id) + '/stop', { abandon, reason: 'Stopped from the console' });
    announce('Stopping the execution');
  } catch (err) {
    view.ctx.showError(err);
  }
}

async function retryStage(view, stage, mode) {
  const all = mode === 'ALL_ACTIONS';
  const ok = await confirmDialog('Retry ' + stage + '?',
    all ? 'Every action of the stage runs again.' : 'The failed actions of the stage run again; the succeeded ones keep their results.',
    all ? 'Retry all actions' : 'Retry failed actions');
  if (!ok) return;
  try {
    await post(base(view.name) + '/executions/' + seg(view.exec.id) + '/stages/' + seg(stage) + '/retry', { retryMode: mode });
    announce('Retrying ' + stage);
    if (view.alive && !view.es) follow(view, view.exec.id);
  } catch (err) {
    view.ctx.showError(err);
  }
}

function approvalForm(view, card) {
  return approvalControls({
    pipeline: view.name, executionId: view.exec.id, stage: card.stage, action: card.action, config: card.config,
    allowed: view.allowed['approve:' + card.stage + '/' + card.action], showError: view.ctx.showError,
  });
}
