// IEEE half and bfloat16 → float32, subnormals included.

let table: Float32Array | null = null;

/** float32 value of every half bit pattern. [65536] */
export function halfTable(): Float32Array {
  if (table) return table;
  table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) table[h] = sign * frac * 2 ** -24;
    else if (exp === 31) table[h] = frac ? NaN : sign * Infinity;
    else table[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return table;
}

/** The float value of a half given as its 16 bits. */
export function halfToFloat(bits: number): number {
  return halfTable()[bits & 0xffff];
}

const bf = new Float32Array(1);
const bfBits = new Uint32Array(bf.buffer);

/** The float value of a bfloat16 given as its 16 bits. */
export function bf16ToFloat(bits: number): number {
  bfBits[0] = (bits & 0xffff) << 16;
  return bf[0];
}
