// A stage's conditions in the pipeline editor's form: before entry, on
// success and on failure, each a list of conditions — the result that
// applies and its rules. A rule has a name, a rule type from the server's
// (GET /v1/rule-types), that type's configuration, the commands of a
// Commands rule, input artifacts, a region, a role and a timeout. Field ids
// follow editorform.js: 'f-' and the JSON path the server's problems name.
import { h } from './dom.js';
import { button, commands, configuration, field, fieldId, number, retype, select, set, splitList, text } from './editorfields.js';

// The results each kind takes (shared/pipeline/validate_conditions.go),
// the first its default. A condition's result engages when one of its
// rules fails (CodePipeline's "How do stage conditions work?").
const kinds = [
  { key: 'beforeEntry', label: 'Before entry', hint: 'Checked before the stage runs.',
    results: [['', 'Fail (default)'], ['FAIL', 'Fail'], ['SKIP', 'Skip the stage']] },
  { key: 'onSuccess', label: 'On success', hint: 'Checked once the stage has succeeded.',
    results: [['', 'Fail (default)'], ['FAIL', 'Fail'], ['ROLLBACK', 'Roll back']] },
  { key: 'onFailure', label: 'On failure', hint: 'Checked once the stage has failed. Stageflow keeps these but does not evaluate them yet.',
    results: [['', 'Roll back (default)'], ['ROLLBACK', 'Roll back']] },
];

const ruleKey = (t) => (t.provider || '') + '/' + (t.version || '1');
const preferred = ['VariableCheck', 'DeploymentWindow', 'Commands'];

// stageConditions is the stage's conditions of each kind.
export function stageConditions(f, st, p) {
  return h('fieldset', { class: 'ed-conditions' }, h('legend', {}, 'Conditions'),
    h('div', { class: 'ed-kinds' }, kinds.map((kind) => conditionList(f, st, p, kind))));
}

function conditionList(f, st, p, kind) {
  const cp = p + '.' + kind.key;
  const holder = st[kind.key] && typeof st[kind.key] === 'object' ? st[kind.key] : null;
  const list = holder && Array.isArray(holder.conditions) ? holder.conditions : [];
  const add = button('b-' + cp + '.conditions.add', 'Add a condition', () => {
    const into = st[kind.key] && typeof st[kind.key] === 'object' ? st[kind.key] : (st[kind.key] = {});
    into.conditions = (Array.isArray(into.conditions) ? into.conditions : []).concat([{ rules: [newRule(f, [])] }]);
    f.opts.changed(true, fieldId(cp + '.conditions[' + (into.conditions.length - 1) + '].rules[0].name'));
  }, { 'aria-label': 'Add a condition ' + kind.label.toLowerCase() });
  f.fields.set(cp, add);
  f.fields.set(cp + '.conditions', add);
  return h('fieldset', { class: 'ed-condition-kind' + (list.length ? ' has' : ''), dataset: { kind: kind.key } }, h('legend', {}, kind.label),
    h('p', { class: 'hint' }, kind.hint),
    list.map((c, k) => condition(f, st, cp, kind, list, c, k)),
    add);
}

function condition(f, st, cp, kind, list, c, k) {
  const path = cp + '.conditions[' + k + ']';
  if (!Array.isArray(c.rules)) c.rules = [];
  const rules = c.rules;
  const remove = button('b-' + path + '.remove', 'Remove condition', () => {
    list.splice(k, 1);
    if (list.length === 0) {
      delete st[kind.key].conditions;
      // beforeEntry and onSuccess hold only conditions; onFailure may
      // hold a result too.
      if (Object.keys(st[kind.key]).length === 0) delete st[kind.key];
    }
    f.opts.changed(true, 'b-' + cp + '.conditions.add');
  }, { 'aria-label': 'Remove condition ' + (k + 1) + ' ' + kind.label.toLowerCase() });
  const addRule = button('b-' + path + '.rules.add', 'Add a rule', () => {
    rules.push(newRule(f, rules));
    f.opts.changed(true, fieldId(path + '.rules[' + (rules.length - 1) + '].name'));
  }, { 'aria-label': 'Add a rule to condition ' + (k + 1) + ' ' + kind.label.toLowerCase() });
  f.fields.set(path + '.rules', addRule);
  return h('fieldset', { class: 'ed-condition', dataset: { condition: String(k) } }, h('legend', {}, 'Condition ' + (k + 1)),
    h('div', { class: 'ed-head' },
      field(f, path + '.result', 'When a rule fails', select(kind.results, c.result || '', (v) => {
        set(c, 'result', v);
        f.opts.changed(false);
      }), null, [path]),
      remove),
    rules.map((r, j) => rule(f, path + '.rules[' + j + ']', rules, r, j)),
    addRule);
}

