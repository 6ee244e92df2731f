// The pipeline editor (#/new and #/pipelines/NAME/edit): the visual form
// (editorform.js) side by side with the document's JSON, kept in sync both
// ways. The server checks the document as one edits (POST /v1/validate,
// which saves nothing); each problem it names is shown next to its field
// (aria-invalid and a message) and listed above, a link to the field.
// Saving creates the pipeline (POST /v1/pipelines) or its next version
// (PUT /v1/pipelines/NAME), then opens the pipeline.
import { APIError, call, get, post, seg, whoami } from './api.js';
import { announce, h, replace } from './dom.js';
import { buildForm } from './editorform.js';
import { shapeProblem } from './editorshape.js';

const checkDelay = 700; // ms after the last change before the server checks

export function renderEditor(ctx, name) {
  const ed = { ctx, name, isNew: name === '', alive: true, timer: 0, seq: 0, model: null, fields: new Map(), problems: [] };
  replace(ctx.main, h('p', { class: 'muted' }, 'Loading the editor…'));
  load(ed).catch((err) => {
    if (!ed.alive) return;
    replace(ctx.main, h('h1', {}, ed.isNew ? 'Create pipeline' : 'Edit ' + name), h('p', {}, h('a', { href: '#/' }, 'All pipelines')));
    ctx.showError(err);
  });
  return () => { ed.alive = false; clearTimeout(ed.timer); };
}

const pretty = (v) => JSON.stringify(v, null, 2);

async function load(ed) {
  const { ctx, name } = ed;
  // A policy without ListRuleTypes: each rule keeps the type the JSON gives it.
  const [typesOut, ruleTypesOut, doc] = await Promise.all([get('/v1/action-types'), get('/v1/rule-types').catch(() => ({})),
    ed.isNew ? null : get('/v1/pipelines/' + seg(name))]);
  if (!ed.alive) return;
  ed.types = (typesOut.actionTypes || []).map((t) => Object.assign({}, t.id, { properties: t.actionConfigurationProperties || [] }));
  ed.ruleTypes = (ruleTypesOut.ruleTypes || []).map((t) => Object.assign({}, t.id, { properties: t.ruleConfigurationProperties || [] }));
  let arn = '*';
  let version = 0;
  if (doc) {
    ed.model = doc.pipeline;
    version = ed.model.version || 0;
    delete ed.model.version; // the server numbers the versions
    arn = (doc.metadata && doc.metadata.pipelineArn) || '*';
  } else {
    ed.model = { name: '', pipelineType: 'V2', stages: [] };
  }
  const op = ed.isNew ? 'codepipeline:CreatePipeline' : 'codepipeline:UpdatePipeline';
  let allowed = false;
  try {
    const me = await whoami([[op, arn]]);
    allowed = !!(me.checks && me.checks[0] && me.checks[0].allowed);
    ed.arnPrefix = me.pipelineArnPrefix || '';
  } catch (err) {
    ctx.showError(err);
  }
  if (!ed.alive) return;
  // A policy that allows creating only some names (team-*) is asked about
  // the name typed (nameAllowed).
  ed.byName = ed.isNew && !allowed && !!ed.arnPrefix;
  ed.checkedName = '';

  const title = ed.isNew ? 'Create pipeline' : 'Edit ' + name;
  ed.formBox = h('section', { class: 'ed-visual', 'aria-label': 'Visual editor' });
  ed.json = h('textarea', { id: 'ed-json', class: 'mono', rows: 30, spellcheck: 'false', 'aria-describedby': 'ed-json-status' });
  ed.json.value = pretty(ed.model);
  ed.jsonStatus = h('p', { id: 'ed-json-status', class: 'muted', 'aria-live': 'polite' }, 'The JSON and the form show the same document.');
  ed.problemsBox = h('div', { id: 'ed-problems', class: 'ed-problems', hidden: true, tabindex: '-1' });
  ed.status = h('p', { id: 'ed-status', class: 'muted', 'aria-live': 'polite' });
  ed.json.addEventListener('input', () => fromJSON(ed));
  ed.buttons = [
    h('button', { type: 'button', class: 'secondary', id: 'ed-check', onclick: () => check(ed, true) }, 'Check'),
    h('button', { type: 'button', id: 'ed-save', onclick: () => save(ed) }, ed.isNew ? 'Create pipeline' : 'Save as version ' + (version + 1))];
  ed.buttonBox = h('span', { class: 'ed-buttons' });
  ed.denied = h('p', { class: 'notice', id: 'ed-denied', role: 'status' });
  ed.op = op;
  replace(ctx.main,
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/' }, 'Pipelines'), ' / ',
      ed.isNew ? 'New' : [h('a', { href: '#/pipelines/' + seg(name) }, name), ' / Edit']),
    h('div', { class: 'title-row' }, h('h1', {}, title, version ? h('span', { class: 'muted version' }, ' (version ' + version + ')') : null),
      ed.isNew ? null : h('a', { href: '#/pipelines/' + seg(name) + '/versions', id: 'ed-versions' }, 'Compare versions')),
    ed.denied,
    ed.problemsBox,
    h('div', { class: 'editor' }, ed.formBox,
      h('section', { class: 'ed-code', 'aria-label': 'JSON' },
        h('label', { for: 'ed-json' }, 'Pipeline JSON'), ed.json, ed.jsonStatus)),
    h('div', { class: 'actions-bar ed-bar' }, ed.buttonBox, h('a', { href: ed.isNew ? '#/' : '#/pipelines/' + seg(name) }, 'Cancel')),
    ed.status);
  setAllowed(ed, allowed, ed.byName ? 'Your policy does not allow ' + op + ' on every name: type the name to see whether it allows that one.' : '');
  renderForm(ed, null);
  if (!ed.isNew && allowed) check(ed, false);
}

