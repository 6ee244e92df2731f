// A line diff (Myers' O(ND) algorithm, with the common head and tail cut
// off first): diffLines(a, b) is a list of {op, text} in order, op '='
// for a line of both, '-' for a line only of a, '+' for one only of b.

export function diffLines(a, b) {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const out = [];
  for (let i = 0; i < head; i++) out.push({ op: '=', text: a[i] });
  out.push(...myers(a.slice(head, a.length - tail), b.slice(head, b.length - tail)));
  for (let i = a.length - tail; i < a.length; i++) out.push({ op: '=', text: a[i] });
  return out;
}

// myers finds a shortest edit script from a to b. v[k] is the furthest x
// reached on diagonal k = x - y; trace keeps, for each edit count d, the
// diagonals -d-1..d+1 of v as they were before step d, to walk back.
function myers(a, b) {
  const n = a.length;
  const m = b.length;
  if (n === 0) return b.map((text) => ({ op: '+', text }));
  if (m === 0) return a.map((text) => ({ op: '-', text }));
  const max = n + m;
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace = [];
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice(off - d - 1, off + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x = (k === -d || (k !== d && v[off + k - 1] < v[off + k + 1])) ? v[off + k + 1] : v[off + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) { x++; y++; }
      v[off + k] = x;
      if (x >= n && y >= m) return walkBack(a, b, trace);
    }
  }
  throw new Error('diff: no edit script'); // unreachable: d = n + m always ends
}

function walkBack(a, b, trace) {
  const rev = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d >= 0; d--) {
    const t = trace[d];
    const at = (k) => t[k + d + 1];
    const k = x - y;
    const prevK = (k === -d || (k !== d && at(k - 1) < at(k + 1))) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) { rev.push({ op: '=', text: a[x - 1] }); x--; y--; }
    if (d > 0) {
      if (x === prevX) rev.push({ op: '+', text: b[y - 1] });
      else rev.push({ op: '-', text: a[x - 1] });
    }
    x = prevX;
    y = prevY;
  }
  return rev.reverse();
}

// hunks keeps `context` unchanged lines around each change and folds the
// other unchanged runs into {op: '…', count}.
export function hunks(lines, context) {
  const keep = new Array(lines.length).fill(false);
  lines.forEach((l, i) => {
    if (l.op === '=') return;
    for (let j = Math.max(0, i - context); j <= Math.min(lines.length - 1, i + context); j++) keep[j] = true;
  });
  const out = [];
  let folded = 0;
  lines.forEach((l, i) => {
    if (keep[i]) {
      if (folded) out.push({ op: '…', count: folded });
      folded = 0;
      out.push(l);
    } else {
      folded++;
    }
  });
  if (folded) out.push({ op: '…', count: folded });
  return out;
}
