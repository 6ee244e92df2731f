// The pipeline editor's visual form: built from the pipeline document (the
// model) and the action and rule types the server knows, it changes the model in
// place. Each field's id is 'f-' and the JSON path the server's problems
// name (stages[0].actions[1].commands), so that a problem finds its field.
// Typing in a field calls changed(false); adding, removing, moving and
// choosing a provider call changed(true, idToFocus), and the editor builds
// the form again.
import { h } from './dom.js';
import { button, commands, configuration, field, fieldId, number, retype, select, set, splitList, text } from './editorfields.js';
import { stageConditions } from './editorconditions.js';

const typeKey = (t) => [t.category, t.owner, t.provider, t.version].join('/');
const typeLabel = (t) => t.category + ' · ' + t.owner + ' · ' + t.provider + ' · v' + t.version;
const executionModes = ['QUEUED', 'SUPERSEDED', 'PARALLEL'];

// buildForm returns the form's element and its fields by JSON path.
export function buildForm(model, opts) {
  const f = { model, opts, fields: new Map() };
  const el = h('div', { class: 'ed-form' }, general(f), variables(f), triggers(f), stages(f));
  return { el, fields: f.fields };
}

function general(f) {
  const m = f.model;
  const { isNew, changed } = f.opts;
  return h('fieldset', { class: 'ed-general' }, h('legend', {}, 'Pipeline'),
    field(f, 'name', 'Name', text(m.name, (v) => { m.name = v; changed(false); }, { required: true, 'aria-required': 'true', readonly: !isNew }),
      isNew ? 'Letters, digits, . _ and -; it cannot be changed later.' : 'A pipeline cannot be renamed.'),
    field(f, 'pipelineType', 'Type', select([['V2', 'V2'], ['V1', 'V1']], m.pipelineType || 'V1', (v) => { m.pipelineType = v; changed(false); })),
    field(f, 'executionMode', 'Execution mode', select([['', 'Default (SUPERSEDED)'], ...executionModes.map((x) => [x, x])], m.executionMode || '',
      (v) => { set(m, 'executionMode', v); changed(false); })),
    field(f, 'roleArn', 'Service role ARN (optional)', text(m.roleArn, (v) => { set(m, 'roleArn', v); changed(false); })));
}

// listEditor is a list of rows with a Remove button each and an Add
// button; add returns the new item.
function listEditor(f, key, title, singular, row, add) {
  const m = f.model;
  const list = m[key] || [];
  const addBtn = button('b-' + key + '.add', 'Add ' + singular, () => {
    m[key] = list.concat([add(list.length)]);
    f.opts.changed(true, fieldId(key + '[' + list.length + '].' + (key === 'triggers' ? 'gitConfiguration.sourceActionName' : 'name')));
  });
  f.fields.set(key, addBtn);
  return h('fieldset', { class: 'ed-list' }, h('legend', {}, title),
    list.length === 0 ? h('p', { class: 'muted' }, 'None.') : null,
    list.map((item, i) => h('div', { class: 'ed-row', role: 'group', 'aria-label': singular + ' ' + (i + 1) },
      row(item, key + '[' + i + ']'),
      button('b-' + key + '[' + i + '].remove', 'Remove', () => {
        list.splice(i, 1);
        set(m, key, list);
        f.opts.changed(true, 'b-' + key + '.add');
      }, { 'aria-label': 'Remove ' + singular + ' ' + (i + 1) }))),
    addBtn);
}

function variables(f) {
  const changed = () => f.opts.changed(false);
  return listEditor(f, 'variables', 'Variables', 'variable', (v, p) => [
    field(f, p + '.name', 'Name', text(v.name, (x) => { v.name = x; changed(); }), null, [p]),
    field(f, p + '.defaultValue', 'Default value', text(v.defaultValue, (x) => { set(v, 'defaultValue', x); changed(); })),
    field(f, p + '.description', 'Description', text(v.description, (x) => { set(v, 'description', x); changed(); })),
  ], (n) => ({ name: 'VARIABLE_' + (n + 1) }));
}

