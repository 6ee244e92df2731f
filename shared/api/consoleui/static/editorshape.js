// shapeProblem names the first member of a pipeline document the editor's
// form cannot show: one that is not the kind of value the API gives it (an
// object, a list, or a single value such as text or a number). '' when the
// form can show the whole document; the server checks everything else.
const scalar = { kind: 'a single value (text or a number)' };
const list = (item) => ({ kind: 'a list', item });
const object = (members) => ({ kind: 'an object', members });
const map = (item) => ({ kind: 'an object', any: item });

const criteria = object({ includes: list(scalar), excludes: list(scalar) });
const typeId = object({ category: scalar, owner: scalar, provider: scalar, version: scalar });
const artifact = object({ name: scalar });
const rule = object({
  name: scalar, ruleTypeId: typeId, configuration: map(scalar), commands: list(scalar), inputArtifacts: list(artifact),
  region: scalar, roleArn: scalar, timeoutInMinutes: scalar,
});
const condition = object({ result: scalar, rules: list(rule) });
const action = object({
  name: scalar, actionTypeId: typeId, runOrder: scalar, namespace: scalar, region: scalar, roleArn: scalar,
  configuration: map(scalar), inputArtifacts: list(artifact), outputArtifacts: list(artifact), commands: list(scalar),
  outputVariables: list(scalar), environmentVariables: list(object({ name: scalar, value: scalar, type: scalar })),
  timeoutInMinutes: scalar,
});
const stage = object({
  name: scalar, actions: list(action),
  onFailure: object({ result: scalar, retryConfiguration: object({ retryMode: scalar }), conditions: list(condition) }),
  onSuccess: object({ conditions: list(condition) }),
  beforeEntry: object({ conditions: list(condition) }),
});
const trigger = object({
  providerType: scalar,
  gitConfiguration: object({
    sourceActionName: scalar,
    push: list(object({ branches: criteria, tags: criteria, filePaths: criteria })),
    pullRequest: list(object({ events: list(scalar), branches: criteria, filePaths: criteria })),
  }),
});
const pipeline = object({
  name: scalar, pipelineType: scalar, executionMode: scalar, roleArn: scalar,
  variables: list(object({ name: scalar, defaultValue: scalar, description: scalar })),
  triggers: list(trigger), stages: list(stage),
});

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// walk returns the path of the first value at or below path that is not
// of its spec's kind ('' for the document itself), null when there is
// none. A member that is absent or null is left out (the form shows it
// empty); an item of a list is never left out.
function walk(v, spec, path) {
  if (spec === scalar) return v !== null && typeof v === 'object' ? path : null;
  if (spec.item) {
    if (!Array.isArray(v)) return path;
    for (let i = 0; i < v.length; i++) {
      const at = path + '[' + i + ']';
      if (spec.item !== scalar && !isObject(v[i])) return at;
      const bad = walk(v[i], spec.item, at);
      if (bad !== null) return bad;
    }
    return null;
  }
  if (!isObject(v)) return path;
  for (const [k, member] of Object.entries(spec.members || {})) {
    if (v[k] === undefined || v[k] === null) continue;
    const bad = walk(v[k], member, path ? path + '.' + k : k);
    if (bad !== null) return bad;
  }
  for (const [k, x] of Object.entries(spec.any ? v : {})) {
    const bad = walk(x, spec.any, path ? path + '.' + k : k);
    if (bad !== null) return bad;
  }
  return null;
}

// kindAt is what the value at a path returned by walk must be.
function kindAt(spec, path) {
  let cur = spec;
  for (const part of path.match(/[^.[\]]+|\[\d+\]/g) || []) {
    if (part.startsWith('[')) cur = cur.item;
    else cur = cur.any || (cur.members && cur.members[part]);
    if (!cur) return 'something else';
  }
  return cur.kind;
}

export function shapeProblem(doc) {
  const at = walk(doc, pipeline, '');
  if (at === null) return '';
  return (at || 'the document') + ' must be ' + kindAt(pipeline, at);
}
