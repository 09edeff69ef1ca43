// Which repo files a Hub reference picks: quant labels as whole tokens, single files over shard sets,
// shortest names, complete shard sets, and safetensors checkpoints without stray weights.
import t from 'tap';
import { hasQuant, selectFiles, weightsFromIndex } from '../../../model/hub/select.ts';

const files = (...names: string[]) => names.map((name) => ({ name }));

t.test('quant labels match as whole tokens, case-insensitively', async (t) => {
  t.ok(hasQuant('Llama-3-8B-Q4_K_M.gguf', 'Q4_K_M'));
  t.ok(hasQuant('ggml-model-q4_0.gguf', 'Q4_0'));
  t.ok(hasQuant('model.Q8_0.gguf', 'Q8_0'));
  t.ok(hasQuant('Q4_K_M/model-00001-of-00002.gguf', 'Q4_K_M'), 'a folder named after the quant');
  t.notOk(hasQuant('model-Q4_K_M.gguf', 'Q4_K'), 'Q4_K is not Q4_K_M');
  t.notOk(hasQuant('model-IQ4_XS.gguf', 'Q4_XS'), 'IQ4_XS is not Q4_XS');
});

t.test('GGUF choice: a single file over a shard set, then the shortest name; mmproj files never', async (t) => {
  const repo = files('big-Q4_0-00001-of-00002.gguf', 'big-Q4_0-00002-of-00002.gguf', 'model-Q4_0-imatrix.gguf', 'model-Q4_0.gguf', 'mmproj-Q4_0.gguf');
  t.same(selectFiles('o/r', repo, 'Q4_0'), { kind: 'gguf', files: [{ name: 'model-Q4_0.gguf' }], entry: 'model-Q4_0.gguf' });
  t.throws(() => selectFiles('o/r', files('mmproj-Q4_0.gguf', 'm-Q8_0.gguf'), 'Q4_0'), /no GGUF file for quantization Q4_0; its GGUF files: m-Q8_0\.gguf$/);
});

t.test('a shard set is fetched whole and entered by its first shard; a gap fails naming it', async (t) => {
  const set = files('Q8_0/m-00002-of-00003.gguf', 'Q8_0/m-00001-of-00003.gguf', 'Q8_0/m-00003-of-00003.gguf');
  const sel = selectFiles('o/r', set, 'Q8_0');
  t.same(sel, { kind: 'gguf', files: files('Q8_0/m-00001-of-00003.gguf', 'Q8_0/m-00002-of-00003.gguf', 'Q8_0/m-00003-of-00003.gguf'), entry: 'Q8_0/m-00001-of-00003.gguf' });
  t.throws(() => selectFiles('o/r', [set[1], set[2]], 'Q8_0'), /lacks shard\(s\) 2/);
  t.throws(() => selectFiles('o/r', set, null), /none is Q4_K_M.*Q8_0\/m-00001-of-00003\.gguf \(3 shards\)/, 'no quant and no Q4_K_M: the choices are listed');
});

t.test('safetensors: checkpoint files only; model.safetensors over other root weights; shards from the index', async (t) => {
  const repo = files('README.md', 'config.json', 'tokenizer.json', 'model.safetensors', 'consolidated.safetensors', 'onnx/model.safetensors', 'model-Q4_K_M.gguf');
  t.same(selectFiles('o/r', repo, null), { kind: 'safetensors', files: files('config.json', 'tokenizer.json'), index: null, weights: files('model.safetensors') });
  const sharded = files('config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'consolidated.safetensors');
  const sel = selectFiles('o/r', sharded, null);
  if (sel.kind !== 'safetensors') throw new Error('expected safetensors');
  t.same(sel.index, { name: 'model.safetensors.index.json' });
  const index = JSON.stringify({ weight_map: { a: 'model-00002-of-00002.safetensors', b: 'model-00001-of-00002.safetensors', c: 'model-00001-of-00002.safetensors' } });
  t.same(weightsFromIndex('o/r', index, sel.weights), files('model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'));
  t.throws(() => weightsFromIndex('o/r', JSON.stringify({ weight_map: { a: 'gone.safetensors' } }), sel.weights), /names gone\.safetensors, which is not in the repo/);
  t.throws(() => selectFiles('o/r', files('model.safetensors'), null), /no config\.json/);
  t.throws(() => selectFiles('o/r', files('README.md', 'pytorch_model.bin'), null), /neither safetensors weights nor GGUF files/);
});