// triggers edits a trigger's source action and its push and pull request
// filters (branches, tags, file paths, events), up to the three of each
// kind CodePipeline takes.
function triggers(f) {
  const changed = () => f.opts.changed(false);
  return listEditor(f, 'triggers', 'Triggers', 'trigger', (t, p) => {
    t.gitConfiguration = t.gitConfiguration || {};
    const g = t.gitConfiguration;
    const gp = p + '.gitConfiguration';
    return [
      h('p', { class: 'muted ed-fixed' }, 'Provider: ', t.providerType || 'CodeStarSourceConnection'),
      field(f, gp + '.sourceActionName', 'Source action', text(g.sourceActionName, (x) => { g.sourceActionName = x; changed(); }),
        null, [p, gp]),
      filterForms(f, g, gp, 'push'),
      filterForms(f, g, gp, 'pullRequest'),
    ];
  }, () => ({ providerType: 'CodeStarSourceConnection', gitConfiguration: { sourceActionName: '' } }));
}

const maxFilters = 3; // of a kind, per trigger (GitConfiguration's push and pullRequest)

// filterForms edits every filter of g[kind]. The first is always shown:
// filled in, it is the list's first; emptied while it is alone, it leaves
// the list. The others have a Remove button each, and "Add" makes one
// more once the first holds something.
function filterForms(f, g, gp, kind) {
  const what = kind === 'push' ? 'push' : 'pull request';
  const list = () => (Array.isArray(g[kind]) ? g[kind] : []);
  const first = firstFilter(g, kind);
  const add = button('b-' + gp + '.' + kind + '.add', 'Add a ' + what + ' filter', () => {
    g[kind] = list().concat([{}]);
    const at = gp + '.' + kind + '[' + (g[kind].length - 1) + ']';
    f.opts.changed(true, fieldId(kind === 'push' ? at + '.branches.includes' : at + '.events'));
  });
  const addable = () => { add.disabled = list().length === 0 || list().length >= maxFilters; };
  const sync = first.sync;
  first.sync = () => { sync(); addable(); };
  addable();
  const forms = [filterForm(f, gp, kind, 0, first, null)];
  const rest = list();
  for (let i = 1; i < rest.length; i++) {
    if (!rest[i] || typeof rest[i] !== 'object' || Array.isArray(rest[i])) rest[i] = {};
    const filter = rest[i];
    const remove = button('b-' + gp + '.' + kind + '[' + i + '].remove', 'Remove', () => {
      // the list of now: editing the first filter makes a new one
      g[kind] = list().filter((x) => x !== filter);
      f.opts.changed(true, 'b-' + gp + '.' + kind + '.add');
    }, { 'aria-label': 'Remove ' + what + ' filter ' + (i + 1) });
    forms.push(filterForm(f, gp, kind, i, { filter, sync: () => {} }, remove));
  }
  return h('div', { class: 'ed-filters', dataset: { filters: kind } }, forms,
    h('p', { class: 'hint' }, 'A ' + what + ' that matches any of the filters starts the pipeline (' + maxFilters + ' filters at most).'), add);
}

// filterForm is filter i of g[kind]: ff.filter is the filter, ff.sync
// keeps the list up to date with it.
function filterForm(f, gp, kind, i, ff, remove) {
  const base = gp + '.' + kind + '[' + i + ']';
  const also = i === 0 ? [gp + '.' + kind, base] : [base];
  const legend = (kind === 'push' ? 'On push' : 'On pull request') + (i > 0 ? ' (filter ' + (i + 1) + ')' : '');
  const body = kind === 'push'
    ? [i === 0 ? h('p', { class: 'hint' }, patternHint) : null,
      h('div', { class: 'ed-pairs' },
        patterns(f, base, ff, 'branches', 'Branches', also),
        patterns(f, base, ff, 'tags', 'Tags'),
        patterns(f, base, ff, 'filePaths', 'File paths'))]
    : [events(f, base + '.events', ff, also),
      h('div', { class: 'ed-pairs' },
        patterns(f, base, ff, 'branches', 'Branches'),
        patterns(f, base, ff, 'filePaths', 'File paths'))];
  return h('fieldset', { class: 'ed-filter', dataset: { filter: kind, index: String(i) } }, h('legend', {}, legend), body, remove);
}

