// The prefix cache: block-aligned lookups, LRU eviction of leaves within the byte budget, and generations
// that reuse cached rows emitting exactly the tokens of a generation that prefilled everything.
import t from 'tap';
import { generate, type GenerateRequest } from '../../engine/generate.ts';
import { PrefixCache, type RowSource } from '../../engine/prefix-cache.ts';
import { GREEDY } from '../../common/sampling.ts';
import { Rng } from '../../common/rng.ts';
import { ModelRunner } from '../../model/runner.ts';
import { testModel } from '../helpers/models.ts';

const LAYERS = 2;
const ROW = 3;

/** Rows whose every value names its position, layer and K/V: value = pos·100 + l·10 + (v ? 5 : 0) + j/4 (exact in float32). */
function rowsFor(n: number): RowSource {
  const make = (l: number, v: boolean) => Float32Array.from({ length: n * ROW }, (_, i) => Math.floor(i / ROW) * 100 + l * 10 + (v ? 5 : 0) + (i % ROW) / 4);
  const keys = Array.from({ length: LAYERS }, (_, l) => make(l, false));
  const values = Array.from({ length: LAYERS }, (_, l) => make(l, true));
  return { length: n, pastKeys: (l) => keys[l], pastValues: (l) => values[l] };
}

const seq = (start: number, n: number) => Array.from({ length: n }, (_, i) => start + i);
const cacheOf = (blocks: number, blockSize = 4) => new PrefixCache({ numLayers: LAYERS, rowSize: ROW, blockSize, budgetBytes: blocks * 2 * LAYERS * blockSize * ROW * 4 });

t.test('lookup: whole blocks only, at least one token left out, rows of the right positions', async (t) => {
  const pc = cacheOf(100);
  const tokens = seq(10, 14); // 3 full blocks of 4 + 2 tokens
  t.equal(pc.insert(tokens, rowsFor(14)), 3);
  t.equal(pc.size, 3);
  t.equal(pc.bytes, 3 * pc.blockBytes);
  t.equal(pc.lookup(tokens).length, 12);
  t.equal(pc.lookup(tokens.slice(0, 13)).length, 12, '13 tokens: 12 cached, one left to run');
  t.equal(pc.lookup(tokens.slice(0, 12)).length, 8, '12 tokens: the last block is not used, the last token must run');
  t.equal(pc.lookup(tokens.slice(0, 4)).length, 0);
  t.equal(pc.lookup([99, ...tokens.slice(1)]).length, 0, 'the first block differs');
  t.equal(pc.lookup([...tokens.slice(0, 6), 99, ...tokens.slice(7)]).length, 4, 'diverges in the second block');
  const hit = pc.lookup(tokens);
  for (let b = 0; b < 3; b++) {
    for (let l = 0; l < LAYERS; l++) {
      t.equal(hit.blocks[b].keys[l].length, 4 * ROW);
      t.equal(hit.blocks[b].keys[l][0], (4 * b) * 100 + l * 10, `block ${b} layer ${l}: key rows start at position ${4 * b}`);
      t.equal(hit.blocks[b].values[l][4 * ROW - 1], (4 * b + 3) * 100 + l * 10 + 5 + 0.5, `block ${b} layer ${l}: value rows end at position ${4 * b + 3}`);
    }
  }
});

t.test('insert copies only the rows it has and keeps no reference to the source', async (t) => {
  const pc = cacheOf(100);
  const src = rowsFor(9);
  t.equal(pc.insert(seq(0, 20), src), 2, 'rows for 9 tokens: 2 full blocks');
  src.pastKeys(0).fill(-1);
  t.equal(pc.lookup(seq(0, 20)).blocks[0].keys[0][0], 0, 'the cached rows are a copy');
  t.equal(pc.insert(seq(0, 20), rowsFor(20)), 3, 'existing blocks are kept, the missing ones added');
  t.equal(pc.lookup(seq(0, 20)).length, 16);
});

t.test('a prompt that is a strict prefix of a cached one reuses its blocks', async (t) => {
  const pc = cacheOf(100);
  pc.insert(seq(0, 40), rowsFor(40));
  t.equal(pc.lookup(seq(0, 11)).length, 8);
  t.equal(pc.lookup(seq(0, 25)).length, 24);
  t.equal(pc.lookup([...seq(0, 25), 7, 7, 7]).length, 24, 'a longer prompt that leaves the cached path');
});

