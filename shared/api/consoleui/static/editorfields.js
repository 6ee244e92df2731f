// The pipeline editor's form fields: labelled inputs registered by the
// JSON path the server's problems name (editorform.js, editorconditions.js).
import { h } from './dom.js';

export const fieldId = (path) => 'f-' + path;

export const splitList = (s) => s.split(/[,\n]/).map((x) => x.trim()).filter((x) => x !== '');

// set puts value at obj[key], or removes the key for an empty value (the
// API refuses empty optional strings).
export function set(obj, key, value) {
  if (value === '' || value === undefined || value === null || (Array.isArray(value) && value.length === 0)) delete obj[key];
  else obj[key] = value;
}

// field is a labelled input registered at path; more paths may name it too.
export function field(f, path, label, control, hint, also) {
  control.id = fieldId(path);
  f.fields.set(path, control);
  for (const p of also || []) f.fields.set(p, control);
  let hintEl = null;
  if (hint) {
    hintEl = h('span', { class: 'hint', id: control.id + '-hint' }, hint);
    control.setAttribute('aria-describedby', hintEl.id);
  }
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

export function text(value, oninput, attrs) {
  return h('input', Object.assign({ type: 'text', value: value ?? '', autocomplete: 'off', spellcheck: 'false', oninput: (e) => oninput(e.target.value) }, attrs || {}));
}

export function select(options, value, onchange) {
  return h('select', { onchange: (e) => onchange(e.target.value) },
    options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
}

// button makes a form button; id (b- and a path) lets a rebuilt form put
// the focus back on it.
export function button(id, label, onclick, attrs) {
  return h('button', Object.assign({ type: 'button', class: 'secondary small', id, onclick }, attrs || {}), label);
}

// number edits obj[key], a whole number from min to max (anything else
// leaves the key out, for the server to name).
export function number(f, path, label, obj, key, min, max, hint) {
  return field(f, path, label, h('input', {
    type: 'number', min, max, value: obj[key] ?? '', oninput: (e) => {
      const n = Number(e.target.value);
      set(obj, key, e.target.value === '' || !Number.isInteger(n) ? undefined : n);
      f.opts.changed(false);
    },
  }), hint || null);
}

// commands edits obj.commands, one command a line (an action's or a
// rule's).
export function commands(f, path, obj) {
  return field(f, path, 'Commands (one a line, required)', h('textarea', {
    rows: 3, spellcheck: 'false', 'aria-required': 'true',
    oninput: (e) => { set(obj, 'commands', e.target.value.split('\n').filter((l) => l.trim() !== '')); f.opts.changed(false); },
  }, (obj.commands || []).join('\n')));
}

// retype gives obj (an action or a rule) another type: its idKey member
// names type t, and it keeps only the commands and configuration keys
// that type takes.
export function retype(obj, idKey, t, takesCommands) {
  obj[idKey] = { category: t.category, owner: t.owner, provider: t.provider, version: t.version };
  if (!takesCommands) delete obj.commands;
  const props = new Set((t.properties || []).map((x) => x.name));
  for (const k of Object.keys(obj.configuration || {})) if (!props.has(k)) delete obj.configuration[k];
  set(obj, 'configuration', obj.configuration && Object.keys(obj.configuration).length ? obj.configuration : undefined);
}

// configuration is a field for each configuration property of the action
// or rule type (required ones marked, secret ones as password inputs),
// then the keys the action or rule has that its type does not list.
export function configuration(f, a, p, type) {
  const props = (type && type.properties) || [];
  const extra = Object.keys(a.configuration || {}).filter((k) => !props.some((x) => x.name === k));
  if (props.length === 0 && extra.length === 0) return null;
  const setKey = (k, v) => {
    a.configuration = a.configuration || {};
    set(a.configuration, k, v);
    if (Object.keys(a.configuration).length === 0) delete a.configuration;
    f.opts.changed(false);
  };
  const value = (k) => (a.configuration || {})[k];
  const one = (prop) => {
    const k = prop.name;
    const path = p + '.configuration.' + k;
    let control;
    if (prop.type === 'Boolean') {
      control = select([['', '(not set)'], ['true', 'true'], ['false', 'false']], value(k) || '', (v) => setKey(k, v));
    } else {
      control = text(value(k), (v) => setKey(k, v), { type: prop.secret ? 'password' : 'text', autocomplete: prop.secret ? 'new-password' : 'off' });
    }
    if (prop.required) { control.required = true; control.setAttribute('aria-required', 'true'); }
    return field(f, path, k + (prop.required ? ' (required)' : '') + (prop.secret ? ' (secret)' : ''), control, prop.description || null);
  };
  const el = h('fieldset', { class: 'ed-config' }, h('legend', {}, 'Configuration'),
    h('div', { class: 'ed-grid' }, props.map(one), extra.map((k) => one({ name: k }))));
  f.fields.set(p + '.configuration', el.querySelector('input, select') || el);
  return el;
}