// firstFilter is the first filter of g[kind] (a new one when there is
// none): sync puts it first in the list while it holds something or other
// filters follow it, and otherwise takes it, and the empty list, out.
function firstFilter(g, kind) {
  const list = Array.isArray(g[kind]) ? g[kind] : [];
  const filter = list[0] && typeof list[0] === 'object' && !Array.isArray(list[0]) ? list[0] : {};
  const sync = () => {
    const rest = (Array.isArray(g[kind]) ? g[kind] : []).filter((x) => x !== filter);
    set(g, kind, Object.keys(filter).length || rest.length ? [filter, ...rest] : rest);
  };
  return { filter, sync };
}

const patternHint = 'Patterns are comma-separated; globs like release/* and src/**/*.go work.';

// patterns edits filter[key].includes and .excludes, each a
// comma-separated list of glob patterns.
function patterns(f, base, ff, key, label, also) {
  const one = (which, what) => {
    const cur = (ff.filter[key] && ff.filter[key][which]) || [];
    return field(f, base + '.' + key + '.' + which, label + ' ' + what, text(cur.join(', '), (x) => {
      const group = ff.filter[key] || {};
      set(group, which, splitList(x));
      set(ff.filter, key, Object.keys(group).length ? group : undefined);
      ff.sync();
      f.opts.changed(false);
    }), null, which === 'includes' ? [base + '.' + key, ...(also || [])] : []);
  };
  return [one('includes', 'to include'), one('excludes', 'to exclude')];
}

const prEvents = ['OPEN', 'UPDATED', 'CLOSED'];

// events are the pull request events that start the pipeline (CodePipeline
// takes all three when a filter names none).
function events(f, path, ff, also) {
  const on = new Set(ff.filter.events || []);
  const boxes = prEvents.map((ev) => h('label', { class: 'ed-check' },
    h('input', { type: 'checkbox', value: ev, checked: on.has(ev), onchange: (e) => {
      if (e.target.checked) on.add(ev); else on.delete(ev);
      set(ff.filter, 'events', prEvents.filter((x) => on.has(x)));
      ff.sync();
      f.opts.changed(false);
    } }), ' ', ev));
  const group = h('div', { class: 'ed-checks', role: 'group', 'aria-label': 'Pull request events', tabindex: '-1' }, boxes);
  group.id = fieldId(path);
  f.fields.set(path, group);
  for (const a of also) f.fields.set(a, group);
  return h('div', { class: 'field' }, h('span', { class: 'label' }, 'Events (none: all three)'), group);
}



// moveButtons are Move up, Move down and Remove for item i of list.
function moveButtons(f, list, i, base, what, focusName) {
  const move = (to, dir) => {
    const [item] = list.splice(i, 1);
    list.splice(to, 0, item);
    const target = base.replace(/\[\d+\]$/, '[' + to + ']');
    f.opts.changed(true, (to === 0 && dir === 'up') || (to === list.length - 1 && dir === 'down') ? fieldId(target + '.name') : 'b-' + target + '.' + dir);
  };
  return h('div', { class: 'ed-move' },
    button('b-' + base + '.up', 'Move up', () => move(i - 1, 'up'), { disabled: i === 0, 'aria-label': 'Move ' + what + ' up' }),
    button('b-' + base + '.down', 'Move down', () => move(i + 1, 'down'), { disabled: i === list.length - 1, 'aria-label': 'Move ' + what + ' down' }),
    button('b-' + base + '.remove', 'Remove', () => { list.splice(i, 1); f.opts.changed(true, focusName); }, { 'aria-label': 'Remove ' + what }));
}