t.test('LRU: the least recently used leaf goes first; bytes stay within the budget', async (t) => {
  const pc = cacheOf(3);
  const a = seq(100, 5);
  const b = seq(200, 5);
  const c = seq(300, 5);
  const d = seq(400, 5);
  for (const p of [a, b, c]) pc.insert(p, rowsFor(5));
  t.equal(pc.size, 3);
  pc.lookup(a); // a is now more recent than b and c
  pc.insert(d, rowsFor(5));
  t.equal(pc.size, 3);
  t.ok(pc.bytes <= pc.budgetBytes);
  t.equal(pc.lookup(a).length, 4, 'a was used recently: kept');
  t.equal(pc.lookup(b).length, 0, 'b was the least recently used: evicted');
  t.equal(pc.lookup(c).length, 4);
  t.equal(pc.lookup(d).length, 4);
});

t.test('eviction takes leaves only: a cached block keeps all its ancestors', async (t) => {
  const pc = cacheOf(3);
  const chain = seq(0, 13); // 3 blocks, all as old as each other
  pc.insert(chain, rowsFor(13));
  pc.insert(seq(500, 5), rowsFor(5));
  pc.insert(seq(600, 5), rowsFor(5));
  // Each insert evicted the oldest LEAF: the chain's last block, then its second, never its first.
  t.equal(pc.size, 3);
  t.equal(pc.lookup(seq(500, 5)).length, 4);
  t.equal(pc.lookup(seq(600, 5)).length, 4);
  t.equal(pc.lookup(chain).length, 4, 'the chain keeps its first block');
  pc.insert(seq(700, 5), rowsFor(5));
  t.equal(pc.lookup(seq(500, 5)).length, 0, 'now the least recently used leaf');
  t.equal(pc.lookup(chain).length, 4);
});

t.test('a prompt longer than the budget caches what fits, never evicting its own path', async (t) => {
  const pc = cacheOf(2);
  t.equal(pc.insert(seq(0, 30), rowsFor(30)), 2);
  t.equal(pc.lookup(seq(0, 30)).length, 8);
  t.ok(pc.bytes <= pc.budgetBytes);
  const tiny = new PrefixCache({ numLayers: LAYERS, rowSize: ROW, blockSize: 4, budgetBytes: 10 });
  t.equal(tiny.insert(seq(0, 30), rowsFor(30)), 0, 'a budget below one block caches nothing');
  t.equal(tiny.bytes, 0);
  pc.evict(0);
  t.equal(pc.size, 0);
  t.equal(pc.lookup(seq(0, 30)).length, 0);
});

// Generations: a small prefill chunk (24, not a multiple of the 16-token blocks), so a hit's prefill
// splits the prompt at other places than a miss's and its rows come from other forwards.
const runnerP = ModelRunner.load(
  testModel('prefix-cache', { arch: 'llama', seed: 41, layers: 2, hidden: 32, heads: 4, kvHeads: 2, vocab: 300, intermediate: 48, contextLength: 512 }),
  { threads: 1, prefillChunk: 24 },
);
t.teardown(async () => (await runnerP).dispose());

const DRAFTERS = [['none'], ['recycling', 'lookup']];
const rng = new Rng(17);
const randomTokens = (n: number) => Array.from({ length: n }, () => 3 + (rng.nextU32() % 290));

async function run(runner: ModelRunner, promptTokens: number[], drafters: string[], extra: Partial<GenerateRequest> = {}) {
  return generate(runner, { promptTokens, maxTokens: 40, sampling: GREEDY, eosIds: [], drafters, ...extra });
}