// renderForm builds the form from the model and puts the focus on the
// element named focusId (the same control after a rebuild).
function renderForm(ed, focusId) {
  let built;
  try {
    built = buildForm(ed.model, { types: ed.types, ruleTypes: ed.ruleTypes, isNew: ed.isNew, changed: (structural, focus) => fromForm(ed, structural, focus) });
  } catch (err) {
    // What shapeProblem does not foresee: the JSON pane still edits it.
    ed.fields = new Map();
    replace(ed.formBox, h('p', { class: 'error', id: 'ed-form-error' }, 'The form cannot show this document (' + err.message + '): edit it in the JSON.'));
    return;
  }
  const { el, fields } = built;
  ed.fields = fields;
  replace(ed.formBox, el);
  if (focusId) {
    let target = document.getElementById(focusId);
    if (target && target.disabled) target = null;
    (target || ed.formBox.querySelector('input, select, textarea, button')).focus();
  }
}

function fromForm(ed, structural, focusId) {
  ed.json.value = pretty(ed.model);
  jsonOK(ed);
  if (structural) {
    clearMarks(ed);
    renderForm(ed, focusId);
  }
  later(ed);
}

// fromJSON takes the JSON when it is a valid document; otherwise the form
// keeps the last valid one and the JSON says what is wrong.
function fromJSON(ed) {
  let v;
  try {
    v = JSON.parse(ed.json.value);
  } catch (err) {
    jsonBad(ed, 'The JSON is not valid: ' + err.message + '. The form shows the last valid document.');
    return;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    jsonBad(ed, 'The JSON must be an object (a pipeline). The form shows the last valid document.');
    return;
  }
  if (!ed.isNew && v.name !== ed.name) {
    jsonBad(ed, 'The name must stay ' + JSON.stringify(ed.name) + ': a pipeline cannot be renamed. The form shows the last valid document.');
    return;
  }
  const shape = shapeProblem(v);
  if (shape) {
    jsonBad(ed, 'The form cannot show this document: ' + shape + '. The form shows the last valid document.');
    return;
  }
  delete v.version;
  ed.model = v;
  jsonOK(ed);
  clearMarks(ed);
  renderForm(ed, null);
  later(ed);
}

function jsonBad(ed, msg) {
  ed.jsonBad = true;
  ed.json.setAttribute('aria-invalid', 'true');
  ed.jsonStatus.textContent = msg;
  ed.jsonStatus.className = 'error';
}

function jsonOK(ed) {
  ed.jsonBad = false;
  ed.json.removeAttribute('aria-invalid');
  ed.jsonStatus.textContent = 'The JSON and the form show the same document.';
  ed.jsonStatus.className = 'muted';
}

// setAllowed shows Check and Save when the policy allows saving, and
// otherwise says why not (why, or the default sentence).
function setAllowed(ed, allowed, why) {
  ed.allowed = allowed;
  replace(ed.buttonBox, allowed ? ed.buttons : null);
  ed.denied.textContent = allowed ? '' : why || 'Your policy does not allow ' + ed.op + ' here: you can look, not save.';
  ed.denied.hidden = allowed;
}

function later(ed) {
  clearTimeout(ed.timer);
  if (ed.byName) ed.timer = setTimeout(() => nameAllowed(ed), checkDelay);
  else if (ed.allowed) ed.timer = setTimeout(() => check(ed, false), checkDelay);
}

