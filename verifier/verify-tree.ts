// Tree verification: walks the draft tree from the root, accepting children against the target distribution,
// and returns the accepted path plus exactly one bonus/recovered token. Lossless: emitted tokens follow the target.
import assert from 'node:assert/strict';
import type { Rng } from '../common/rng.ts';
import { isGreedy, sampleFrom, targetProbs, type SamplingParams } from '../common/sampling.ts';
import { NodeKind, findChild, type DraftTree } from '../trees/draft-tree.ts';
import { verifyGreedy } from './greedy.ts';
import { tryRuleD } from './rule-d.ts';
import { runRuleS } from './rule-s.ts';
import type { RowHook, VerifyResult } from './verify-result.ts';

// Scratch reused across calls (verification is synchronous), grown to the largest vocab seen.
let residual = new Float32Array(0); // [vocab] residual target r
let draftResidual = new Float32Array(0); // [vocab] residual draft q

/**
 * Verifies `tree` against target logits [numNodes, vocab] (row i = distribution of the token after node i).
 * Greedy params: follow the argmax (verifier/greedy.ts). Otherwise, at each reached node u with
 * P = targetProbs(row u) (temperature, top-k, top-p applied FIRST; the same P drives acceptance and residuals):
 *   1. rule S over u's draw sequence drawOrders[u] (Sequoia, arXiv 2402.12374), starting from r = P;
 *   2. rule D over u's DETERMINISTIC children in index order, against what rule S left (SpecInfer's
 *      point-mass case, arXiv 2305.09781; speculation-methods.md §4);
 *   3. if nothing was accepted, the recovered token is sampled from the final residual r.
 * An accepted child that is a node is descended into; an accepted phantom draw (a draw without a node) is emitted
 * as the step's last token.
 *
 * WHY S BEFORE D. Rule S emits P only on average over the draws, so nothing that runs before it may depend on
 * them; rule D emits its input residual exactly for ANY candidate set fixed before verification, conditional on
 * everything else. Pruning and merging choose the deterministic set knowing the draws, so running rule D second,
 * as a replacement for "sample from rule S's residual", keeps the composite equal to P; D-first would condition
 * the draws on "every deterministic child was rejected" and bias them.
 * OVERLAP. A token both drawn and proposed deterministically is one SAMPLED node, tried at its draw position.
 * If rule S rejects it, its residual is exactly 0, so rule D would reject it anyway: treating it as sampled
 * loses nothing. Likewise a rejected token never comes back, so the emitted token is a child exactly when a child
 * was accepted, and the per-node acceptance rate is P(child tokens) whatever the order (Sequoia's cover property).
 *
 * `hook` (a grammar mask) may rewrite each row as it is reached, before anything reads it.
 *
 * Example (rigged logits, root 5 with children 7 → 9): rows argmax [7, 9, 4] → acceptedNodes [0, 1, 2], tokens [7, 9, 4].
 */
export function verifyTree(tree: DraftTree, logits: Float32Array, vocab: number, params: SamplingParams, rng: Rng, hook?: RowHook): VerifyResult {
  if (!(logits.length >= tree.numNodes * vocab)) assert.fail(`logits hold ${logits.length} values, need ${tree.numNodes}×${vocab}`);
  if (isGreedy(params)) return verifyGreedy(tree, logits, vocab, hook);
  if (residual.length < vocab) {
    residual = new Float32Array(vocab);
    draftResidual = new Float32Array(vocab);
  }
  const r = residual;
  const acceptedNodes = [0];
  const tokens: number[] = [];
  for (let u = 0; ; ) {
    hook?.(u, logits);
    targetProbs(logits, u * vocab, vocab, params, r);
    let emitted = -1;
    let next = -1;

    const draws = tree.drawOrders[u];
    if (draws !== undefined && draws.length > 0) {
      const dist = tree.childDists[u];
      if (!(dist !== undefined)) assert.fail(`node ${u} has draws but no child distribution`);
      const j = runRuleS(r, dist, draws, vocab, rng, draftResidual);
      if (j >= 0) {
        emitted = draws[j];
        next = findChild(tree, u, emitted);
      }
    }
    for (let k = tree.childOffsets[u]; emitted < 0 && k < tree.childOffsets[u + 1]; k++) {
      const c = tree.childNodes[k];
      if (tree.kinds[c] === NodeKind.deterministic && tryRuleD(r, vocab, tree.tokens[c], rng)) {
        emitted = tree.tokens[c];
        next = c;
      }
    }
    if (emitted < 0) emitted = sampleFrom(r, vocab, rng);

    tokens.push(emitted);
    if (next < 0) break;
    acceptedNodes.push(next);
    u = next;
  }
  return { acceptedNodes, tokens, numDrafted: tree.numNodes - 1, numAcceptedDraft: acceptedNodes.length - 1 };
}