t.test('a prefix-cache hit gives the same greedy tokens as a miss', async (t) => {
  const runner = await runnerP;
  const system = randomTokens(70);
  const promptA = [1, ...system, ...randomTokens(9)];
  const promptB = [1, ...system, ...randomTokens(13)];
  for (const drafters of DRAFTERS) {
    const pc = PrefixCache.forModel(runner.spec, 64 * 2 ** 20);
    const a = await run(runner, promptA, drafters, { prefixCache: pc });
    t.equal(a.cachedTokens, 0, 'the first request misses');
    t.same(a.tokens, (await run(runner, promptA, drafters)).tokens, `${drafters}: with an empty cache = without one`);

    const b = await run(runner, promptB, drafters, { prefixCache: pc });
    t.equal(b.cachedTokens, 64, 'the shared system prompt: 4 blocks of 16 (71 shared tokens)');
    t.same(b.tokens, (await run(runner, promptB, drafters)).tokens, `${drafters}: shared system prompt, hit = miss`);

    const again = await run(runner, promptA, drafters, { prefixCache: pc });
    t.equal(again.cachedTokens, 64, 'the same prompt again: every full block of its first 79 tokens');
    t.same(again.tokens, a.tokens, `${drafters}: same prompt again, hit = miss`);

    // The rest after a hit is one row (prefilled by a one-row forward, whose kernels round differently from
    // a many-row one: ~1e-6 here), or nothing at all (the step's root is the only token left).
    for (const n of [66, 65]) {
      const p = promptA.slice(0, n);
      const r = await run(runner, p, drafters, { prefixCache: pc });
      t.equal(r.cachedTokens, 64, `${n} tokens: 64 cached`);
      t.same(r.tokens, (await run(runner, p, drafters)).tokens, `${drafters}: ${n - 65} row(s) prefilled after the hit, hit = miss`);
    }

    const short = promptA.slice(0, 40);
    const s = await run(runner, short, drafters, { prefixCache: pc });
    t.equal(s.cachedTokens, 32, 'a strict prefix of a cached prompt');
    t.same(s.tokens, (await run(runner, short, drafters)).tokens, `${drafters}: strict prefix, hit = miss`);

    // The next turn of a conversation: the first turn's prompt and output, then new tokens. Its rows for
    // the output were written by speculative steps (tree forwards), not by a prefill.
    const turn2 = [...promptA, ...a.tokens, ...randomTokens(5)];
    const c = await run(runner, turn2, drafters, { prefixCache: pc });
    t.ok(c.cachedTokens! > promptA.length, `the second turn reuses the first turn's output too (${c.cachedTokens} of ${turn2.length} tokens)`);
    t.same(c.tokens, (await run(runner, turn2, drafters)).tokens, `${drafters}: second turn, hit = miss`);
  }
});

t.test('cached rows agree with freshly computed ones: last-token logits of a hit and a miss', async (t) => {
  const runner = await runnerP;
  const prompt = [1, ...randomTokens(150)];
  const src = runner.newCache();
  await runner.prefill(src, prompt.slice(0, 37)); // another request's rows, from other forwards
  const pc = PrefixCache.forModel(runner.spec, 64 * 2 ** 20);
  pc.insert(prompt, src);
  // rest = rows prefilled after the hit: many (measured bit-identical to a miss) or one (a one-row forward
  // rounds differently: measured ~5e-7 here, up to ~2e-5 with Q4_K weights on stories260K-wide256).
  for (const [n, rest] of [[151, 119], [33, 1]]) {
    const p = prompt.slice(0, n);
    const hit = pc.lookup(p);
    t.equal(hit.length, 32);
    const withHit = runner.newCache();
    for (const b of hit.blocks) withHit.appendRows(b.keys, b.values, pc.blockSize);
    t.equal(p.length - hit.length, rest);
    const a = await runner.prefill(withHit, p.slice(hit.length));
    const miss = runner.newCache();
    const b = await runner.prefill(miss, p);
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    t.ok(maxDiff <= 1e-5, `${rest} row(s) after the hit: max |Δ logit| = ${maxDiff}`);
    t.equal(withHit.length, miss.length);
  }
});

t.test('eviction under a tiny budget never corrupts an output', async (t) => {
  const runner = await runnerP;
  // Room for 6 blocks: far less than the prompts below share, so blocks are evicted all the time.
  const tiny = PrefixCache.forModel(runner.spec, 6 * PrefixCache.forModel(runner.spec, 0).blockBytes);
  const systems = [randomTokens(40), randomTokens(56), randomTokens(33)];
  let hits = 0;
  for (let i = 0; i < 12; i++) {
    const prompt = [1, ...systems[Math.floor(i / 2) % 3], ...randomTokens(3 + (i % 5) * 7)]; // pairs share a system prompt
    const drafters = DRAFTERS[i % 2];
    const r = await run(runner, prompt, drafters, { prefixCache: tiny });
    hits += r.cachedTokens! > 0 ? 1 : 0;
    t.ok(tiny.bytes <= tiny.budgetBytes, `request ${i}: ${tiny.bytes} bytes held, budget ${tiny.budgetBytes}`);
    t.same(r.tokens, (await run(runner, prompt, drafters)).tokens, `request ${i} (${r.cachedTokens} cached): hit = miss`);
  }
  t.ok(hits >= 6, `${hits} of 12 requests hit the cache`);
  t.equal(tiny.size, 6, 'the cache is full: blocks were evicted to make room');
});
