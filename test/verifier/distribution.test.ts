// Statistical losslessness: over 20000 seeded trials the emitted tokens follow the target distribution.
// Pearson χ² at significance 0.001 (fixed seeds, so each run is deterministic); a biased control must fail.
import t from 'tap';
import { Rng } from '../../common/rng.ts';
import { sampleFrom, type SamplingParams } from '../../common/sampling.ts';
import { NodeKind, TreeBuilder, type DraftTree } from '../../trees/draft-tree.ts';
import { drawWithoutReplacement } from '../../trees/draw.ts';
import { pruneToBudget } from '../../trees/prune.ts';
import { verifyTree } from '../../verifier/verify-tree.ts';
import { chiSquare, probsOf, stackRows } from './helpers.ts';

const VOCAB = 6;
const TRIALS = 20000;
const ROOT_LOGITS = Float32Array.from([1.2, 0.3, -0.5, 0.8, 0.0, -1.0]);
const Q = Float32Array.from([0.1, 0.35, 0.05, 0.3, 0.15, 0.05]); // draft distribution at the root
// Target and draft conditionals after each token (depth-2 test): row t = logits / q after token t.
const COND_LOGITS = [
  [0.5, 1.0, -0.2, 0.1, 0.3, -0.4],
  [-0.3, 0.2, 0.9, 0.4, -0.1, 0.6],
  [1.1, -0.6, 0.2, 0.7, 0.0, -0.2],
  [0.0, 0.4, 0.3, -0.5, 1.3, 0.2],
  [0.6, 0.6, -0.1, 0.2, -0.3, 0.9],
  [-0.2, 0.1, 0.8, 1.0, 0.4, -0.7],
].map((r) => Float32Array.from(r));
const COND_Q = [
  [0.3, 0.3, 0.1, 0.1, 0.1, 0.1],
  [0.05, 0.15, 0.4, 0.2, 0.1, 0.1],
  [0.4, 0.05, 0.15, 0.2, 0.1, 0.1],
  [0.1, 0.2, 0.1, 0.05, 0.45, 0.1],
  [0.2, 0.2, 0.1, 0.1, 0.1, 0.3],
  [0.1, 0.1, 0.3, 0.3, 0.15, 0.05],
].map((r) => Float32Array.from(r));

const PARAMS: [string, SamplingParams][] = [
  ['T=1', { temperature: 1, topK: 0, topP: 1 }],
  ['T=0.7 top-k 4 top-p 0.9', { temperature: 0.7, topK: 4, topP: 0.9 }],
  ['T=1.5 top-p 0.8', { temperature: 1.5, topK: 0, topP: 0.8 }],
];

/** How each trial's root children are made: deterministic tokens, and `numDraws` draws from q. */
interface Shape {
  det: number[];
  numDraws: number;
  /** Prune to this many draft nodes after building (scores: draws q(x), deterministic 0.2). */
  budget?: number;
}

function addChildren(b: TreeBuilder, parent: number, shape: Shape, q: Float32Array, rng: Rng): void {
  for (const tok of shape.det) b.add(parent, tok, { score: 0.2 });
  if (shape.numDraws === 0) return;
  b.setChildDist(parent, q);
  for (const tok of drawWithoutReplacement(q, VOCAB, shape.numDraws, rng)) b.add(parent, tok, { kind: NodeKind.sampled, score: q[tok] });
}

function firstTokenCounts(shape: Shape, params: SamplingParams, seed: number): number[] {
  const draftRng = new Rng(seed);
  const verifyRng = new Rng(seed + 1000);
  const counts = new Array(VOCAB).fill(0);
  const logits = new Float32Array(16 * VOCAB);
  for (let trial = 0; trial < TRIALS; trial++) {
    const b = new TreeBuilder(0);
    addChildren(b, 0, shape, Q, draftRng);
    let tree = b.build();
    if (shape.budget !== undefined) tree = pruneToBudget(tree, shape.budget);
    logits.set(ROOT_LOGITS); // children rows: any logits (only the first token is counted)
    counts[verifyTree(tree, logits, VOCAB, params, verifyRng).tokens[0]]++;
  }
  return counts;
}

const SHAPES: [string, Shape][] = [
  ['rule D, 1 deterministic child', { det: [3], numDraws: 0 }],
  ['rule D, 2 deterministic children', { det: [1, 0], numDraws: 0 }],
  ['rule S, 2 draws without replacement', { det: [], numDraws: 2 }],
  ['mixed: 2 deterministic + 3 draws (overlaps are sampled)', { det: [0, 3], numDraws: 3 }],
  ['mixed, pruned to 2 nodes (phantom draws, draw-dependent deterministic set)', { det: [0, 3], numDraws: 3, budget: 2 }],
];

