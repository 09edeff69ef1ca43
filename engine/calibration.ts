// Online calibration of drafters' node scores into acceptance probabilities, learned from every verification:
// per drafter and score bin, a Beta posterior over "a node with this score was accepted", whose prior is centred
// on the drafter's own score (so a well-calibrated drafter needs no data, a miscalibrated one is corrected).
import type { DraftTree } from '../trees/draft-tree.ts';

const BINS = 16;
const PRIOR_STRENGTH = 4;

export class ScoreCalibration {
  /** [drafterId * BINS + bin] accepted and seen counts. */
  private readonly accepted = new Float64Array(32 * BINS);
  private readonly seen = new Float64Array(32 * BINS);

  /** Node values: the best calibrated estimate over the node's sources; root 1. [numNodes] */
  values(tree: DraftTree, out = new Float64Array(tree.numNodes)): Float64Array {
    out[0] = 1;
    for (let i = 1; i < tree.numNodes; i++) {
      let best = 0;
      const score = tree.scores[i];
      for (let mask = tree.sources[i], id = 0; mask !== 0; mask >>>= 1, id++) {
        if (mask & 1) best = Math.max(best, this.estimate(id, score));
      }
      // Nodes in one score bin share an estimate; the drafter's own score breaks the tie, so a cut by value
      // keeps the order the drafter ranked its nodes in.
      out[i] = tree.sources[i] === 0 ? clamp01(score) : best + 1e-6 * clamp01(score);
    }
    return out;
  }

  estimate(drafterId: number, score: number): number {
    const k = drafterId * BINS + bin(score);
    const prior = clamp01(score);
    return (this.accepted[k] + PRIOR_STRENGTH * prior) / (this.seen[k] + PRIOR_STRENGTH);
  }

  /** Learns from one verified tree and its accepted path. */
  observe(tree: DraftTree, acceptedNodes: readonly number[]): void {
    const accepted = new Set(acceptedNodes);
    for (let i = 1; i < tree.numNodes; i++) {
      const b = bin(tree.scores[i]);
      for (let mask = tree.sources[i], id = 0; mask !== 0; mask >>>= 1, id++) {
        if (!(mask & 1)) continue;
        this.seen[id * BINS + b]++;
        if (accepted.has(i)) this.accepted[id * BINS + b]++;
      }
    }
  }
}

/** Score bins on a log scale: [1, 0.5), [0.5, 0.25), … so small path products keep resolution. */
function bin(score: number): number {
  if (!(score > 0)) return BINS - 1;
  return Math.min(BINS - 1, Math.max(0, Math.floor(-Math.log2(Math.min(1, score)))));
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** Calibration is learned per target model and kept for the life of the process. */
const shared = new Map<string, ScoreCalibration>();

export function sharedCalibration(modelKey: string): ScoreCalibration {
  let c = shared.get(modelKey);
  if (!c) shared.set(modelKey, (c = new ScoreCalibration()));
  return c;
}
