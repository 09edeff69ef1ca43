// loadEngine: the recycling matrix's hot start survives restarts through --recycling-state.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { sharedMatrix } from '../../drafters/recycling.ts';
import { generate } from '../../engine/generate.ts';
import { loadEngine } from '../../engine/load.ts';
import { GREEDY } from '../../common/sampling.ts';
import { testModel } from '../helpers/models.ts';

t.test('recycling state is saved on dispose and loaded at start', async (t) => {
  const dir = testModel('load-rec', { arch: 'llama', seed: 71, layers: 1, hidden: 32, heads: 4, kvHeads: 2, vocab: 300, intermediate: 48 });
  const file = path.join(t.testdir(), 'recycling.bin');
  const a = await loadEngine({ model: dir, recyclingState: file, threads: 1 });
  await generate(a.runner, { promptTokens: [1, 5, 6, 7], maxTokens: 16, sampling: GREEDY, drafters: ['recycling'] });
  const rows = Array.from(sharedMatrix(a.runner.compileInfo.modelPath, a.runner.vocab).rows);
  t.ok(rows.some((x) => x >= 0), 'the matrix learned something');
  await a.dispose();
  t.equal(fs.statSync(file).size, (300 * 8 + 65536 * 2 + 65536 * 8) * 4, 'vocab × 8 token rows, 65,536 pair keys and pair rows of 8, int32');

  // A new process would start cold: simulate by wiping the shared matrix, then load from the file.
  sharedMatrix(a.runner.compileInfo.modelPath, a.runner.vocab).rows.fill(-1);
  const b = await loadEngine({ model: dir, recyclingState: file, threads: 1 });
  t.same(Array.from(sharedMatrix(b.runner.compileInfo.modelPath, b.runner.vocab).rows), rows, 'hot start from disk');
  await b.dispose();
  fs.writeFileSync(file, Buffer.alloc(12));
  await t.rejects(loadEngine({ model: dir, recyclingState: file, threads: 1 }), { message: /12 bytes, expected 2631040 \(300×8 token rows/ });
});

t.test('the suffix cache is bounded by --suffix-cache-requests, saved on dispose and loaded at start', async (t) => {
  const dir = testModel('load-suffix', { arch: 'llama', seed: 72, layers: 1, hidden: 32, heads: 4, kvHeads: 2, vocab: 300, intermediate: 48 });
  const file = path.join(t.testdir(), 'suffix.json');
  const a = await loadEngine({ model: dir, suffixCache: file, suffixCacheRequests: 2, threads: 1 });
  const outputs: number[][] = [];
  for (const p of [[1, 5], [1, 6], [1, 7]]) {
    const r = await generate(a.runner, { promptTokens: p, maxTokens: 8, sampling: GREEDY, eosIds: [], drafters: ['suffix'] }, undefined, a.resources);
    outputs.push(r.tokens);
  }
  const cache = a.resources.suffixCache!;
  t.same(cache.outputs().map((o) => Array.from(o)), outputs.slice(1), 'each output learned; only the 2 most recent kept');
  await a.dispose();
  cache.setCapacity(0); // a new process starts empty: forget everything, then load from the file
  const b = await loadEngine({ model: dir, suffixCache: file, suffixCacheRequests: 2, threads: 1 });
  t.same(b.resources.suffixCache!.outputs().map((o) => Array.from(o)), outputs.slice(1), 'reloaded from disk');
  // Loading is a replacement, not an addition: the same file twice keeps one copy.
  const c = await loadEngine({ model: dir, suffixCache: file, suffixCacheRequests: 2, threads: 1 });
  t.equal(c.resources.suffixCache!.numRequests, 2);
  await b.dispose();
  await c.dispose();
});
