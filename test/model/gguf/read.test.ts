// GGUF reading: agrees with @huggingface/gguf on llama.cpp's files; bad files fail naming the file and the fault.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { gguf } from '@huggingface/gguf';
import { readGguf, readTensorData } from '../../../model/gguf/read.ts';
import { writeGguf } from '../../../model/gguf/write.ts';
import { quantize } from '../../../model/quant/quantize.ts';
import { hasStoriesGguf, hasWide, patchTensorType, SHARED_MODELS, SKIP_SHARED, STORIES_GGUF } from '../../helpers/gguf.ts';

const json = (v: unknown) => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : x));

t.test('llama.cpp files read as @huggingface/gguf reads them', { skip: hasWide && hasStoriesGguf ? false : SKIP_SHARED }, async (t) => {
  const files = [STORIES_GGUF, ...fs.readdirSync(path.join(SHARED_MODELS, 'gguf')).filter((f) => f.endsWith('.gguf')).map((f) => path.join(SHARED_MODELS, 'gguf', f))];
  for (const file of files) {
    const mine = readGguf(file);
    const ref = await gguf(file, { allowLocalFile: true });
    const { version, tensor_count: _tc, kv_count: _kc, ...refMeta } = ref.metadata as Record<string, unknown>;
    t.equal(mine.version, version);
    t.equal(json(mine.metadata), json(refMeta), `${path.basename(file)}: metadata`);
    t.equal(mine.dataOffset, Number(ref.tensorDataOffset));
    t.same([...mine.tensors.values()].map((x) => [x.name, x.ggmlTypeId, x.shape, x.offset]),
      ref.tensorInfos.map((x) => [x.name, x.dtype, x.shape.map(Number).reverse(), Number(ref.tensorDataOffset + x.offset)]), `${path.basename(file)}: tensors`);
    t.equal(mine.fileBytes, fs.statSync(file).size);
  }
  const q = readGguf(path.join(SHARED_MODELS, 'gguf/stories260K-wide256-Q4_K_M.gguf'));
  t.match(q.tensors.get('blk.0.attn_q.weight'), { type: 'Q4_K', typeName: 'Q4_K', ggmlTypeId: 12, shape: [256, 256], byteLength: 256 * 144 });
  t.match(q.tensors.get('output.weight'), { type: 'Q6_K', shape: [512, 256], byteLength: 512 * 210 });
});

/** A small valid file: two kvs and a Q4_0 matrix, a Q8_0 matrix and an F32 vector. */
function smallFile(dir: string): string {
  const file = path.join(dir, 'small.gguf');
  const x = Float32Array.from({ length: 4 * 64 }, (_, i) => Math.sin(i));
  writeGguf(file, [{ key: 'general.architecture', type: 'string', value: 'llama' }, { key: 'test.list', type: 'array', itemType: 'i32', value: [1, -2, 3] }], [
    { name: 'a.weight', tensor: { type: 'Q4_0', shape: [4, 64], data: quantize('Q4_0', x) } },
    { name: 'b.weight', tensor: { type: 'Q8_0', shape: [4, 64], data: quantize('Q8_0', x) } },
    { name: 'c.weight', tensor: { type: 'F32', shape: [7], data: new Uint8Array(28) } },
  ]);
  return file;
}

t.test('a file that is missing, not GGUF, truncated, big-endian or of an old version fails with a named error', async (t) => {
  const dir = t.testdir({ 'config.json': '{"architectures": ["LlamaForCausalLM"]}', 'empty.gguf': '' });
  t.throws(() => readGguf(path.join(dir, 'nope.gguf')), { code: 'SPRIG_ERR_CHECKPOINT_MISSING', message: /nope\.gguf/ });
  t.throws(() => readGguf(path.join(dir, 'config.json')), { code: 'SPRIG_ERR_BAD_CHECKPOINT', message: /config\.json: not a GGUF file \(it starts with 7b 22 61 72/ });
  t.throws(() => readGguf(path.join(dir, 'empty.gguf')), { code: 'SPRIG_ERR_BAD_CHECKPOINT', message: /empty\.gguf: not a GGUF file/ });

  const file = smallFile(dir);
  const bytes = fs.readFileSync(file);
  const g = readGguf(file);
  const cut = path.join(dir, 'cut.gguf');
  // Inside the counts, a key, the array, the tensor infos, and the last tensor's data.
  const infoStart = bytes.indexOf(Buffer.from('a.weight')) - 8;
  const cases: [number, RegExp][] = [
    [12, /inside the tensor count/],
    [40, /inside metadata key 0/],
    [infoStart - 3, /metadata test\.list \(array length\) is 3, more than the remaining 9 bytes/],
    [infoStart + 4, /inside tensor info 0/],
    [g.tensors.get('c.weight')!.offset + 3, /tensor c\.weight needs bytes \d+\.\.\d+, the file has/],
  ];
  for (const [at, where] of cases) {
    fs.writeFileSync(cut, bytes.subarray(0, at));
    t.throws(() => readGguf(cut), { code: 'SPRIG_ERR_BAD_CHECKPOINT', message: new RegExp(`cut\\.gguf: truncated.*${where.source}`) }, `cut at ${at}`);
  }
  const big = Buffer.from(bytes);
  big.writeUInt32BE(3, 4);
  fs.writeFileSync(cut, big);
  t.throws(() => readGguf(cut), { code: 'SPRIG_ERR_BAD_CHECKPOINT', message: /big-endian/ });
  const v1 = Buffer.from(bytes);
  v1.writeUInt32LE(1, 4);
  fs.writeFileSync(cut, v1);
  t.throws(() => readGguf(cut), { code: 'SPRIG_ERR_BAD_CHECKPOINT', message: /GGUF version 1 is not supported/ });
  const huge = Buffer.from(bytes);
  const listLen = bytes.indexOf(Buffer.from('test.list')) + 9 + 4 + 4; // after the key, value type and item type
  huge.writeBigUInt64LE(1n << 40n, listLen);
  fs.writeFileSync(cut, huge);
  t.throws(() => readGguf(cut), { code: 'SPRIG_ERR_BAD_CHECKPOINT', message: /metadata test\.list \(array length\) is 1099511627776, more than the remaining/ });
});

t.test('a tensor of a type Sprig cannot decode is recorded, not refused; an unknown type id is refused', async (t) => {
  const dir = t.testdir();
  const file = smallFile(dir);
  patchTensorType(file, 'a.weight', 20); // IQ4_NL: 32 values in 18 bytes, as Q4_0
  const g = readGguf(file);
  t.match(g.tensors.get('a.weight'), { type: null, typeName: 'IQ4_NL', ggmlTypeId: 20, shape: [4, 64], byteLength: 4 * 2 * 18 });
  t.equal(readTensorData(file, g.tensors.get('a.weight')!).length, 144);
  t.match(g.tensors.get('b.weight'), { type: 'Q8_0', ggmlTypeId: 8 });
  t.same(g.metadata['test.list'], [1, -2, 3]);
  patchTensorType(file, 'b.weight', 77);
  t.throws(() => readGguf(file), { code: 'SPRIG_ERR_BAD_CHECKPOINT', message: /tensor b\.weight has ggml type id 77/ });
});
