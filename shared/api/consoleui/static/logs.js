// An action run's log: line numbers, ANSI colours, a search, a deep link to
// each line (#/pipelines/NAME/executions/ID/logs/RUN/L42), a download, and
// new lines while the run goes on, streamed (server-sent events, each line
// with the time the server read it) or, where no stream gets through, read
// a page a second. A failed run's log opens on its last line that names an
// error (or on its last line).
import { canStream, get, seg } from './api.js';
import { h, replace } from './dom.js';

const pageLimit = 256 * 1024;
const maxBytes = 8 * 1024 * 1024;

export function renderLog(ctx, name, execId, runId, line) {
  const view = { alive: true, timer: null, es: null, polling: false };
  const base = '/v1/pipelines/' + seg(name) + '/executions/' + seg(execId);
  const here = '#/pipelines/' + seg(name) + '/executions/' + seg(execId) + '/logs/' + seg(runId);
  const lines = h('ol', { class: 'log', id: 'log', 'aria-label': 'Log lines' });
  const status = h('p', { class: 'muted', id: 'log-status', 'aria-live': 'polite' }, 'Loading the log…');
  const search = h('input', { type: 'search', id: 'log-search', placeholder: 'Find in the log', autocomplete: 'off' });
  const download = h('button', { type: 'button', class: 'secondary', id: 'log-download' }, 'Download');
  const title = h('h1', {}, 'Log');
  replace(ctx.main,
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' },
      h('a', { href: '#/' }, 'Pipelines'), ' / ', h('a', { href: '#/pipelines/' + seg(name) }, name), ' / ',
      h('a', { href: '#/pipelines/' + seg(name) + '/executions/' + seg(execId) }, execId.slice(0, 8)), ' / log'),
    title,
    h('div', { class: 'toolbar' }, h('label', { for: 'log-search' }, 'Find'), search, download),
    status, lines);

  let text = '';
  let offset = 0;
  let shown = 0;
  let run = null;
  const all = [];
  // addLines shows the new whole lines (and the last one once the log is
  // complete); at, when the lines were streamed, is when the server read
  // them (the log keeps no time per line, so lines read by pages show none).
  const addLines = (complete, at) => {
    const parts = text.split('\n');
    const keep = complete ? parts.length : parts.length - 1;
    const when = at ? new Date(at) : null;
    const stamp = when && !isNaN(when) ? h('time', { class: 'ts', datetime: when.toISOString(), title: 'Streamed at ' + when.toLocaleString() },
      when.toLocaleTimeString([], { hour12: false })) : null;
    for (let i = shown; i < keep; i++) {
      if (complete && i === parts.length - 1 && parts[i] === '') break;
      const n = i + 1;
      const li = h('li', { id: 'L' + n, dataset: { line: String(n) } },
        h('a', { class: 'ln', href: here + '/L' + n, 'aria-label': 'Line ' + n }, String(n)),
        stamp ? stamp.cloneNode(true) : null,
        h('span', { class: 'text' }, ansi(parts[i])));
      lines.append(li);
      all.push({ li, plain: stripANSI(parts[i]).toLowerCase() });
      shown = i + 1;
    }
  };
  download.addEventListener('click', () => {
    const url = URL.createObjectURL(new Blob([stripANSI(text)], { type: 'text/plain' }));
    const a = h('a', { href: url, download: runId + '.log' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  });
  search.addEventListener('input', () => {
    const q = search.value.trim().toLowerCase();
    let hits = 0;
    for (const l of all) {
      const hit = q !== '' && l.plain.includes(q);
      l.li.classList.toggle('hit', hit);
      if (hit) hits++;
    }
    status.textContent = q === '' ? status.dataset.base : hits + ' lines match';
    const first = lines.querySelector('li.hit');
    if (first) first.scrollIntoView({ block: 'center' });
  });

  const focusLine = (n) => {
    const li = document.getElementById('L' + n);
    if (!li) return false;
    for (const x of lines.querySelectorAll('li.target')) x.classList.remove('target');
    li.classList.add('target');
    li.scrollIntoView({ block: 'center' });
    li.querySelector('a.ln').focus({ preventScroll: true });
    return true;
  };

  // finish shows the whole log: its size, and the line asked for (or, for
  // a failed run, its failing line).
  const finish = (capped) => {
    status.dataset.base = shown + ' lines' + (capped ? ' (the first 8 MiB)' : '');
    status.textContent = status.dataset.base;
    let target = line;
    if (!target && run.status === 'Failed') target = failingLine(all);
    if (target) focusLine(target);
  };
  const going = (how) => {
    status.dataset.base = shown + ' lines so far; the run goes on (' + how + ')';
    status.textContent = status.dataset.base;
  };

  // follow streams the rest of a running action's log (server-sent events:
  // each new piece with the time the server read it). Where no stream gets
  // through (a gateway that cannot stream, or the server's cap on followed
  // logs), the page reads the log a page a second instead.
  const follow = () => {
    const es = new EventSource(base + '/actions/' + seg(runId) + '/logs?offset=' + offset);
    view.es = es;
    let got = false;
    let lastAt = '';
    going('live');
    es.addEventListener('log', (ev) => {
      got = true;
      let d;
      try { d = JSON.parse(ev.data); } catch { return; }
      if (!view.alive || d.offset !== offset) return;
      text += d.content;
      offset = Number(ev.lastEventId); // the byte offset after it (content may hold U+FFFD for bytes that are not UTF-8)
      lastAt = d.time;
      addLines(false, d.time);
      if (offset >= maxBytes) { // as much as the page shows
        es.close();
        view.es = null;
        finish(true);
        return;
      }
      going('live');
    });
    es.addEventListener('end', (ev) => {
      es.close();
      view.es = null;
      if (!view.alive) return;
      let d = {};
      try { d = JSON.parse(ev.data); } catch { /* the end all the same */ }
      if (d.status) run.status = d.status;
      addLines(true, lastAt); // a last line without its newline, streamed with the rest
      finish(false);
    });
    es.onerror = () => {
      if (!view.alive) return;
      // After a message EventSource reconnects by itself where it was
      // (Last-Event-ID), unless the server refused.
      if (got && es.readyState !== EventSource.CLOSED) return;
      es.close();
      view.es = null;
      going('checking every second');
      view.timer = setTimeout(load, 1000);
      view.polling = true;
    };
  };

  const load = async () => {
    try {
      if (!run) {
        const e = await get(base);
        run = (e.actions || []).find((r) => r.id === runId) || null;
        if (!run) throw new Error('This execution has no action run ' + runId + '.');
        title.textContent = 'Log of ' + run.stage + ' / ' + run.action + (run.attempt > 1 ? ' (attempt ' + run.attempt + ')' : '');
      }
      for (;;) {
        const page = await get(base + '/actions/' + seg(runId) + '/logs?offset=' + offset + '&limit=' + pageLimit);
        if (!view.alive) return;
        text += page.content;
        offset = page.nextOffset;
        addLines(page.complete, '');
        if (page.complete || offset >= maxBytes) {
          if (page.complete && run.status === 'InProgress') {
            // ended meanwhile: its status decides the line to open on
            const e = await get(base);
            run = (e.actions || []).find((r) => r.id === runId) || run;
          }
          finish(offset >= maxBytes && !page.complete);
          return;
        }
        if (page.content === '') break; // the run goes on
      }
      if (!view.polling && canStream() && typeof EventSource === 'function') {
        follow();
        return;
      }
      going('checking every second');
      view.timer = setTimeout(load, 1000);
    } catch (err) {
      ctx.showError(err);
      status.textContent = 'The log could not be read.';
    }
  };
  load();
  return () => {
    view.alive = false;
    clearTimeout(view.timer);
    if (view.es) view.es.close();
  };
}

// failingLine is the last line of the commands' own output naming an error
// or a failure (lines of the runner itself begin with [Stageflow] or
// [Container]), else the last such line of the runner, else the last line.
function failingLine(all) {
  const failing = /error|fail|fatal|panic|exception|exit (status|code)/;
  let runner = 0;
  for (let i = all.length - 1; i >= 0; i--) {
    if (!failing.test(all[i].plain)) continue;
    if (!/^\[(stageflow|container)\]/.test(all[i].plain)) return i + 1;
    if (!runner) runner = i + 1;
  }
  return runner || all.length;
}

const sgr = /\x1b\[([0-9;]*)m/g;
const otherEscapes = /\x1b\[[0-9;?]*[A-Za-ln-z]|\x1b\][^\x07]*\x07|\r/g;

function stripANSI(s) { return s.replace(sgr, '').replace(otherEscapes, ''); }

// ansi renders SGR colour and bold codes as spans with classes; every
// other escape is dropped. The text stays text.
function ansi(s) {
  s = s.replace(otherEscapes, '');
  const out = [];
  let cls = [];
  let last = 0;
  const push = (t) => { if (t) out.push(cls.length ? h('span', { class: cls.join(' ') }, t) : t); };
  for (const m of s.matchAll(sgr)) {
    push(s.slice(last, m.index));
    last = m.index + m[0].length;
    for (const c of (m[1] === '' ? ['0'] : m[1].split(';'))) {
      const n = Number(c);
      if (n === 0) cls = [];
      else if (n === 1) cls = [...cls.filter((x) => x !== 'b'), 'b'];
      else if ((n >= 30 && n <= 37) || (n >= 90 && n <= 97)) cls = [...cls.filter((x) => !x.startsWith('fg')), 'fg' + (n >= 90 ? n - 90 + 8 : n - 30)];
      else if (n === 39) cls = cls.filter((x) => !x.startsWith('fg'));
    }
  }
  push(s.slice(last));
  return out;
}
