// Pearson's chi-square goodness-of-fit test against exact expected probabilities (test-only).

/** Regularised upper incomplete gamma Q(a, x) (Numerical Recipes §6.2: series below a+1, continued fraction above). */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lnGammaA = lnGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return 1 - sum * Math.exp(-x + a * Math.log(x) - lnGammaA);
  }
  let b = x + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.exp(-x + a * Math.log(x) - lnGammaA) * h;
}

function lnGamma(z: number): number {
  // Lanczos approximation (g = 7, n = 9).
  const g = 7;
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lnGamma(1 - z);
  z -= 1;
  let x = c[0];
  for (let i = 1; i < g + 2; i++) x += c[i] / (z + i);
  const t = z + g + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(x);
}

export interface ChiSquareResult {
  statistic: number;
  df: number;
  pValue: number;
}

/**
 * Observed counts vs expected probabilities. Cells with expected count < 5 are pooled into one,
 * as the test's approximation requires. An observation in a zero-probability cell gives p = 0.
 */
export function chiSquare(observed: Map<string, number>, expected: Map<string, number>): ChiSquareResult {
  let total = 0;
  for (const c of observed.values()) total += c;
  for (const k of observed.keys()) if (!((expected.get(k) ?? 0) > 0)) return { statistic: Infinity, df: 0, pValue: 0 };
  let stat = 0;
  let df = -1;
  let pooledE = 0;
  let pooledO = 0;
  for (const [k, p] of expected) {
    const e = p * total;
    const o = observed.get(k) ?? 0;
    if (e < 5) {
      pooledE += e;
      pooledO += o;
      continue;
    }
    stat += (o - e) ** 2 / e;
    df++;
  }
  if (pooledE > 0) {
    stat += (pooledO - pooledE) ** 2 / Math.max(pooledE, 1e-12);
    df++;
  }
  return { statistic: stat, df, pValue: df > 0 ? gammaQ(df / 2, stat / 2) : 1 };
}
