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
  t.match(info, { architecture: 'Qwen2ForCausalLM', vocab: 300, layers: 1, kv_heads: 2, dtype: 'F32' });
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
  await t.rejects(sprig('info', '--model', '/nonexistent/model'), { code: 1, stderr: /not a folder/ });
  await t.rejects(sprig('make-test-model', '--arch', 'bert', '--out', path.join(t.testdir(), 'x')), { code: 1, stderr: /--arch bert is not one of/ });
});
