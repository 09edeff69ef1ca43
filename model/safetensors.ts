// Safetensors reading (single file or sharded via model.safetensors.index.json) and writing.
// Tensors are read one at a time from an open file descriptor, so a checkpoint is never held twice in memory.
import fs from 'node:fs';
import path from 'node:path';
import { errors } from '../common/errors.ts';
import { halfTable } from './quant/half.ts';
import { floatToBf16, floatToHalf } from './quant/half-encode.ts';

export type StDtype = 'F32' | 'F16' | 'BF16';

export interface TensorInfo {
  name: string;
  dtype: StDtype;
  shape: number[];
  file: string;
  /** Absolute byte offset of the data in `file`. */
  offset: number;
  byteLength: number;
}

const BYTES: Record<StDtype, number> = { F32: 4, F16: 2, BF16: 2 };

/** Parses one safetensors header. */
export function readSafetensorsHeader(file: string): TensorInfo[] {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const lenBuf = Buffer.alloc(8);
    fs.readSync(fd, lenBuf, 0, 8, 0);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen <= 0 || headerLen + 8 > size) throw errors.badCheckpoint(`${file}: safetensors header length ${headerLen} does not fit the file size ${size}`);
    const hbuf = Buffer.alloc(headerLen);
    fs.readSync(fd, hbuf, 0, headerLen, 8);
    const header = JSON.parse(hbuf.toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    const out: TensorInfo[] = [];
    for (const [name, t] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      if (!(t.dtype in BYTES)) throw errors.unsupportedModel(`${file}: tensor ${name} has dtype ${t.dtype} (supported: F32, F16, BF16)`);
      const dtype = t.dtype as StDtype;
      const [begin, end] = t.data_offsets;
      const numel = t.shape.reduce((a, b) => a * b, 1);
      if (end - begin !== numel * BYTES[dtype]) throw errors.badCheckpoint(`${file}: tensor ${name} has ${end - begin} bytes for shape [${t.shape}] ${dtype}`);
      if (8 + headerLen + end > size) throw errors.badCheckpoint(`${file}: tensor ${name} ends at byte ${8 + headerLen + end}, past the file size ${size}`);
      out.push({ name, dtype, shape: t.shape, file, offset: 8 + headerLen + begin, byteLength: end - begin });
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

/** All tensors of a checkpoint folder: model.safetensors, or the shards named by model.safetensors.index.json. */
export function listCheckpointTensors(dir: string): Map<string, TensorInfo> {
  const index = path.join(dir, 'model.safetensors.index.json');
  const single = path.join(dir, 'model.safetensors');
  let files: string[];
  if (fs.existsSync(index)) {
    const weightMap = (JSON.parse(fs.readFileSync(index, 'utf8')) as { weight_map: Record<string, string> }).weight_map;
    files = [...new Set(Object.values(weightMap))].sort().map((f) => path.join(dir, f));
  } else if (fs.existsSync(single)) {
    files = [single];
  } else {
    throw errors.checkpointMissing(`${dir}: no model.safetensors or model.safetensors.index.json`);
  }
  const map = new Map<string, TensorInfo>();
  for (const f of files) {
    if (!fs.existsSync(f)) throw errors.checkpointMissing(`${f}: shard named by the index is missing`);
    for (const t of readSafetensorsHeader(f)) map.set(t.name, t);
  }
  return map;
}

/** Reads one tensor and converts it to float32. [numel] */
export function readTensorF32(info: TensorInfo): Float32Array {
  const buf = Buffer.allocUnsafe(info.byteLength);
  const fd = fs.openSync(info.file, 'r');
  try {
    let done = 0;
    while (done < info.byteLength) done += fs.readSync(fd, buf, done, info.byteLength - done, info.offset + done);
  } finally {
    fs.closeSync(fd);
  }
  const numel = info.byteLength / BYTES[info.dtype];
  const out = new Float32Array(numel);
  if (info.dtype === 'F32') {
    for (let i = 0; i < numel; i++) out[i] = buf.readFloatLE(i * 4);
  } else if (info.dtype === 'BF16') {
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < numel; i++) u32[i] = buf.readUInt16LE(i * 2) << 16;
  } else {
    const half = halfTable();
    for (let i = 0; i < numel; i++) out[i] = half[buf.readUInt16LE(i * 2)];
  }
  return out;
}

/** Writes tensors to a safetensors file in the given dtype (F32 data in, converted on write, rounding to nearest even). */
export function writeSafetensors(file: string, tensors: { name: string; shape: number[]; data: Float32Array }[], dtype: StDtype = 'F32'): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    const len = t.data.length * BYTES[dtype];
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + len] };
    offset += len;
  }
  let headerStr = JSON.stringify(header);
  headerStr += ' '.repeat((8 - (headerStr.length % 8)) % 8);
  const hbuf = Buffer.from(headerStr, 'utf8');
  const out = Buffer.alloc(8 + hbuf.length + offset);
  out.writeBigUInt64LE(BigInt(hbuf.length), 0);
  hbuf.copy(out, 8);
  let p = 8 + hbuf.length;
  for (const t of tensors) {
    for (let i = 0; i < t.data.length; i++) {
      if (dtype === 'F32') out.writeFloatLE(t.data[i], p + i * 4);
      else if (dtype === 'F16') out.writeUInt16LE(floatToHalf(t.data[i]), p + i * 2);
      else out.writeUInt16LE(floatToBf16(t.data[i]), p + i * 2);
    }
    p += t.data.length * BYTES[dtype];
  }
  fs.writeFileSync(file, out);
}
