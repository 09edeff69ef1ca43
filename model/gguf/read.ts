// Reads a GGUF file's header (v2/v3, little-endian): metadata, tensor infos with HF-order shapes and absolute
// offsets. Synchronous, reading the header in chunks and tensors on demand, so the file is never held whole.
// (@huggingface/gguf parses the same format but only asynchronously; Sprig's checkpoint loading is
// synchronous, so this reader is, and the tests cross-check it against @huggingface/gguf.)
import fs from 'node:fs';
import { errors } from '../../common/errors.ts';
import type { GgmlType } from '../weights.ts';
import { ggmlTypeById, supportedType } from '../quant/ggml-types.ts';
import { GGUF_VALUE_BYTES, GGUF_VALUE_TYPES, type GgufKv, type GgufMetadata, type GgufScalarType, type GgufValueType } from './metadata.ts';

export interface GgufTensorInfo {
  /** The name in the file (ggml's: blk.0.attn_q.weight). */
  name: string;
  /** Storage type when Sprig supports it; null for other ggml types (see typeName). */
  type: GgmlType | null;
  /** ggml's name of the type (Q5_0, IQ4_XS, ...), also for unsupported ones. */
  typeName: string;
  ggmlTypeId: number;
  /** HF order: ggml's ne reversed, e.g. [rows, cols]. */
  shape: number[];
  /** Absolute byte offset of the data in the file. */
  offset: number;
  byteLength: number;
}

export interface GgufFile {
  file: string;
  version: number;
  /** key → plain value (arrays as JS arrays, 64-bit integers as bigint). */
  metadata: GgufMetadata;
  /** The same entries with their on-disk types, in file order (what writeGguf takes). */
  kvs: GgufKv[];
  /** By ggml name, in file order. */
  tensors: Map<string, GgufTensorInfo>;
  fileBytes: number;
  alignment: number;
  /** Absolute offset where tensor data begins. */
  dataOffset: number;
}

const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const CHUNK = 1 << 20;

export function readGguf(file: string): GgufFile {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw errors.checkpointMissing(`${file}: no such GGUF file`);
  const r = new HeaderReader(file);
  try {
    return parse(r, file);
  } finally {
    r.close();
  }
}

