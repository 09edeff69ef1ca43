// Draws sampled children: k distinct tokens from a draft distribution, without replacement, in draw order.
// This is the proposal process rule S assumes (Sequoia, arXiv 2402.12374 §3.2); it never builds tree nodes.
import assert from 'node:assert/strict';
import type { Rng } from '../common/rng.ts';

/**
 * Sequential draws from q ([vocab], need not be normalised): each draw comes from q restricted to the tokens not
 * drawn yet. Once that mass is 0 the draws continue uniformly over the undrawn tokens, the same fallback the
 * verifier applies. Returns [k] tokens in draw order.
 *
 * Example: q = [0.7, 0.2, 0.1, 0], k = 2 → [0, 1] with probability 0.7 · (0.2 / 0.3).
 */
export function drawWithoutReplacement(q: Float32Array, vocab: number, k: number, rng: Rng): Int32Array {
  if (!(Number.isInteger(k) && k >= 0 && k <= vocab)) assert.fail(`cannot draw ${k} distinct tokens from a vocabulary of ${vocab}`);
  const drawn = new Uint8Array(vocab); // [vocab]
  const out = new Int32Array(k); // [k]
  for (let j = 0; j < k; j++) {
    let mass = 0;
    for (let i = 0; i < vocab; i++) if (!drawn[i] && q[i] > 0) mass += q[i];
    let pick = -1;
    if (mass > 0) {
      const u = rng.next() * mass;
      let acc = 0;
      for (let i = 0; i < vocab; i++) {
        if (drawn[i] || !(q[i] > 0)) continue;
        acc += q[i];
        pick = i;
        if (u < acc) break;
      }
    } else {
      let r = Math.floor(rng.next() * (vocab - j));
      for (let i = 0; i < vocab; i++) {
        if (drawn[i]) continue;
        pick = i;
        if (r-- === 0) break;
      }
    }
    drawn[pick] = 1;
    out[j] = pick;
  }
  return out;
}
