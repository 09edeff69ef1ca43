// Checkpoint loading: sharded safetensors read like a single file, shapes checked against the config.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { loadCheckpoint } from '../../model/checkpoint.ts';
import { ModelRunner } from '../../model/runner.ts';
import { readSafetensorsHeader, readTensorF32, writeSafetensors } from '../../model/safetensors.ts';
import { testModel } from '../helpers/models.ts';

const OPTS = { arch: 'llama' as const, seed: 51, layers: 2, hidden: 32, heads: 4, kvHeads: 2, vocab: 300, intermediate: 48 };

t.test('a sharded checkpoint gives the same logits as the single-file one', async (t) => {
  const single = testModel('shard-src', OPTS);
  const dir = t.testdir();
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) fs.copyFileSync(path.join(single, f), path.join(dir, f));
  const infos = readSafetensorsHeader(path.join(single, 'model.safetensors'));
  const half = Math.ceil(infos.length / 2);
  const shards = [infos.slice(0, half), infos.slice(half)];
  const weightMap: Record<string, string> = {};
  shards.forEach((list, i) => {
    const name = `model-0000${i + 1}-of-00002.safetensors`;
    writeSafetensors(path.join(dir, name), list.map((x) => ({ name: x.name, shape: x.shape, data: readTensorF32(x) })));
    for (const x of list) weightMap[x.name] = name;
  });
  fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  t.equal(loadCheckpoint(dir).weightFiles.length, 2);

  const a = await ModelRunner.load(single, { threads: 1 });
  const b = await ModelRunner.load(dir, { threads: 1 });
  t.teardown(async () => {
    await a.dispose();
    await b.dispose();
  });
  const la = await a.prefill(a.newCache(), [1, 5, 9, 30]);
  const lb = await b.prefill(b.newCache(), [1, 5, 9, 30]);
  t.same(Array.from(lb), Array.from(la));
});

t.test('missing parts and wrong shapes fail loudly', async (t) => {
  const dir = t.testdir({ 'config.json': JSON.stringify({ architectures: ['LlamaForCausalLM'], hidden_size: 32, intermediate_size: 48, num_hidden_layers: 1, num_attention_heads: 4, vocab_size: 301 }) });
  t.throws(() => loadCheckpoint(dir), { code: 'SPRIG_ERR_CHECKPOINT_MISSING', message: /model.safetensors/ });
  fs.copyFileSync(path.join(testModel('shard-src', OPTS), 'model.safetensors'), path.join(dir, 'model.safetensors'));
  t.throws(() => loadCheckpoint(dir), { code: 'SPRIG_ERR_BAD_CHECKPOINT', message: /shape \[300,32\].*vocab_size=301/ });
  t.throws(() => loadCheckpoint(path.join(dir, 'nope')), { code: 'SPRIG_ERR_CHECKPOINT_MISSING' });
});

t.test('chunked prefill equals one-shot prefill', async (t) => {
  const dir = testModel('shard-src', OPTS);
  const whole = await ModelRunner.load(dir, { threads: 1 });
  const chunked = await ModelRunner.load(dir, { threads: 1, prefillChunk: 3 });
  t.teardown(async () => {
    await whole.dispose();
    await chunked.dispose();
  });
  const prompt = Array.from({ length: 11 }, (_, i) => (i * 37) % 300);
  const a = await whole.prefill(whole.newCache(), prompt);
  const b = await chunked.prefill(chunked.newCache(), prompt);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
  t.ok(diff < 1e-4, `max diff ${diff.toExponential(2)}`);
});
