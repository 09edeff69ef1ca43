// The datastore file: a 128-byte header, then the Int32 tokens, then the Int32 suffix array (little-endian).
// Loading is one read into typed-array views; a file built for another vocabulary or tokenizer FAILS LOUDLY.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errors } from '../common/errors.ts';
import { SEPARATOR, type Datastore } from './datastore.ts';

/**
 * Layout (all integers little-endian):
 *
 *   offset  size  field
 *   0       8     magic "SPRIG-DS"
 *   8       4     u32 version (DATASTORE_VERSION)
 *   12      4     u32 header size in bytes (128)
 *   16      4     u32 vocab: the model's vocabulary size
 *   20      4     u32 numTokens (n, separators included)
 *   24      4     u32 numDocs
 *   28      4     i32 separator id (-1)
 *   32      64    ASCII tokenizer fingerprint (sha256 hex), NUL-padded
 *   96      32    UTF-8 name (model folder), NUL-padded
 *   128     4n    i32 tokens [n]
 *   128+4n  4n    i32 suffix array [n]
 *
 * Total size = 128 + 8n bytes; 1M tokens ≈ 8 MB.
 */
export const DATASTORE_MAGIC = 'SPRIG-DS';
export const DATASTORE_VERSION = 1;
const HEADER_BYTES = 128;
const FINGERPRINT_AT = 32;
const NAME_AT = 96;

function checkLittleEndian(): void {
  if (os.endianness() !== 'LE') throw errors.unsupportedModel('datastore files are little-endian; this machine is big-endian');
}

/** Writes ds to `file` (through a temporary file and a rename, so readers never see half a file). Returns bytes written. */
export function saveDatastore(ds: Datastore, file: string): number {
  checkLittleEndian();
  const n = ds.tokens.length;
  const header = Buffer.alloc(HEADER_BYTES);
  header.write(DATASTORE_MAGIC, 0, 'ascii');
  header.writeUInt32LE(DATASTORE_VERSION, 8);
  header.writeUInt32LE(HEADER_BYTES, 12);
  header.writeUInt32LE(ds.vocab, 16);
  header.writeUInt32LE(n, 20);
  header.writeUInt32LE(ds.numDocs, 24);
  header.writeInt32LE(SEPARATOR, 28);
  header.write(ds.tokenizer.slice(0, NAME_AT - FINGERPRINT_AT), FINGERPRINT_AT, 'ascii');
  header.write(truncateUtf8(ds.name, HEADER_BYTES - NAME_AT), NAME_AT, 'utf8');

  const tmp = `${file}.tmp-${process.pid}`;
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const fd = fs.openSync(tmp, 'w');
  try {
    for (const part of [header, ds.tokens, ds.suffixArray]) {
      const bytes = new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
      for (let off = 0; off < bytes.length; ) off += fs.writeSync(fd, bytes, off);
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  return HEADER_BYTES + 8 * n;
}

/**
 * Reads a datastore file. expectedVocab (the target model's vocabulary size) and expectedTokenizer (its
 * tokenizerFingerprint) are checked when given; a mismatch throws SPRIG_ERR_VOCAB_MISMATCH naming both sides.
 *
 * Example: loadDatastore('stories.ds', 512) → { vocab: 512, numDocs: 200, tokens: Int32Array(40200), fileBytes: 321728, … }
 */
export function loadDatastore(file: string, expectedVocab?: number, expectedTokenizer?: string): Datastore {
  checkLittleEndian();
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw errors.invalidParam(`cannot read datastore ${file}: ${(e as Error).message}`, 'datastore', { cause: e });
  }
  const bad = (why: string) => errors.invalidParam(`${file} is not a usable Sprig datastore: ${why}`, 'datastore');
  if (buf.length < HEADER_BYTES) throw bad(`${buf.length} bytes, shorter than the ${HEADER_BYTES}-byte header`);
  const magic = buf.toString('latin1', 0, 8);
  if (magic !== DATASTORE_MAGIC) throw bad(`magic ${JSON.stringify(magic)}, expected ${JSON.stringify(DATASTORE_MAGIC)}`);
  const version = buf.readUInt32LE(8);
  if (version !== DATASTORE_VERSION) throw bad(`format version ${version}, this Sprig reads version ${DATASTORE_VERSION}`);
  const headerBytes = buf.readUInt32LE(12);
  if (headerBytes !== HEADER_BYTES) throw bad(`header size ${headerBytes}, expected ${HEADER_BYTES}`);
  const vocab = buf.readUInt32LE(16);
  const n = buf.readUInt32LE(20);
  const numDocs = buf.readUInt32LE(24);
  const separator = buf.readInt32LE(28);
  if (separator !== SEPARATOR) throw bad(`separator ${separator}, expected ${SEPARATOR}`);
  const tokenizer = cString(buf, FINGERPRINT_AT, NAME_AT, 'latin1');
  const name = cString(buf, NAME_AT, HEADER_BYTES, 'utf8');
  const label = `${file} (built with ${name || 'an unnamed model'}, vocabulary ${vocab}${tokenizer ? `, tokenizer ${tokenizer.slice(0, 12)}` : ''})`;

  if (expectedVocab !== undefined && vocab !== expectedVocab) {
    throw errors.vocabMismatch(`datastore ${label} has vocabulary size ${vocab}, but the model has ${expectedVocab}: rebuild it with \`sprig datastore build --model <this model>\``, 'datastore');
  }
  if (expectedTokenizer && tokenizer && tokenizer !== expectedTokenizer) {
    throw errors.vocabMismatch(`datastore ${file} (built with ${name || 'an unnamed model'}) was tokenized by tokenizer ${tokenizer.slice(0, 12)}, but the model's tokenizer is ${expectedTokenizer.slice(0, 12)} (the datastore's vocabulary has ${vocab} tokens; their strings differ): rebuild it with this model`, 'datastore');
  }
  const expectedBytes = HEADER_BYTES + 8 * n;
  if (buf.length !== expectedBytes) throw bad(`${buf.length} bytes, but the header's ${n} tokens need ${expectedBytes}`);

  // One read, then views. readFileSync buffers are normally 4-byte aligned; copy if not.
  const bytes = buf.byteOffset % 4 === 0 ? buf : Buffer.from(buf);
  const tokens = new Int32Array(bytes.buffer, bytes.byteOffset + HEADER_BYTES, n); // [n]
  const suffixArray = new Int32Array(bytes.buffer, bytes.byteOffset + HEADER_BYTES + 4 * n, n); // [n]
  let seps = 0;
  for (let i = 0; i < n; i++) {
    const tok = tokens[i];
    if (tok === SEPARATOR) seps++;
    else if (tok < 0 || tok >= vocab) throw bad(`token ${i} is ${tok}, outside the vocabulary [0, ${vocab})`);
    if (suffixArray[i] < 0 || suffixArray[i] >= n) throw bad(`suffix array entry ${i} is ${suffixArray[i]}, outside [0, ${n})`);
  }
  if (seps !== numDocs || (n > 0 && tokens[n - 1] !== SEPARATOR)) throw bad(`${seps} document separators, header says ${numDocs} documents`);
  return { vocab, tokenizer, name, numDocs, tokens, suffixArray, fileBytes: buf.length };
}

function cString(buf: Buffer, start: number, end: number, encoding: BufferEncoding): string {
  const nul = buf.indexOf(0, start);
  return buf.toString(encoding, start, nul >= start && nul < end ? nul : end);
}

function truncateUtf8(s: string, maxBytes: number): string {
  let out = s;
  while (Buffer.byteLength(out, 'utf8') > maxBytes) out = out.slice(0, -1);
  return out;
}
