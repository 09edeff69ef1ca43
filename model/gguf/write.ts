// Writes a GGUF v3 file: header, metadata, tensor infos (ggml ne order = HF shape reversed), then each tensor's
// blocks at an offset aligned to `alignment`. Tensors are written one at a time as given (raw ggml blocks).
import fs from 'node:fs';
import { errors } from '../../common/errors.ts';
import type { RawTensor } from '../weights.ts';
import { ggmlTypeId, tensorBytes } from '../quant/ggml-types.ts';
import { GGUF_VALUE_BYTES, GGUF_VALUE_TYPE_ID, type GgufKv, type GgufScalarType } from './metadata.ts';

export function writeGguf(file: string, kvs: GgufKv[], tensors: { name: string; tensor: RawTensor }[], alignment = 32): void {
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) throw errors.internal(`GGUF alignment ${alignment} is not a power of two`);
  const given = kvs.find((kv) => kv.key === 'general.alignment');
  if (given && Number(given.value) !== alignment) throw errors.internal(`general.alignment=${String(given.value)} disagrees with the alignment ${alignment} asked for`);
  const entries = !given && alignment !== 32 ? [...kvs, { key: 'general.alignment', type: 'u32', value: alignment } as GgufKv] : kvs;
  const keys = new Set<string>();
  for (const kv of entries) {
    if (keys.has(kv.key)) throw errors.internal(`GGUF metadata key ${kv.key} given twice`);
    keys.add(kv.key);
  }

  const w = new ByteWriter();
  w.u32(0x46554747); // "GGUF"
  w.u32(3);
  w.u64(tensors.length);
  w.u64(entries.length);
  for (const kv of entries) {
    w.string(kv.key);
    w.u32(GGUF_VALUE_TYPE_ID[kv.type]);
    if (kv.type === 'array') {
      w.u32(GGUF_VALUE_TYPE_ID[kv.itemType]);
      w.u64(kv.value.length);
      for (const v of kv.value) w.scalar(kv.itemType, v);
    } else {
      w.scalar(kv.type, kv.value);
    }
  }

  const names = new Set<string>();
  let rel = 0;
  const offsets: number[] = [];
  for (const { name, tensor } of tensors) {
    if (names.has(name)) throw errors.internal(`GGUF tensor ${name} given twice`);
    names.add(name);
    const bytes = tensorBytes(tensor.type, tensor.shape); // throws unless the columns are whole blocks
    if (tensor.data.length !== bytes) throw errors.internal(`GGUF tensor ${name}: ${tensor.type} [${tensor.shape}] needs ${bytes} bytes, got ${tensor.data.length}`);
    w.string(name);
    w.u32(tensor.shape.length);
    for (const n of [...tensor.shape].reverse()) w.u64(n);
    w.u32(ggmlTypeId(tensor.type));
    w.u64(rel);
    offsets.push(rel);
    rel = pad(rel + bytes, alignment);
  }
  w.zeros(pad(w.length, alignment) - w.length);

  const fd = fs.openSync(file, 'w');
  try {
    let pos = 0;
    const put = (b: Uint8Array) => {
      let done = 0;
      while (done < b.length) done += fs.writeSync(fd, b, done, b.length - done, pos + done);
      pos += b.length;
    };
    put(w.bytes());
    const dataStart = pos;
    tensors.forEach(({ tensor }, i) => {
      const gap = dataStart + offsets[i] - pos;
      if (gap > 0) put(new Uint8Array(gap));
      put(tensor.data);
    });
    const end = dataStart + rel;
    if (end > pos) put(new Uint8Array(end - pos));
  } finally {
    fs.closeSync(fd);
  }
}

const pad = (n: number, a: number) => Math.ceil(n / a) * a;

/** Little-endian header bytes, growing as needed. */
class ByteWriter {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private room(n: number): number {
    if (this.length + n > this.buf.length) {
      const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  zeros(n: number): void {
    this.room(n);
  }

  u32(v: number): void {
    const at = this.room(4);
    this.buf.writeUInt32LE(v, at);
  }

  u64(v: number | bigint): void {
    const at = this.room(8);
    this.buf.writeBigUInt64LE(BigInt(v), at);
  }

  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    const at = this.room(b.length);
    b.copy(this.buf, at);
  }

  scalar(type: GgufScalarType, v: number | bigint | boolean | string): void {
    if (type === 'string') return this.string(String(v));
    const at = this.room(GGUF_VALUE_BYTES[type]);
    const b = this.buf;
    switch (type) {
      case 'u8': b.writeUInt8(Number(v), at); break;
      case 'i8': b.writeInt8(Number(v), at); break;
      case 'bool': b.writeUInt8(v ? 1 : 0, at); break;
      case 'u16': b.writeUInt16LE(Number(v), at); break;
      case 'i16': b.writeInt16LE(Number(v), at); break;
      case 'u32': b.writeUInt32LE(Number(v), at); break;
      case 'i32': b.writeInt32LE(Number(v), at); break;
      case 'f32': b.writeFloatLE(Number(v), at); break;
      case 'u64': b.writeBigUInt64LE(BigInt(v), at); break;
      case 'i64': b.writeBigInt64LE(BigInt(v), at); break;
      case 'f64': b.writeDoubleLE(Number(v), at); break;
    }
  }
}