function stages(f) {
  const m = f.model;
  if (!Array.isArray(m.stages)) m.stages = [];
  const list = m.stages;
  const addBtn = button('b-stages.add', 'Add stage', () => {
    let n = list.length + 1;
    while (list.some((s) => s.name === 'Stage' + n)) n++;
    list.push({ name: 'Stage' + n, actions: [] });
    f.opts.changed(true, fieldId('stages[' + (list.length - 1) + '].name'));
  });
  f.fields.set('stages', addBtn);
  return h('div', { class: 'ed-stages' },
    h('h2', {}, 'Stages'),
    list.length === 0 ? h('p', { class: 'muted' }, 'No stages yet.') : null,
    list.map((st, i) => stage(f, st, i, list)),
    addBtn);
}

function stage(f, st, i, list) {
  const p = 'stages[' + i + ']';
  if (!Array.isArray(st.actions)) st.actions = [];
  const actions = st.actions;
  const legend = h('legend', {}, 'Stage ' + (i + 1) + ': ' + (st.name || '(no name)'));
  const addBtn = button('b-' + p + '.actions.add', 'Add action', () => {
    let n = actions.length + 1;
    while (actions.some((a) => a.name === 'Action' + n)) n++;
    const t = f.opts.types[0] || { category: 'Compute', owner: 'AWS', provider: 'Commands', version: '1' };
    actions.push({ name: 'Action' + n, actionTypeId: { category: t.category, owner: t.owner, provider: t.provider, version: t.version }, runOrder: 1 });
    f.opts.changed(true, fieldId(p + '.actions[' + (actions.length - 1) + '].name'));
  }, { 'aria-label': 'Add an action to stage ' + (i + 1) });
  f.fields.set(p + '.actions', addBtn);
  return h('fieldset', { class: 'ed-stage', dataset: { stage: String(i) } }, legend,
    h('div', { class: 'ed-head' },
      field(f, p + '.name', 'Stage name', text(st.name, (x) => {
        st.name = x;
        legend.textContent = 'Stage ' + (i + 1) + ': ' + (x || '(no name)');
        f.opts.changed(false);
      }, { required: true, 'aria-required': 'true' }), null, [p]),
      moveButtons(f, list, i, p, 'stage ' + (i + 1), 'b-stages.add')),
    onFailure(f, st, p),
    stageConditions(f, st, p),
    actions.map((a, j) => action(f, a, p + '.actions[' + j + ']', j, actions, p)),
    addBtn);
}

// onFailure is what a failed stage does: fail (no onFailure result),
// roll back, or retry itself once (failed or all actions). Its conditions
// are editorconditions.js's.
function onFailure(f, st, p) {
  const of = st.onFailure || {};
  const keep = () => set(st, 'onFailure', Object.keys(of).length ? of : undefined);
  const result = select([['', 'Fail the stage (default)'], ['ROLLBACK', 'Roll back to the last successful execution'],
    ['RETRY', 'Retry the stage once']], of.result || '', (v) => {
    set(of, 'result', v);
    if (v !== 'RETRY') delete of.retryConfiguration;
    keep();
    f.opts.changed(true, fieldId(p + '.onFailure.result'));
  });
  const out = [field(f, p + '.onFailure.result', 'On failure', result, null, [p + '.onFailure'])];
  if (of.result === 'RETRY') {
    const mode = (of.retryConfiguration && of.retryConfiguration.retryMode) || '';
    out.push(field(f, p + '.onFailure.retryConfiguration.retryMode', 'Retry', select([['', 'Failed actions (default)'],
      ['FAILED_ACTIONS', 'Failed actions'], ['ALL_ACTIONS', 'All actions']], mode, (v) => {
      set(of, 'retryConfiguration', v ? { retryMode: v } : undefined);
      keep();
      f.opts.changed(false);
    }), null, [p + '.onFailure.retryConfiguration']));
  }
  return h('div', { class: 'ed-grid ed-onfailure' }, out);
}