t.test('first emitted token follows targetProbs (χ², α = 0.001)', (t) => {
  let seed = 1;
  for (const [paramsName, params] of PARAMS) {
    const p = probsOf(ROOT_LOGITS, VOCAB, params);
    for (const [shapeName, shape] of SHAPES) {
      const fit = chiSquare(firstTokenCounts(shape, params, seed++), p, TRIALS);
      t.ok(fit.stat < fit.critical, `${shapeName}, ${paramsName}: χ² = ${fit.stat.toFixed(2)} < ${fit.critical.toFixed(2)} (df ${fit.df})`);
      t.equal(fit.impossible, 0, `${shapeName}, ${paramsName}: no token outside the target's support`);
    }
  }
  t.end();
});

t.test('control: rule S on deterministic children (top-2 of q labelled as draws) is detected as biased', (t) => {
  const params = PARAMS[0][1];
  const rng = new Rng(99);
  const counts = new Array(VOCAB).fill(0);
  const logits = new Float32Array(3 * VOCAB);
  logits.set(ROOT_LOGITS);
  for (let trial = 0; trial < TRIALS; trial++) {
    const b = new TreeBuilder(0);
    b.setChildDist(0, Q);
    b.add(0, 1, { kind: NodeKind.sampled });
    b.add(0, 3, { kind: NodeKind.sampled });
    counts[verifyTree(b.build(), logits, VOCAB, params, rng).tokens[0]]++;
  }
  const fit = chiSquare(counts, probsOf(ROOT_LOGITS, VOCAB, params), TRIALS);
  t.ok(fit.stat > fit.critical, `biased control: χ² = ${fit.stat.toFixed(1)} > ${fit.critical.toFixed(2)}`);
  t.end();
});

/** Depth-2 tree: root children as `shape` with q = Q; each child c gets `shape` children with q = COND_Q[token c]. */
function depthTwoTree(shape: Shape, rng: Rng): DraftTree {
  const b = new TreeBuilder(0);
  addChildren(b, 0, shape, Q, rng);
  const numFirst = b.numNodes;
  for (let c = 1; c < numFirst; c++) {
    const tok = b.tokenAt(c);
    addChildren(b, c, { det: shape.det.map((d) => (d + tok) % VOCAB), numDraws: shape.numDraws }, COND_Q[tok], rng);
  }
  return b.build();
}

t.test('first TWO emitted tokens on a depth-2 tree follow the product of target conditionals (χ², α = 0.001)', (t) => {
  const shapes: [string, Shape][] = [
    ['deterministic', { det: [0, 3], numDraws: 0 }],
    ['sampled', { det: [], numDraws: 2 }],
    ['mixed', { det: [0, 3], numDraws: 2 }],
  ];
  let seed = 500;
  for (const [paramsName, params] of PARAMS.slice(0, 2)) {
    const p1 = probsOf(ROOT_LOGITS, VOCAB, params);
    const p2 = COND_LOGITS.map((row) => probsOf(row, VOCAB, params));
    const joint = new Float64Array(VOCAB * VOCAB);
    for (let a = 0; a < VOCAB; a++) for (let b = 0; b < VOCAB; b++) joint[a * VOCAB + b] = p1[a] * p2[a][b];
    for (const [shapeName, shape] of shapes) {
      const draftRng = new Rng(seed++);
      const verifyRng = new Rng(seed++);
      const counts = new Array(VOCAB * VOCAB).fill(0);
      const logits = new Float32Array(64 * VOCAB);
      for (let trial = 0; trial < TRIALS; trial++) {
        const tree = depthTwoTree(shape, draftRng);
        const rows = Array.from(tree.tokens, (tok, i) => (i === 0 ? ROOT_LOGITS : COND_LOGITS[tok]));
        const out = verifyTree(tree, stackRows(rows, VOCAB, logits), VOCAB, params, verifyRng).tokens;
        // A step that emitted one token: the next step samples the second from the target after it.
        const second = out.length >= 2 ? out[1] : sampleFrom(p2[out[0]], VOCAB, verifyRng);
        counts[out[0] * VOCAB + second]++;
      }
      const fit = chiSquare(counts, joint, TRIALS);
      t.ok(fit.stat < fit.critical, `${shapeName}, ${paramsName}: χ² = ${fit.stat.toFixed(2)} < ${fit.critical.toFixed(2)} (df ${fit.df})`);
      t.equal(fit.impossible, 0, `${shapeName}, ${paramsName}: no pair outside the target's support`);
    }
  }
  t.end();
});
