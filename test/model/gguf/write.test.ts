// GGUF writing: every value type and tensor type round-trips through readGguf and @huggingface/gguf, with
// aligned data; re-writing llama.cpp's own files reproduces them byte for byte.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { gguf, GGUFValueType } from '@huggingface/gguf';
import type { GgufKv } from '../../../model/gguf/metadata.ts';
import { readGguf, readTensorData } from '../../../model/gguf/read.ts';
import { writeGguf } from '../../../model/gguf/write.ts';
import { quantize } from '../../../model/quant/quantize.ts';
import { SUPPORTED_TYPES, tensorBytes } from '../../../model/quant/ggml-types.ts';
import type { RawTensor } from '../../../model/weights.ts';
import { hasStoriesGguf, hasWide, rewriteGguf, SKIP_SHARED, STORIES_GGUF, WIDE } from '../../helpers/gguf.ts';

const KVS: GgufKv[] = [
  { key: 'general.architecture', type: 'string', value: 'llama' },
  { key: 't.u8', type: 'u8', value: 250 },
  { key: 't.i8', type: 'i8', value: -7 },
  { key: 't.u16', type: 'u16', value: 65535 },
  { key: 't.i16', type: 'i16', value: -30000 },
  { key: 't.u32', type: 'u32', value: 4294967295 },
  { key: 't.i32', type: 'i32', value: -2147483648 },
  { key: 't.f32', type: 'f32', value: 0.5 },
  { key: 't.f64', type: 'f64', value: 1e-300 },
  { key: 't.u64', type: 'u64', value: 2n ** 63n + 5n },
  { key: 't.i64', type: 'i64', value: -(2n ** 40n) },
  { key: 't.bool', type: 'bool', value: true },
  { key: 't.unicode', type: 'string', value: 'Grüße ▁ 你好 🙂' },
  { key: 't.strings', type: 'array', itemType: 'string', value: ['<s>', '', '▁the'] },
  { key: 't.floats', type: 'array', itemType: 'f32', value: [1.5, -2, 0] },
  { key: 't.ints', type: 'array', itemType: 'i32', value: [1, -1] },
  { key: 't.bools', type: 'array', itemType: 'bool', value: [false, true] },
  { key: 't.empty', type: 'array', itemType: 'u32', value: [] },
];
// @huggingface/gguf's value type numbers, to check the written types independently.
const HF_TYPE: Record<string, number> = { u8: GGUFValueType.UINT8, i8: GGUFValueType.INT8, u16: GGUFValueType.UINT16, i16: GGUFValueType.INT16, u32: GGUFValueType.UINT32, i32: GGUFValueType.INT32, f32: GGUFValueType.FLOAT32, f64: GGUFValueType.FLOAT64, u64: GGUFValueType.UINT64, i64: GGUFValueType.INT64, bool: GGUFValueType.BOOL, string: GGUFValueType.STRING, array: GGUFValueType.ARRAY };

function tensorsOfEveryType(): { name: string; tensor: RawTensor }[] {
  const x = Float32Array.from({ length: 3 * 256 }, (_, i) => Math.cos(i * 0.37) * (1 + (i % 5)));
  const out = SUPPORTED_TYPES.map((type) => ({ name: `m.${type}.weight`, tensor: { type, shape: [3, 256], data: quantize(type, x) } }));
  out.push({ name: 'v.bias', tensor: { type: 'F32', shape: [5], data: new Uint8Array(new Float32Array([1, 2, 3, 4, 5]).buffer) } });
  out.push({ name: 'cube', tensor: { type: 'F16', shape: [2, 3, 32], data: quantize('F16', new Float32Array(192).fill(0.25)) } });
  return out;
}

