// The sprig command end to end: make-test-model → info → generate --json, and loud failures on bad flags.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import '../helpers/models.ts'; // isolates SPRIG_CACHE_DIR

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../../bin/sprig.js');
const sprig = (...args: string[]) => run(process.execPath, [BIN, ...args], { env: process.env });

t.test('make-test-model, info and generate --json', async (t) => {
  const dir = path.join(t.testdir(), 'm');
  await sprig('make-test-model', '--arch', 'qwen2', '--out', dir, '--layers', '1', '--hidden', '32', '--heads', '4', '--kv-heads', '2', '--vocab', '300');
  const info = JSON.parse((await sprig('info', '--model', dir, '--json')).stdout);
  t.match(info, { architecture: 'Qwen2ForCausalLM', format: 'hf', vocab: 300, layers: 1, kv_heads: 2, dtype: /^F32×\d+$/ });
  t.ok(info.parameters > 10000);
  const out = (await sprig('generate', '--model', dir, '--prompt', 'hello there', '--max-tokens', '12', '--json', '--drafters', 'recycling,lookup')).stdout.trim().split('\n');
  const j = JSON.parse(out[out.length - 1]);
  t.equal(typeof j.text, 'string');
  t.ok(j.tokens.length <= 12 && j.tokens.length > 0);
  t.equal(j.prompt_tokens[0], 1, 'BOS included');
  t.ok(['stop', 'length'].includes(j.finish_reason));
  t.ok(j.timings.prefill_ms >= 0 && j.timings.decode_ms > 0 && j.timings.tokens_per_s > 0);
  t.match(j.speculation, { drafters: ['recycling', 'lookup'], tree_budget: 'auto' });
  const none = JSON.parse((await sprig('generate', '--model', dir, '--prompt', 'hello there', '--max-tokens', '12', '--json', '--drafters', 'none')).stdout.trim().split('\n').pop()!);
  t.same(j.tokens, none.tokens, 'speculative CLI output equals plain decoding');
});

t.test('bad flags fail with a message and a non-zero exit', async (t) => {
  await t.rejects(sprig('generate', '--prompt', 'x', '--temperature', '9'), { code: 1, stderr: /--temperature must be a number in \[0, 2\]/ });
  await t.rejects(sprig('generate', '--prompt', 'x', '--drafters', 'magic'), { code: 1, stderr: /unknown drafter "magic"/ });
  await t.rejects(sprig('info', '--model', '/nonexistent/model'), { code: 1, stderr: /\/nonexistent\/model does not exist/ });
  await t.rejects(sprig('generate', '--prompt', 'x', '--quantize', 'q3'), { code: 1, stderr: /--quantize must be one of none, q8, q4, got "q3"/ });
  await t.rejects(sprig('make-test-model', '--arch', 'bert', '--out', path.join(t.testdir(), 'x')), { code: 1, stderr: /--arch bert is not one of/ });
});

t.test('a GGUF file and --quantize through the command line', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'm-q4_0.gguf');
  await sprig('make-test-model', '--arch', 'llama', '--out', file, '--format', 'gguf', '--quant', 'q4_0', '--layers', '1', '--hidden', '64', '--heads', '4', '--kv-heads', '2', '--vocab', '300', '--intermediate', '96');
  const info = JSON.parse((await sprig('info', '--model', file, '--json')).stdout);
  t.match(info, { format: 'gguf', arch: 'llama', vocab: 300, dtype: /Q4_0/ });
  const gen = (model: string, ...extra: string[]) => sprig('generate', '--model', model, '--prompt', 'hello there', '--max-tokens', '10', '--json', ...extra)
    .then((r) => JSON.parse(r.stdout.trim().split('\n').pop()!));
  const plain = await gen(file, '--drafters', 'none');
  t.ok(plain.tokens.length > 0, 'the GGUF model generates');
  const spec = await gen(file, '--drafters', 'recycling,lookup', '--tree-budget', '4');
  t.same(spec.tokens.slice(0, 10), plain.tokens.slice(0, 10), 'speculative output equals plain decoding on the GGUF model');
  const hf = path.join(dir, 'hf');
  await sprig('make-test-model', '--arch', 'llama', '--out', hf, '--layers', '1', '--hidden', '64', '--heads', '4', '--kv-heads', '2', '--vocab', '300', '--intermediate', '96');
  const q8 = await gen(hf, '--quantize', 'q8', '--drafters', 'none');
  t.ok(q8.tokens.length > 0, '--quantize q8 generates');
});
