// Generates tests/datetime_jsonata_js.json: random $formatInteger, $parseInteger, $fromMillis and
// $toMillis calls (realistic pictures, round trips, raw character soup, ISO 8601 look-alikes) with
// what jsonata-js answers, for tests/datetime_jsonata_js.rs to compare jsonata::datetime with.
//
//   npm install jsonata@2.2.2   (anywhere on NODE_PATH)
//   TZ=UTC SEED=1 KEEP=6 node harness/jsonata/tests/datetime_jsonata_js.js
//
// "now" is fixed (Date without arguments), so pictures that leave the date out are reproducible.
// Results: {kind: string|number|nan|undefined|error (a JSONata code)|jserror (a JavaScript
// exception: any error is accepted)}; numbers are written with String() so that no JSON reader
// rounds them; strings with lone surrogates are written well-formed (U+FFFD), as Rust holds them.
const FIXED = Date.UTC(2024, 0, 1, 13, 25, 7, 123);
const RealDate = Date;
global.Date = class extends RealDate {
  constructor(...a) { if (a.length === 0) super(FIXED); else super(...a); }
  static now() { return FIXED; }
};
const jsonata = require('jsonata');
const SEED = Number(process.env.SEED || 1) >>> 0;
const KEEP = Number(process.env.KEEP || 6);
// mulberry32
let seed = SEED;
function rnd(n) { seed = (seed + 0x6D2B79F5) >>> 0; let t = seed; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return (((t ^ (t >>> 14)) >>> 0) % n); }
function pick(a) { return a[rnd(a.length)]; }
const comps = ['Y','M','D','d','F','W','w','X','x','H','h','P','m','s','f','Z','z','C','E','q'];
const pres = ['', '1', '01', '001', '0001', '#1', '##01', 'N', 'n', 'Nn', 'w', 'W', 'Ww', 'i', 'I', 'a', 'A', '1o', 'wo', 'Wwo', '01:01', '0101', '0', '01t', '01:01t', '0000', '9,999', '١', '０', '#,##0', 'α', '0;o'];
const widths = ['', '', '', ',2', ',2-2', ',*-3', ',3-3', ',1-*', ',4', ',*', ',2-x', ',-1', ',0'];
const lits = ['-', '/', ' ', ':', 'T', '.', ', ', 'Z', ' of ', '', '', '[[', ']]', 'x'];
function picture() {
  let n = 1 + rnd(6), s = '';
  for (let i = 0; i < n; i++) { s += pick(lits); s += '[' + pick(comps) + pick(pres) + pick(widths) + ']'; }
  if (rnd(10) === 0) s += '[';
  return s;
}
const intPics = ['0', '000', '#,##0', '#,###,##0', '#:###,##0', '##,##,##0', '0;o', '#0;o', 'w', 'W', 'Ww', 'w;o', 'W;o', 'Ww;o', 'i', 'I', 'a', 'A', '###١', '##0١', '#', 'α', '0,', '0.000', '##0,00', '٠٠', '٠;o', ';o', '', '#0#0', '0##', '00,000'];
const cases = [];
async function run(fn, args) {
  const names = args.map((_, i) => '$a' + i);
  const expr = '$' + fn + '(' + names.join(', ') + ')';
  const bindings = {}; args.forEach((a, i) => bindings['a' + i] = a);
  let out;
  try {
    const r = await jsonata(expr).evaluate({}, bindings);
    if (r === undefined) out = { kind: 'undefined' };
    else if (typeof r === 'number') out = Number.isNaN(r) ? { kind: 'nan' } : { kind: 'number', value: String(r) };
    else out = { kind: 'string', value: r.toWellFormed(), lone: r !== r.toWellFormed() };
  } catch (e) {
    out = e.code ? { kind: 'error', value: e.code } : { kind: 'jserror', value: String(e.message || e) };
  }
  cases.push({ fn, args: args.map(a => typeof a === 'number' ? { n: String(a) } : a), out });
  return out;
}
(async () => {
  const values = [0, 1, 2, 3, 11, 12, 13, 19, 20, 21, 99, 100, 101, 111, 999, 1000, 1001, 1234, 99999, 100000, 123456789, 1e12, 1e12 - 1, 1e15, 1e15 + 3, 9007199254740991, 1e21, 1e30, -1, -12, -1234, 12.6, -12.6, 0.5];
  for (let i = 0; i < 3000; i++) {
    const v = pick(values) * (rnd(5) === 0 ? 7 : 1);
    await run('formatInteger', [v, pick(intPics)]);
  }
  for (let i = 0; i < 1500; i++) {
    const p = pick(intPics);
    const v = pick(values);
    const f = await run('formatInteger', [Math.abs(v), p]);
    const text = f.kind === 'string' && rnd(4) ? f.value : pick(['abc', '', '12', 'one', 'xiv', 'MXQ', '1,2,3', ' 42', '0x1A', 'and', 'twenty one', '١٢', '12th', 'zz', 'ß']);
    await run('parseInteger', [text, p]);
  }
  const times = [0, 1, -1, 1521801216617, 1204405500000, 1199664000000, 1546257600000, 1483185600000, 1451304000000, 1359460800000, 1483272000000, -62135596800000, -62198755200000, -2777932800000, 951782400000, 4107542400000, 1e20, -8.64e15, 8.64e15, 1.5, 1704067200000 + 43200000];
  for (let i = 0; i < 4000; i++) {
    const t = pick(times) + (rnd(3) === 0 ? rnd(1000) * 86400000 + rnd(86400000) : 0);
    const p = picture();
    const r = rnd(4);
    const tz = pick(['+0100', '-0500', '+0530', '-0530', '0000', '+1000', 'abc', '+01:30', '-0000', '1234']);
    const f = r === 0 ? await run('fromMillis', [t, p, tz]) : await run('fromMillis', [t, p]);
    if (f.kind === 'string' && !f.lone) await run('toMillis', [f.value, p]);
  }
  // Realistic pictures, round trips
  const good = ['[Y0001]-[M01]-[D01]', '[D1o] [MNn] [Y]', '[FNn], [D1o] [MNn] [Y]', '[h]:[m01] [P]', '[H01]:[m01]:[s01].[f001]', '[Y]-[d001]', '[Dw] [MNn] [Yw]', '[DW] of [MNn], [Yw]', '[Y0001][M01][D01][H01][m01][s01]', '[Y0001]-[M01]-[D01] [H01]:[m01]:[s01] [Z]', '[Y0001]-[M01]-[D01] [H01]:[m01]:[s01] [z]', '[Y0001]-[M01]-[D01] [H01]:[m01]:[s01] [Z0001]', '[Y0001]-[M01]-[D01] [H01]:[m01]:[s01] [Z0]', '[D#1,2]/[M1,2]/[Y,2]', '[Da] [MA] [Yi]', '[D1] [MNn,3-3] [Y0001]', '[FNn,*-3], [DWwo] [MNn] [Y]', '[X0001]-W[W01]-[F1]', '[H]:[m]', '[m]:[s]', '[M]-[D]', '[Y]', '[D]', '[s].[f1]', '[Y,*-4][M01]', '[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f1]'];
  for (let i = 0; i < 3000; i++) {
    const t = pick(times.slice(0, 16)) + rnd(4000) * 86400000 + rnd(86400000) - 2000 * 86400000;
    const p = pick(good);
    const tz = pick([undefined, '+0200', '-0500', '+0530']);
    const f = tz ? await run('fromMillis', [t, p, tz]) : await run('fromMillis', [t, p]);
    if (f.kind === 'string' && !f.lone) await run('toMillis', [f.value, p]);
  }

  // Chaos: raw atoms
  const atoms = ['[', ']', '[[', ']]', 'Y', 'M', 'D', 'd', 'F', 'W', 'w', 'X', 'x', 'H', 'h', 'P', 'm', 's', 'f', 'Z', 'z', 'C', 'E', 'q', '0', '1', '9', '#', ',', ';', '-', '*', 'o', 't', 'N', 'n', 'I', 'a', 'A', 'i', ':', '.', '١', '٠', '０', '😀', ' ', '\t', '𝟎', 'GMT', '+', 'and', 'one', 'th', 'st', 'Mar', 'march', 'AM', 'pm', '12', '2018', '|', '?', '{', '}', '(', 'ß', 'İ', 'ı', 'K', '\u212A'];
  const chaosText = () => { let n = rnd(9), t = ''; for (let i = 0; i < n; i++) t += pick(atoms); return t; };
  const vals = [0, 1, -1, 12.5, 1e15, -1e20, 1521801216617, 7, 26, 27, 3999, 4000, 1e21, 255, -0.5, 0.5, 1e-7, 123456.789];
  for (let i = 0; i < 6000; i++) {
    const p = chaosText(), t = chaosText(), v = pick(vals);
    const k = rnd(7);
    if (k === 0) await run('formatInteger', [v, p]);
    else if (k === 1) await run('parseInteger', [t, p]);
    else if (k === 2) await run('fromMillis', [v, p]);
    else if (k === 3) await run('fromMillis', [v, '[' + p + ']', t]);
    else if (k === 4) await run('toMillis', [t, p]);
    else if (k === 5) await run('toMillis', [t, '[' + p + ']']);
    else { const f = await run('fromMillis', [v, p]); if (f.kind === 'string' && !f.lone) await run('toMillis', [f.value, p]); }
  }
  // ISO 8601 without a picture
  const isoParts = () => {
    let s = String(rnd(10000)).padStart(4, '0');
    if (rnd(3)) s += '-' + String(rnd(20)).padStart(2, '0');
    if (rnd(3)) s += '-' + String(rnd(40)).padStart(2, '0');
    if (rnd(2)) s += 'T' + String(rnd(30)).padStart(2, '0') + ':' + String(rnd(60)).padStart(2, '0') + ':' + String(rnd(60)).padStart(2, '0');
    if (rnd(3) === 0) s += '.' + String(rnd(100000)).slice(0, 1 + rnd(5));
    const z = rnd(6); if (z === 0) s += 'Z'; else if (z === 1) s += pick(['+', '-']) + String(rnd(30)).padStart(2, '0') + ':' + String(rnd(60)).padStart(2, '0'); else if (z === 2) s += pick(['+', '-']) + String(rnd(3000)).padStart(4, '0');
    if (rnd(20) === 0) s += pick(['x', ' ', '-01', '.']);
    return s;
  };
  for (let i = 0; i < 4000; i++) await run('toMillis', [isoParts()]);
  for (let i = 0; i < 500; i++) await run('fromMillis', [pick(times) + rnd(1e9)]);
  // One case in KEEP (spread by a hash of the index: calls come in pairs), and none whose text is long (roman numerals in the thousands).
  const kept = cases.filter((c, i) => ((Math.imul(i + 1, 2654435761) >>> 0) >>> 8) % KEEP === 0 && JSON.stringify(c).length < 400);
  const out = process.env.OUT || require('path').join(__dirname, 'datetime_jsonata_js.json');
  const lines = kept.map(c => '  ' + JSON.stringify(c));
  require('fs').writeFileSync(out, '{"generator": "datetime_jsonata_js.js", "jsonata": "' + require('jsonata/package.json').version + '", "seed": ' + SEED + ', "now": ' + FIXED + ', "cases": [\n' + lines.join(',\n') + '\n]}\n');
  console.log(cases.length, 'generated,', kept.length, 'kept in', out);
})();