// nameAllowed asks whether the policy allows creating the pipeline of the
// name typed, then checks the document if it does.
async function nameAllowed(ed) {
  const name = typeof ed.model.name === 'string' ? ed.model.name : '';
  if (name !== ed.checkedName) {
    ed.checkedName = name;
    let ok = false;
    if (name !== '') {
      try {
        const me = await whoami([[ed.op, ed.arnPrefix + name]]);
        ok = !!(me.checks && me.checks[0] && me.checks[0].allowed);
      } catch (err) {
        if (!(err instanceof APIError && err.status === 400)) ed.ctx.showError(err);
      }
    }
    if (!ed.alive || ed.checkedName !== name) return;
    setAllowed(ed, ok, name === '' ? 'Your policy does not allow ' + ed.op + ' on every name: type the name to see whether it allows that one.'
      : 'Your policy does not allow ' + ed.op + ' on a pipeline named ' + JSON.stringify(name) + '.');
  }
  if (ed.allowed) check(ed, false);
}

// check asks the server about the model; an answer to an older model is
// dropped.
async function check(ed, asked) {
  clearTimeout(ed.timer);
  const seq = ++ed.seq;
  try {
    await post('/v1/validate', ed.model);
    if (!ed.alive || seq !== ed.seq) return;
    showProblems(ed, []);
    ed.status.textContent = 'The server finds no problem in this pipeline.';
  } catch (err) {
    if (!ed.alive || seq !== ed.seq) return;
    if (!failed(ed, err)) return;
  }
  if (asked) announce(ed.status.textContent);
}

// failed shows a refusal's problems; it returns false (after showing the
// error) for anything else.
function failed(ed, err) {
  if (err instanceof APIError && err.status === 400) {
    const list = err.problems.length ? err.problems : [{ path: '', message: err.message }];
    showProblems(ed, list);
    ed.status.textContent = list.length === 1 ? 'The server finds 1 problem.' : 'The server finds ' + list.length + ' problems.';
    return true;
  }
  ed.ctx.showError(err);
  return false;
}

async function save(ed) {
  if (ed.jsonBad) {
    ed.json.focus();
    ed.status.textContent = 'Fix the JSON first: it is not valid.';
    return;
  }
  clearTimeout(ed.timer);
  ed.seq++;
  const btn = document.getElementById('ed-save');
  btn.disabled = true;
  ed.status.textContent = 'Saving…';
  try {
    if (ed.isNew) await post('/v1/pipelines', ed.model);
    else await call('PUT', '/v1/pipelines/' + seg(ed.name), ed.model);
  } catch (err) {
    btn.disabled = false;
    if (!ed.alive) return;
    if (failed(ed, err)) {
      ed.status.textContent = 'Not saved: ' + ed.status.textContent;
      ed.problemsBox.focus();
    } else {
      ed.status.textContent = 'Not saved.';
    }
    return;
  }
  if (!ed.alive) return;
  announce((ed.isNew ? 'Created ' : 'Saved ') + ed.model.name);
  location.hash = '#/pipelines/' + seg(ed.model.name);
}

// fieldOf is the field a problem's path names, or the nearest enclosing
// one: stages[0].actions[1].inputArtifacts[0].name falls back to
// stages[0].actions[1].inputArtifacts.
function fieldOf(ed, path) {
  let p = path || '';
  for (;;) {
    const el = ed.fields.get(p);
    if (el) return el;
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    if (cut <= 0) return null;
    p = p.slice(0, cut);
  }
}

function clearMarks(ed) {
  for (const el of ed.formBox.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of ed.formBox.querySelectorAll('.field-error')) {
    const control = document.getElementById(el.dataset.for);
    if (control) {
      const rest = (control.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && x !== el.id);
      if (rest.length) control.setAttribute('aria-describedby', rest.join(' '));
      else control.removeAttribute('aria-describedby');
    }
    el.remove();
  }
  ed.json.removeAttribute('aria-invalid');
  if (ed.jsonBad) ed.json.setAttribute('aria-invalid', 'true');
}

// showProblems marks each problem's field and lists the problems, each a
// button that focuses its field (the JSON when no field shows the path).
function showProblems(ed, problems) {
  clearMarks(ed);
  ed.problems = problems;
  if (problems.length === 0) {
    ed.problemsBox.hidden = true;
    replace(ed.problemsBox);
    return;
  }
  const items = problems.map((p, i) => {
    const el = fieldOf(ed, p.path) || ed.json;
    el.setAttribute('aria-invalid', 'true');
    if (el !== ed.json) {
      const msg = h('span', { class: 'field-error', id: 'ed-err-' + i, dataset: { for: el.id } }, p.message);
      el.after(msg);
      el.setAttribute('aria-describedby', ((el.getAttribute('aria-describedby') || '') + ' ' + msg.id).trim());
    }
    return h('li', { dataset: { path: p.path || '' } },
      h('button', { type: 'button', class: 'link', onclick: () => { el.focus(); el.scrollIntoView({ block: 'center' }); } },
        p.path ? p.path : 'The pipeline'), ': ', p.message);
  });
  replace(ed.problemsBox,
    h('h2', {}, problems.length === 1 ? '1 problem' : problems.length + ' problems'),
    h('ul', {}, items));
  ed.problemsBox.hidden = false;
}
