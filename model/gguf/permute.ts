// llama.cpp's rotary row order for Q and K (llama arch). HF applies RoPE to the halves of each head
// (rotate-half: dims i and i + hd/2 pair up); llama.cpp's llama arch pairs adjacent dims (2i, 2i+1), so its
// converter reorders each head's rows:  GGUF row h·hd + 2i + s  =  HF row h·hd + s·hd/2 + i  (s ∈ {0, 1}).
// Whole rows move, so this is exact on raw ggml blocks of any type (blocks run along a row).

/** The GGUF row holding HF row r. */
export function ggufRowOfHfRow(r: number, headDim: number): number {
  const base = r - (r % headDim);
  const k = r % headDim;
  const half = headDim / 2;
  return base + 2 * (k % half) + (k >= half ? 1 : 0);
}

/** The HF row holding GGUF row r (inverse of ggufRowOfHfRow). */
export function hfRowOfGgufRow(r: number, headDim: number): number {
  const base = r - (r % headDim);
  const k = r % headDim;
  return base + (k & 1) * (headDim / 2) + (k >> 1);
}

/** Rows in HF order from a GGUF-ordered tensor of `rows` rows of `rowBytes` bytes. */
export function ggufToHfRows(data: Uint8Array, rows: number, rowBytes: number, headDim: number): Uint8Array {
  return reorder(data, rows, rowBytes, (r) => ggufRowOfHfRow(r, headDim));
}

/** Rows in GGUF order from an HF-ordered tensor (what llama.cpp's converter writes). */
export function hfToGgufRows(data: Uint8Array, rows: number, rowBytes: number, headDim: number): Uint8Array {
  return reorder(data, rows, rowBytes, (r) => hfRowOfGgufRow(r, headDim));
}

/** out row r = in row src(r). */
function reorder(data: Uint8Array, rows: number, rowBytes: number, src: (r: number) => number): Uint8Array {
  const out = new Uint8Array(rows * rowBytes);
  for (let r = 0; r < rows; r++) {
    const s = src(r) * rowBytes;
    out.set(data.subarray(s, s + rowBytes), r * rowBytes);
  }
  return out;
}