for (const alignment of [32, 64]) {
  t.test(`round trip, alignment ${alignment}: readGguf and @huggingface/gguf read back what was written`, async (t) => {
    const file = path.join(t.testdir(), 'rt.gguf');
    const tensors = tensorsOfEveryType();
    writeGguf(file, KVS, tensors, alignment);
    const g = readGguf(file);
    t.equal(g.version, 3);
    t.equal(g.alignment, alignment);
    const expectKvs: GgufKv[] = alignment === 32 ? KVS : [...KVS, { key: 'general.alignment', type: 'u32', value: alignment }];
    t.same(g.kvs, expectKvs, 'typed entries');
    for (const kv of KVS) t.same(g.metadata[kv.key], kv.value, kv.key);
    t.same([...g.tensors.keys()], tensors.map((x) => x.name));
    for (const { name, tensor } of tensors) {
      const info = g.tensors.get(name)!;
      t.same([info.type, info.shape, info.byteLength], [tensor.type, tensor.shape, tensorBytes(tensor.type, tensor.shape)], name);
      t.equal(info.offset % alignment, 0, `${name} aligned`);
      t.same(readTensorData(file, info), tensor.data, `${name} bytes`);
    }
    t.equal(g.fileBytes % alignment, 0, 'data padded to the alignment');

    const ref = await gguf(file, { allowLocalFile: true, typedMetadata: true });
    for (const kv of expectKvs) {
      const entry = ref.typedMetadata[kv.key] as { value: unknown; type: number; subType?: number };
      t.equal(entry.type, HF_TYPE[kv.type], `${kv.key} type`);
      if (kv.type === 'array') t.equal(entry.subType, HF_TYPE[kv.itemType], `${kv.key} item type`);
      t.same(entry.value, kv.type === 'u64' || kv.type === 'i64' ? BigInt(kv.value) : kv.value, `${kv.key} value`); // floats here are exact in f32
    }
    t.same(ref.tensorInfos.map((x) => [x.name, x.shape.map(Number)]), tensors.map(({ name, tensor }) => [name, [...tensor.shape].reverse()]), 'ne order is the HF shape reversed');
    t.same(ref.tensorInfos.map((x) => Number(ref.tensorDataOffset + x.offset)), [...g.tensors.values()].map((x) => x.offset));
  });
}

t.test('re-writing llama.cpp files reproduces them byte for byte', { skip: hasWide && hasStoriesGguf ? false : SKIP_SHARED }, async (t) => {
  const dir = t.testdir();
  for (const src of [STORIES_GGUF, WIDE('Q4_K_M'), WIDE('Q8_0')]) {
    const dst = path.join(dir, path.basename(src));
    rewriteGguf(src, dst);
    t.ok(fs.readFileSync(src).equals(fs.readFileSync(dst)), path.basename(src));
    t.same(readGguf(dst).metadata, readGguf(src).metadata);
  }
});

t.test('inconsistent input is refused before anything is written', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'bad.gguf');
  const q = { type: 'Q8_0' as const, shape: [2, 32], data: new Uint8Array(68) };
  t.throws(() => writeGguf(file, [], [{ name: 'a', tensor: { ...q, data: new Uint8Array(67) } }]), { code: 'SPRIG_ERR_INTERNAL', message: /needs 68 bytes, got 67/ });
  t.throws(() => writeGguf(file, [], [{ name: 'a', tensor: { ...q, shape: [2, 33] } }]), { code: 'SPRIG_ERR_INTERNAL', message: /multiple of 32/ });
  t.throws(() => writeGguf(file, [], [{ name: 'a', tensor: q }, { name: 'a', tensor: q }]), { code: 'SPRIG_ERR_INTERNAL', message: /tensor a given twice/ });
  t.throws(() => writeGguf(file, [KVS[0], KVS[0]], []), { code: 'SPRIG_ERR_INTERNAL', message: /general.architecture given twice/ });
  t.throws(() => writeGguf(file, [{ key: 'general.alignment', type: 'u32', value: 16 }], [], 32), { code: 'SPRIG_ERR_INTERNAL', message: /disagrees/ });
  t.throws(() => writeGguf(file, [], [], 24), { code: 'SPRIG_ERR_INTERNAL', message: /power of two/ });
  t.notOk(fs.existsSync(file));
});