// newRule is a rule of the first preferred type the server lists, named
// apart from the others.
function newRule(f, rules) {
  let n = rules.length + 1;
  while (rules.some((r) => r.name === 'Rule' + n)) n++;
  const types = f.opts.ruleTypes || [];
  const t = preferred.map((x) => types.find((y) => y.provider === x)).find(Boolean) || types[0] ||
    { category: 'Rule', owner: 'AWS', provider: 'VariableCheck', version: '1' };
  return { name: 'Rule' + n, ruleTypeId: { category: t.category, owner: t.owner, provider: t.provider, version: t.version } };
}

function rule(f, p, list, r, j) {
  const changed = () => f.opts.changed(false);
  const types = f.opts.ruleTypes || [];
  r.ruleTypeId = r.ruleTypeId || {};
  const cur = ruleKey(r.ruleTypeId);
  const known = types.find((t) => ruleKey(t) === cur);
  const options = types.map((t) => [ruleKey(t), t.provider + ' · v' + t.version]);
  if (!known) options.push([cur, (r.ruleTypeId.provider || '(none)') + ' (not listed by the server)']);
  const provider = select(options, cur, (v) => {
    const t = types.find((x) => ruleKey(x) === v);
    if (!t) return;
    retype(r, 'ruleTypeId', t, t.provider === 'Commands');
    f.opts.changed(true, fieldId(p + '.ruleTypeId'));
  });
  const isCommands = r.ruleTypeId.provider === 'Commands';
  const legend = h('legend', {}, 'Rule: ' + (r.name || '(no name)'));
  return h('fieldset', { class: 'ed-rule', dataset: { rule: String(j) } }, legend,
    h('div', { class: 'ed-head' },
      field(f, p + '.name', 'Rule name', text(r.name, (x) => {
        r.name = x;
        legend.textContent = 'Rule: ' + (x || '(no name)');
        changed();
      }, { required: true, 'aria-required': 'true' }), null, [p]),
      button('b-' + p + '.remove', 'Remove rule', () => {
        list.splice(j, 1);
        f.opts.changed(true, 'b-' + p.replace(/\.rules\[\d+\]$/, '.rules.add'));
      }, { 'aria-label': 'Remove rule ' + (r.name || j + 1) })),
    h('div', { class: 'ed-grid' },
      field(f, p + '.ruleTypeId', 'Rule type', provider, null,
        ['category', 'owner', 'provider', 'version'].map((k) => p + '.ruleTypeId.' + k)),
      field(f, p + '.inputArtifacts', 'Input artifacts (comma-separated)', text((r.inputArtifacts || []).map((x) => x.name).join(', '),
        (x) => { set(r, 'inputArtifacts', splitList(x).map((name) => ({ name }))); changed(); })),
      field(f, p + '.region', 'Region', text(r.region, (x) => { set(r, 'region', x); changed(); })),
      field(f, p + '.roleArn', 'Role ARN', text(r.roleArn, (x) => { set(r, 'roleArn', x); changed(); })),
      number(f, p + '.timeoutInMinutes', 'Timeout (minutes)', r, 'timeoutInMinutes', 5, 86400)),
    isCommands ? commands(f, p + '.commands', r) : null,
    configuration(f, r, p, known));
}
