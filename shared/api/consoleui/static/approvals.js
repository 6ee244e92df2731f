// Manual approvals: the inline form of a pending approval (on its card and
// on the approvals page), and the page of every pending approval across
// the pipelines (#/approvals).
import { get, pages, post, seg, whoami } from './api.js';
import { announce, ago, confirmDialog, h, replace, safeLink } from './dom.js';

let formCount = 0;

// approvalControls is the form approving or rejecting one pending
// approval with a comment, showing its CustomData and ExternalEntityLink;
// without the policy's leave, a sentence saying so.
export function approvalControls({ pipeline, executionId, stage, action, config, allowed, showError, onDone }) {
  config = config || {};
  const extra = [];
  if (config.CustomData) extra.push(h('p', { class: 'custom' }, config.CustomData));
  const link = safeLink(config.ExternalEntityLink);
  if (link) extra.push(h('p', {}, h('a', { href: link, rel: 'noopener noreferrer', target: '_blank' }, 'Review: ' + link)));
  if (!allowed) {
    return h('div', { class: 'approval' }, extra, h('p', { class: 'muted' }, 'Waiting for approval (your policy does not allow approving it).'));
  }
  const fid = 'approval-comment-' + ++formCount;
  const comment = h('textarea', { id: fid, class: 'comment', rows: '2', maxlength: '512' });
  const send = async (status) => {
    if (status === 'Rejected' && !(await confirmDialog('Reject ' + action + '?', 'The stage fails and the execution stops here.', 'Reject'))) return;
    try {
      await post('/v1/pipelines/' + seg(pipeline) + '/approvals', { executionId, stage, action, status, summary: comment.value });
      announce(action + ' ' + status.toLowerCase());
      if (onDone) onDone(status);
    } catch (err) {
      showError(err);
    }
  };
  return h('form', { class: 'approval', onsubmit: (ev) => ev.preventDefault() },
    extra,
    h('label', { for: fid }, 'Comment'), comment,
    h('div', { class: 'buttons' },
      h('button', { type: 'button', class: 'approve', onclick: () => send('Approved') }, 'Approve'),
      h('button', { type: 'button', class: 'reject secondary', onclick: () => send('Rejected') }, 'Reject')));
}

// renderApprovals lists the approvals waiting in the executions in
// progress of every pipeline.
export function renderApprovals(ctx) {
  let alive = true;
  const status = h('p', { class: 'muted', id: 'approvals-status', 'aria-live': 'polite' }, 'Looking for pending approvals…');
  const list = h('ul', { class: 'approvals', id: 'approvals' });
  replace(ctx.main, h('h1', {}, 'Pending approvals'), status, list);
  (async () => {
    try {
      const pipelines = await pages('/v1/pipelines?maxResults=100', 'pipelines', 1000);
      const found = [];
      let next = 0;
      const worker = async () => {
        while (alive && next < pipelines.length) {
          const p = pipelines[next++];
          found.push(...(await pendingOf(p.name)));
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
      if (!alive) return;
      found.sort((a, b) => a.pipeline.localeCompare(b.pipeline) || a.since - b.since);
      const arns = new Map();
      for (const f of found) {
        if (!arns.has(f.pipeline)) {
          const doc = await get('/v1/pipelines/' + seg(f.pipeline));
          arns.set(f.pipeline, (doc.metadata && doc.metadata.pipelineArn) || '');
        }
      }
      const checks = found.map((f) => ['codepipeline:PutApprovalResult', arns.get(f.pipeline) + '/' + f.stage + '/' + f.action]);
      const allowed = [];
      for (let i = 0; i < checks.length; i += 100) {
        const me = await whoami(checks.slice(i, i + 100));
        allowed.push(...(me.checks || []).map((c) => c.allowed));
      }
      if (!alive) return;
      status.textContent = found.length === 0 ? 'No approval is waiting.' : found.length + ' approvals waiting';
      found.forEach((f, i) => {
        const li = h('li', { class: 'approval-item', dataset: { pipeline: f.pipeline, action: f.action } });
        li.append(
          h('h2', {}, h('a', { href: '#/pipelines/' + seg(f.pipeline) + '/executions/' + seg(f.executionId) }, f.pipeline),
            ' / ', f.stage, ' / ', f.action),
          h('p', { class: 'muted' }, 'Waiting since ' + ago(f.since / 1000)),
          approvalControls({
            pipeline: f.pipeline, executionId: f.executionId, stage: f.stage, action: f.action, config: f.config,
            allowed: !!allowed[i], showError: ctx.showError,
            onDone: (st) => replace(li, h('p', {}, f.pipeline + ' / ' + f.stage + ' / ' + f.action + ': ' + st)),
          }));
        list.append(li);
      });
    } catch (err) {
      status.textContent = 'The approvals could not be listed.';
      ctx.showError(err);
    }
  })();
  return () => { alive = false; };
}

async function pendingOf(name) {
  const page = await get('/v1/pipelines/' + seg(name) + '/executions?status=InProgress&maxResults=100');
  const out = [];
  for (const s of page.pipelineExecutionSummaries || []) {
    const e = await get('/v1/pipelines/' + seg(name) + '/executions/' + seg(s.pipelineExecutionId));
    for (const r of e.actions || []) {
      if (r.status !== 'InProgress' || !r.actionTypeId || r.actionTypeId.category !== 'Approval') continue;
      const st = (e.pipeline.stages || [])[r.stageIndex] || {};
      const a = (st.actions || [])[r.actionIndex] || {};
      out.push({ pipeline: name, executionId: e.id, stage: r.stage, action: r.action, config: a.configuration || {}, since: Date.parse(r.startTime) });
    }
  }
  return out;
}
