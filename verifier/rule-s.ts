// Rule S: verifying the SAMPLED children of one node, drawn without replacement from the draft distribution q.
// Sequoia's recursive rejection sampling (arXiv 2402.12374 §3.2, Algorithm 2); SpecInfer's MSS is the with-replacement case.
import assert from 'node:assert/strict';
import type { Rng } from '../common/rng.ts';

/**
 * Tries the draws x1..xk in draw order against residual target r and residual draft q:
 *   accept xj with probability min(1, r(xj) / q(xj));
 *   on rejection r ← norm(max(r − q, 0)) and q ← norm(q with xj removed);
 *   if q has no mass left, q ← uniform over the tokens not drawn yet (Sequoia's fallback; trees/draw.ts draws the same way).
 * Returns the index j of the accepted draw, or -1 with r left as the residual to sample the recovered token from.
 * A rejected draw always ends with r(xj) = 0, so a later rule-D try of the same token is a certain rejection.
 *
 * r: [vocab] normalised residual target (updated in place); dist: [vocab] draft distribution the draws came from;
 * draws: [k] distinct tokens; q: [vocab] scratch.
 */
export function runRuleS(r: Float32Array, dist: Float32Array, draws: Int32Array, vocab: number, rng: Rng, q: Float32Array): number {
  let qMass = 0;
  for (let i = 0; i < vocab; i++) {
    const v = dist[i] > 0 ? dist[i] : 0;
    q[i] = v;
    qMass += v;
  }
  for (let j = 0; j < draws.length; j++) {
    const x = draws[j];
    if (!(qMass > 0)) qMass = fillUniformExcept(q, vocab, draws, j);
    const qx = q[x] / qMass;
    if (!(qx > 0)) assert.fail(`draw ${j} (token ${x}) has zero draft probability: draws must come from the node's child distribution`);
    if (rng.next() * qx < r[x]) return j;

    // Rejected: r ← norm(max(r − q, 0)). Its mass is the total-variation distance, > 0 because r(x) < q(x).
    const invQ = 1 / qMass;
    let rMass = 0;
    for (let i = 0; i < vocab; i++) {
      const v = r[i] - q[i] * invQ;
      if (v > 0) rMass += v;
    }
    if (rMass > 0) {
      const invR = 1 / rMass;
      for (let i = 0; i < vocab; i++) {
        const v = r[i] - q[i] * invQ;
        r[i] = v > 0 ? v * invR : 0;
      }
    } else {
      removeAndRenormalise(r, vocab, x); // r = q up to rounding: just drop the rejected token
    }
    q[x] = 0;
    qMass = 0;
    for (let i = 0; i < vocab; i++) qMass += q[i];
  }
  return -1;
}

function fillUniformExcept(q: Float32Array, vocab: number, draws: Int32Array, numTried: number): number {
  q.fill(1, 0, vocab);
  for (let j = 0; j < numTried; j++) q[draws[j]] = 0;
  return vocab - numTried;
}

function removeAndRenormalise(r: Float32Array, vocab: number, x: number): void {
  r[x] = 0;
  let mass = 0;
  for (let i = 0; i < vocab; i++) mass += r[i];
  for (let i = 0; i < vocab; i++) r[i] /= mass;
}
