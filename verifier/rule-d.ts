// Rule D: verifying a DETERMINISTIC child (a point-mass proposal: top-k rank, n-gram, retrieval, template).
// Lossless for any candidate set fixed before verification; never apply rule S to such children.
import type { Rng } from '../common/rng.ts';

/**
 * Accepts `token` with probability r[token]; on rejection sets r[token] = 0 and renormalises r in place.
 * This is rule S with q = δ_token (Sequoia, arXiv 2402.12374 §3.2; EAGLE's evaluate_posterior): walking a set of
 * distinct candidates this way and sampling the final residual emits exactly r, like "draw y ~ r, descend if y is a child".
 * r: [vocab] normalised residual target distribution.
 */
export function tryRuleD(r: Float32Array, vocab: number, token: number, rng: Rng): boolean {
  const p = r[token];
  if (!(p > 0)) return false;
  if (rng.next() < p) return true;
  let mass = 0;
  for (let i = 0; i < vocab; i++) if (i !== token) mass += r[i];
  if (!(mass > 0)) return true; // p was 1 up to rounding: the rejection was an artefact
  r[token] = 0;
  const inv = 1 / mass;
  for (let i = 0; i < vocab; i++) r[i] *= inv;
  return false;
}
