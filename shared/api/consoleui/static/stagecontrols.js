// A stage's rollback and condition override, offered under the stage's
// column of the pipeline view, each confirmed and each only when the
// caller's policy allows it and the service would take it:
//
// - Roll back (RollbackStage) to the execution shown: its stage Succeeded,
//   it is a standard execution (not itself a rollback) of the pipeline's
//   current version and not the newest execution, the stage holds no
//   source action, and the pipeline is not in PARALLEL mode (CodePipeline's
//   rules; the service checks them again, and that the stage is idle).
// - Override (OverrideStageCondition) the stage's beforeEntry or onSuccess
//   condition while it is in progress, unless its result is SKIP (which
//   cannot be overridden).
import { post, seg } from './api.js';
import { announce, confirmDialog, h, replace } from './dom.js';

export function makeStageControls() {
  return {
    el: h('div', { class: 'stage-controls' }),
    cond: h('p', { class: 'condition-state' }),
    key: '',
  };
}

// updateStageControls refreshes one stage's controls for the execution.
export function updateStageControls(view, st, si, exec) {
  const c = st.controls;
  const decl = (exec.pipeline && exec.pipeline.stages && exec.pipeline.stages[si]) || {};
  const state = (exec.stages || [])[si] || {};
  const running = (exec.conditions || []).filter((cr) => cr.stageIndex === si &&
    (cr.id === state.entryCondition || cr.id === state.successCondition));
  // What the stage's current conditions are doing, in words.
  const words = running.map((cr) => (cr.kind === 'ON_SUCCESS' ? 'onSuccess' : 'beforeEntry') + ' condition: ' +
    cr.status + (cr.summary ? ' — ' + cr.summary : ''));
  c.cond.textContent = words.join('; ');
  c.cond.hidden = !words.length;

  const buttons = [];
  const live = exec.status === 'InProgress' || exec.status === 'Stopping';
  for (const cr of running) {
    if (!view.allowed.override || !live || cr.status !== 'InProgress') continue;
    const conds = cr.kind === 'ON_SUCCESS' ? decl.onSuccess : decl.beforeEntry;
    if (((conds && conds.conditions) || []).some((x) => x.result === 'SKIP')) continue;
    buttons.push(['override:' + cr.kind, h('button', {
      type: 'button', class: 'secondary override-condition', dataset: { kind: cr.kind },
      onclick: () => override(view, st.name, cr.kind),
    }, 'Override ' + (cr.kind === 'ON_SUCCESS' ? 'onSuccess' : 'beforeEntry') + ' condition')]);
  }
  if (canRollBack(view, decl, state, exec)) {
    buttons.push(['rollback', h('button', {
      type: 'button', class: 'secondary rollback', onclick: () => rollback(view, st.name, exec.id),
    }, 'Roll back to this execution')]);
  }
  const key = buttons.map(([k]) => k).join(',');
  if (key !== c.key) {
    c.key = key;
    replace(c.el, buttons.map(([, b]) => b));
  }
}

function canRollBack(view, decl, state, exec) {
  if (!view.allowed.rollback || exec.rollback || state.status !== 'Succeeded') return false;
  if (view.currentVersion && exec.pipelineVersion !== view.currentVersion) return false;
  if ((exec.pipeline && exec.pipeline.executionMode) === 'PARALLEL') return false;
  if ((decl.actions || []).some((a) => a.actionTypeId && a.actionTypeId.category === 'Source')) return false;
  return !!view.newestId && view.newestId !== exec.id;
}

async function rollback(view, stage, target) {
  const ok = await confirmDialog('Roll back ' + stage + '?',
    'A new execution runs only ' + stage + ', with the artifacts and variables execution ' + target.slice(0, 8) +
    ' produced before it.', 'Roll back');
  if (!ok) return;
  try {
    const out = await post('/v1/pipelines/' + seg(view.name) + '/stages/' + seg(stage) + '/rollback', { targetPipelineExecutionId: target });
    announce('Started rollback execution ' + out.pipelineExecutionId);
    if (!view.alive) return;
    location.hash = '#/pipelines/' + seg(view.name) + '/executions/' + seg(out.pipelineExecutionId);
  } catch (err) {
    view.ctx.showError(err);
  }
}

async function override(view, stage, kind) {
  const which = kind === 'ON_SUCCESS' ? 'onSuccess' : 'beforeEntry';
  const ok = await confirmDialog('Override the ' + which + ' condition of ' + stage + '?',
    'Its rules stop being evaluated (a running Commands rule is abandoned) and the stage goes on as if the condition were met.',
    'Override');
  if (!ok) return;
  try {
    await post('/v1/pipelines/' + seg(view.name) + '/executions/' + seg(view.exec.id) + '/stages/' + seg(stage) + '/override-condition',
      { conditionType: kind });
    announce('The ' + which + ' condition of ' + stage + ' is overridden');
  } catch (err) {
    view.ctx.showError(err);
  }
}