function action(f, a, p, j, list, stagePath) {
  const changed = () => f.opts.changed(false);
  const types = f.opts.types;
  a.actionTypeId = a.actionTypeId || {};
  const cur = typeKey(a.actionTypeId);
  const known = types.find((t) => typeKey(t) === cur);
  const options = types.map((t) => [typeKey(t), typeLabel(t)]);
  if (!known) options.push([cur, typeLabel(a.actionTypeId) + ' (not listed by the server)']);
  const provider = select(options, cur, (v) => {
    const t = types.find((x) => typeKey(x) === v);
    if (!t) return;
    retype(a, 'actionTypeId', t, t.provider === 'Commands' && t.owner === 'AWS');
    f.opts.changed(true, fieldId(p + '.actionTypeId'));
  });
  const isCommands = a.actionTypeId.owner === 'AWS' && a.actionTypeId.provider === 'Commands';
  const legend = h('legend', {}, 'Action: ' + (a.name || '(no name)'));
  return h('fieldset', { class: 'ed-action', dataset: { action: String(j) } }, legend,
    h('div', { class: 'ed-head' },
      field(f, p + '.name', 'Action name', text(a.name, (x) => {
        a.name = x;
        legend.textContent = 'Action: ' + (x || '(no name)');
        changed();
      }, { required: true, 'aria-required': 'true' }), null, [p]),
      moveButtons(f, list, j, p, 'action ' + (a.name || j + 1), fieldId(stagePath + '.name'))),
    h('div', { class: 'ed-grid' },
      field(f, p + '.actionTypeId', 'Provider', provider, null,
        ['category', 'owner', 'provider', 'version'].map((k) => p + '.actionTypeId.' + k)),
      number(f, p + '.runOrder', 'Run order', a, 'runOrder', 1, 999, 'Actions of one run order run side by side.'),
      field(f, p + '.namespace', 'Variable namespace', text(a.namespace, (x) => { set(a, 'namespace', x); changed(); })),
      field(f, p + '.region', 'Region', text(a.region, (x) => { set(a, 'region', x); changed(); })),
      field(f, p + '.inputArtifacts', 'Input artifacts (comma-separated)', text((a.inputArtifacts || []).map((x) => x.name).join(', '),
        (x) => { set(a, 'inputArtifacts', artifacts(a.inputArtifacts, x)); changed(); })),
      field(f, p + '.outputArtifacts', 'Output artifacts (comma-separated)', text((a.outputArtifacts || []).map((x) => x.name).join(', '),
        (x) => { set(a, 'outputArtifacts', artifacts(a.outputArtifacts, x)); changed(); }))),
    isCommands ? commands(f, p + '.commands', a) : null,
    isCommands ? commandsExtras(f, a, p) : null,
    configuration(f, a, p, known));
}

// commandsExtras are a Commands action's output variables (names of
// variables its commands export), environment variables (NAME=value a
// line; a variable already there keeps its type) and timeout.
function commandsExtras(f, a, p) {
  const changed = () => f.opts.changed(false);
  return h('div', { class: 'ed-grid' },
    field(f, p + '.outputVariables', 'Output variables (comma-separated)', text((a.outputVariables || []).join(', '),
      (x) => { set(a, 'outputVariables', splitList(x)); changed(); }), 'Exported by the commands; read as #{namespace.NAME}.'),
    field(f, p + '.environmentVariables', 'Environment variables (NAME=value, one a line)', h('textarea', {
      rows: 2, spellcheck: 'false', oninput: (e) => { set(a, 'environmentVariables', envVars(a.environmentVariables, e.target.value)); changed(); },
    }, (a.environmentVariables || []).map((v) => v.name + '=' + (v.value ?? '')).join('\n'))),
    number(f, p + '.timeoutInMinutes', 'Timeout (minutes)', a, 'timeoutInMinutes', 5, 86400));
}

// envVars turns NAME=value lines into environment variables, keeping the
// type of one already there by that name.
function envVars(old, s) {
  return s.split('\n').filter((l) => l.trim() !== '').map((l) => {
    const eq = l.indexOf('=');
    const name = (eq < 0 ? l : l.slice(0, eq)).trim();
    const v = { name, value: eq < 0 ? '' : l.slice(eq + 1) };
    const had = (old || []).find((x) => x.name === name);
    if (had && had.type) v.type = had.type;
    return v;
  });
}

// artifacts turns a comma-separated list of names into artifacts, keeping
// what the JSON says of the ones already there (an output's files).
function artifacts(old, s) {
  return splitList(s).map((name) => (old || []).find((x) => x.name === name) || { name });
}
