// float32 → IEEE half and bfloat16 bits, rounding to nearest even as ggml does (F16C's vcvtps2ph and
// ggml's scalar fallback; ggml_compute_fp32_to_bf16). Subnormal halves kept. Decoding is in half.ts.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The half nearest to v (ties to even); overflow gives ±Infinity, NaN a quiet NaN. */
export function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const abs = x & 0x7fffffff;
  if (abs >= 0x7f800000) return sign | (abs > 0x7f800000 ? 0x7e00 : 0x7c00);
  if (abs >= 0x477ff000) return sign | 0x7c00; // ≥ 65520 rounds past the largest half (65504)
  if (abs < 0x38800000) {
    // Below 2^-14: a subnormal half, counted in units of 2^-24 (1024 units carry into the smallest normal).
    const units = Math.abs(f32[0]) * 2 ** 24;
    const low = Math.floor(units);
    const rest = units - low;
    return sign | (rest > 0.5 || (rest === 0.5 && (low & 1)) ? low + 1 : low);
  }
  const exp = (abs >>> 23) - 127 + 15;
  const mant = abs & 0x7fffff;
  let h = (exp << 10) | (mant >>> 13);
  const rest = mant & 0x1fff; // the 13 dropped bits
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // a carry into the exponent is still right
  return sign | h;
}

/** bfloat16 bits nearest to v (ties to even), NaN kept quiet. */
export function floatToBf16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}
