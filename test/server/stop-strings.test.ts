// StopStringMatcher: table cases, and a property: any chunking of the text emits exactly the text
// before the first stop string, and never a character of the stop string itself.
import t from 'tap';
import { Rng } from '../../common/rng.ts';
import { StopStringMatcher } from '../../server/stop-strings.ts';

function run(stops: string[], pieces: string[]): { out: string[]; stopped: boolean } {
  const m = new StopStringMatcher(stops);
  const out: string[] = [];
  for (const p of pieces) {
    const r = m.push(p);
    out.push(r.text);
    if (r.stopped) return { out, stopped: true };
  }
  out.push(m.flush());
  return { out, stopped: false };
}

t.test('table', async (t) => {
  const cases: { stops: string[]; pieces: string[]; out: string[]; stopped: boolean }[] = [
    { stops: [], pieces: ['ab', 'c'], out: ['ab', 'c', ''], stopped: false },
    { stops: ['###'], pieces: ['ab#', '#', 'x'], out: ['ab', '', '##x', ''], stopped: false },
    { stops: ['###'], pieces: ['ab#', '#', '#tail'], out: ['ab', '', ''], stopped: true },
    { stops: ['END'], pieces: ['fooEN'], out: ['foo', 'EN'], stopped: false },
    { stops: ['END'], pieces: ['xENDy'], out: ['x'], stopped: true },
    { stops: ['b', 'abc'], pieces: ['a', 'bc'], out: ['', ''], stopped: true }, // the earliest match wins
    { stops: ['bc', 'x'], pieces: ['a', 'bc'], out: ['a', ''], stopped: true },
    { stops: ['\n\n'], pieces: ['line\n', '\nnext'], out: ['line', ''], stopped: true },
  ];
  for (const c of cases) t.same(run(c.stops, c.pieces), { out: c.out, stopped: c.stopped }, JSON.stringify(c));
});

t.test('any chunking emits the text before the first stop, never part of a stop', async (t) => {
  const rng = new Rng(5);
  const alphabet = 'ab#\n';
  for (let trial = 0; trial < 300; trial++) {
    const len = 1 + Math.floor(rng.next() * 30);
    let text = '';
    for (let i = 0; i < len; i++) text += alphabet[Math.floor(rng.next() * alphabet.length)];
    const stops = Array.from({ length: 1 + Math.floor(rng.next() * 2) }, () => {
      let s = '';
      const n = 1 + Math.floor(rng.next() * 3);
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(rng.next() * alphabet.length)];
      return s;
    });
    const pieces: string[] = [];
    for (let i = 0; i < text.length;) {
      const n = 1 + Math.floor(rng.next() * 4);
      pieces.push(text.slice(i, i + n));
      i += n;
    }
    const firstStop = Math.min(...stops.map((s) => (text.indexOf(s) < 0 ? Infinity : text.indexOf(s))));
    const expected = firstStop === Infinity ? text : text.slice(0, firstStop);
    const { out, stopped } = run(stops, pieces);
    if (out.join('') !== expected || stopped !== (firstStop !== Infinity)) {
      t.fail(`text ${JSON.stringify(text)} stops ${JSON.stringify(stops)} pieces ${JSON.stringify(pieces)} -> ${JSON.stringify(out)}`);
      return;
    }
  }
  t.pass('300 random chunkings');
});