/** Reads one tensor's bytes from the file. [byteLength] */
export function readTensorData(file: string, info: GgufTensorInfo): Uint8Array {
  const out = new Uint8Array(info.byteLength);
  const fd = fs.openSync(file, 'r');
  try {
    let done = 0;
    while (done < out.length) {
      const n = fs.readSync(fd, out, done, out.length - done, info.offset + done);
      if (n === 0) throw errors.badCheckpoint(`${file}: tensor ${info.name} is cut short at byte ${info.offset + done} (the file changed after it was opened?)`);
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

function parse(r: HeaderReader, file: string): GgufFile {
  if (r.size < 4 || r.u32('the magic number') !== MAGIC) {
    const head = r.size ? Array.from(r.peek(Math.min(4, r.size)), (b) => b.toString(16).padStart(2, '0')).join(' ') : 'nothing';
    throw errors.badCheckpoint(`${file}: not a GGUF file (it starts with ${head}, expected the magic "GGUF")`);
  }
  const version = r.u32('the version');
  if ((version & 0xffff) === 0 && version !== 0) {
    throw errors.badCheckpoint(`${file}: a big-endian GGUF file (version field 0x${version.toString(16).padStart(8, '0')}); Sprig reads little-endian GGUF only`);
  }
  if (version !== 2 && version !== 3) {
    throw errors.badCheckpoint(`${file}: GGUF version ${version} is not supported (supported: 2, 3; reconvert it with a current llama.cpp)`);
  }
  // Counts are not checked against the file size here (nothing is allocated from them): a wrong one runs into
  // the end of the file and fails there, naming the entry being read.
  const tensorCount = r.u64Number('the tensor count');
  const kvCount = r.u64Number('the metadata count');

  const metadata: GgufMetadata = {};
  const kvs: GgufKv[] = [];
  for (let i = 0; i < kvCount; i++) {
    const key = r.string(`metadata key ${i}`);
    const type = r.valueType(`metadata ${key}`);
    if (type === 'array') {
      const itemType = r.valueType(`metadata ${key} (array item type)`);
      if (itemType === 'array') throw errors.badCheckpoint(`${file}: metadata ${key} is an array of arrays, which GGUF models do not use`);
      const n = r.count(`metadata ${key} (array length)`, GGUF_VALUE_BYTES[itemType]);
      const value: unknown[] = new Array(n);
      for (let j = 0; j < n; j++) value[j] = r.scalar(itemType, `metadata ${key}[${j}]`);
      metadata[key] = value;
      kvs.push({ key, type: 'array', itemType, value } as GgufKv);
    } else {
      const value = r.scalar(type, `metadata ${key}`);
      metadata[key] = value;
      kvs.push({ key, type, value } as GgufKv);
    }
  }

  const alignment = Number(metadata['general.alignment'] ?? 32);
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw errors.badCheckpoint(`${file}: general.alignment=${String(metadata['general.alignment'])} is not a power of two`);
  }

  const infos: { name: string; ne: number[]; typeId: number; rel: number }[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = r.string(`tensor info ${i}`);
    const nDims = r.u32(`tensor ${name} (dimension count)`);
    if (nDims < 1 || nDims > 4) throw errors.badCheckpoint(`${file}: tensor ${name} has ${nDims} dimensions (GGUF allows 1 to 4)`);
    const ne: number[] = [];
    for (let d = 0; d < nDims; d++) ne.push(r.u64Number(`tensor ${name} (dimension ${d})`));
    const typeId = r.u32(`tensor ${name} (type)`);
    const rel = r.u64Number(`tensor ${name} (offset)`);
    infos.push({ name, ne, typeId, rel });
  }
  const dataOffset = Math.ceil(r.pos / alignment) * alignment;

  const tensors = new Map<string, GgufTensorInfo>();
  for (const { name, ne, typeId, rel } of infos) {
    if (tensors.has(name)) throw errors.badCheckpoint(`${file}: tensor ${name} appears twice`);
    const t = ggmlTypeById(typeId);
    if (!t) throw errors.badCheckpoint(`${file}: tensor ${name} has ggml type id ${typeId}, which is not a ggml type this reader knows`);
    if (ne[0] % t.blockElems !== 0) throw errors.badCheckpoint(`${file}: tensor ${name} rows of ${ne[0]} values are not whole ${t.name} blocks of ${t.blockElems}`);
    if (rel % alignment !== 0) throw errors.badCheckpoint(`${file}: tensor ${name} data offset ${rel} is not a multiple of the alignment ${alignment}`);
    const numel = ne.reduce((a, b) => a * b, 1);
    const byteLength = (numel / t.blockElems) * t.blockBytes;
    const offset = dataOffset + rel;
    if (offset + byteLength > r.size) {
      throw errors.badCheckpoint(`${file}: truncated: tensor ${name} needs bytes ${offset}..${offset + byteLength}, the file has ${r.size}`);
    }
    tensors.set(name, { name, type: supportedType(typeId), typeName: t.name, ggmlTypeId: typeId, shape: [...ne].reverse(), offset, byteLength });
  }
  return { file, version, metadata, kvs, tensors, fileBytes: r.size, alignment, dataOffset };
}

/** Sequential little-endian reads over the header, fetching 1 MiB chunks; running past the end is "truncated". */
class HeaderReader {
  readonly size: number;
  pos = 0;
  private fd: number;
  private buf = Buffer.alloc(0);
  private bufStart = 0;

  constructor(private file: string) {
    this.fd = fs.openSync(file, 'r');
    this.size = fs.fstatSync(this.fd).size;
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  /** Makes [pos, pos + n) readable from buf; returns its index in buf. */
  private need(n: number, what: string): number {
    if (this.pos + n > this.size) {
      throw errors.badCheckpoint(`${this.file}: truncated: the file ends (at ${this.size} bytes) inside ${what}`);
    }
    if (this.pos < this.bufStart || this.pos + n > this.bufStart + this.buf.length) {
      const len = Math.min(Math.max(n, CHUNK), this.size - this.pos);
      this.buf = Buffer.alloc(len);
      let done = 0;
      while (done < len) done += fs.readSync(this.fd, this.buf, done, len - done, this.pos + done);
      this.bufStart = this.pos;
    }
    const at = this.pos - this.bufStart;
    this.pos += n;
    return at;
  }

  peek(n: number): Uint8Array {
    const b = Buffer.alloc(n);
    fs.readSync(this.fd, b, 0, n, 0);
    return b;
  }

  /** Buffer holding the next n bytes and their index in it (call need() before touching this.buf). */
  private at(n: number, what: string): [Buffer, number] {
    const i = this.need(n, what);
    return [this.buf, i];
  }

  u32(what: string): number {
    const [b, i] = this.at(4, what);
    return b.readUInt32LE(i);
  }

  u64Number(what: string): number {
    const [b, i] = this.at(8, what);
    const v = b.readBigUInt64LE(i);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw errors.badCheckpoint(`${this.file}: ${what} is ${v}, too large to be real`);
    return Number(v);
  }

  /** A u64 count of items each at least `minItemBytes` long: more than the rest of the file holds is "truncated". */
  count(what: string, minItemBytes: number): number {
    const n = this.u64Number(what);
    if (n * minItemBytes > this.size - this.pos) {
      throw errors.badCheckpoint(`${this.file}: truncated or corrupt: ${what} is ${n}, more than the remaining ${this.size - this.pos} bytes can hold`);
    }
    return n;
  }

  string(what: string): string {
    const len = this.u64Number(`${what} (string length)`);
    const [b, i] = this.at(len, what);
    return b.toString('utf8', i, i + len);
  }

  valueType(what: string): GgufValueType {
    const id = this.u32(`${what} (value type)`);
    const type = GGUF_VALUE_TYPES[id];
    if (!type) throw errors.badCheckpoint(`${this.file}: ${what} has value type ${id}, which GGUF does not define`);
    return type;
  }

  scalar(type: GgufScalarType, what: string): number | bigint | boolean | string {
    if (type === 'string') return this.string(what);
    const [b, i] = this.at(GGUF_VALUE_BYTES[type], what);
    switch (type) {
      case 'u8': return b.readUInt8(i);
      case 'i8': return b.readInt8(i);
      case 'bool': return b.readUInt8(i) !== 0;
      case 'u16': return b.readUInt16LE(i);
      case 'i16': return b.readInt16LE(i);
      case 'u32': return b.readUInt32LE(i);
      case 'i32': return b.readInt32LE(i);
      case 'f32': return b.readFloatLE(i);
      case 'u64': return b.readBigUInt64LE(i);
      case 'i64': return b.readBigInt64LE(i);
      case 'f64': return b.readDoubleLE(i);
    }
  }
}
