// THE speculative step: drafters propose → one tree within the budget → one target forward over the tree →
// verify → commit the accepted path's KV → drafters observe. Plain decoding is the same step with an empty tree.
import type { Drafter, DraftRequest } from '../drafters/drafter.ts';
import type { KvCache } from '../model/kv-cache.ts';
import { MASKED, type ModelRunner } from '../model/runner.ts';
import { TreeBuilder, type DraftTree } from '../trees/draft-tree.ts';
import { treeAttentionBias } from '../trees/mask.ts';
import { mergeTrees } from '../trees/merge.ts';
import { bestFirstOrder, keepFirst } from '../trees/prune.ts';
import { chooseTreeSize, isBucketSize } from '../trees/expander.ts';
import type { OnlineCost } from './verify-cost.ts';
import { askFor, PROBE_EVERY, type DraftCost } from './draft-cost.ts';
import type { DrafterGate } from './drafter-gate.ts';
import type { ScoreCalibration } from './calibration.ts';
import { verifyCoupled } from '../verifier/coupled.ts';
import { verifyTree } from '../verifier/verify-tree.ts';
import type { VerifyResult } from '../verifier/verify-result.ts';
import { isGreedy } from '../common/sampling.ts';
import type { Rng } from '../common/rng.ts';
import type { SamplingParams } from '../common/sampling.ts';
import type { StatsRecorder } from './stats.ts';
import type { BatchSlot } from './batcher.ts';
import { tokenLogprob, type TokenLogprob } from './logprobs.ts';
import { stepDetails, type TokenDetail } from './token-details.ts';
import type { TreeConstraint } from './constraint.ts';

export interface SpecState {
  runner: ModelRunner;
  cache: KvCache;
  drafters: Drafter[];
  /** Drafter id → name (token details' provenance). */
  drafterNames: ReadonlyMap<number, string>;
  /** Prompt + emitted tokens; the last is the root, not yet in the cache. */
  context: number[];
  sampling: SamplingParams;
  rng: Rng;
  /** Most draft nodes per step, or 'auto': the expander sizes each tree up to hardCap. */
  budget: number | 'auto';
  /** Never verify more draft nodes than this. */
  hardCap: number;
  /** Step cost over n tokens on this machine: t_verify(n) at startup, then every step's real cost; for 'auto'. */
  cost?: OnlineCost;
  /** Draft ms by ask, learned from this request's steps; for 'auto' (a size's cost includes the ask it leads to). */
  draftCost?: DraftCost;
  /** Recent chosen tree size (EMA): in 'auto' mode drafters are asked for about twice this, not the cap. */
  sizeEma: number;
  /** The size the expander chose last step (it sticks to it unless another is clearly better). */
  lastSize: number;
  /** Which drafters pay for themselves (only consulted when several drafters are active). */
  gate: DrafterGate;
  /** Turns drafters' scores into acceptance probabilities, learned online. */
  calibration: ScoreCalibration;
  stats: StatsRecorder;
  /** Reused attention-bias buffer (grows). */
  biasScratch: Float32Array;
  /** When set, each emitted token's log-probability and this many alternatives are returned. */
  logprobs?: number;
  /** When set, each emitted token's details (engine/token-details.ts) are returned. */
  tokenDetails?: boolean;
  /** How often each token was generated so far (for presence/frequency penalties); the caller keeps it. */
  generatedCounts: Map<number, number>;
  /** Continuous batching: the forward runs with the other running sequences' rows, and 'auto' trees are sized across the batch. */
  batch?: BatchSlot;
  /** Structured output: drafts the grammar rejects are pruned, forced tokens added, every verified row masked. */
  constraint?: TreeConstraint;
}

export interface StepResult {
  /** Accepted drafts, then one bonus/recovered token. */
  tokens: number[];
  /** Per token, when SpecState.logprobs is set. */
  logprobs: TokenLogprob[] | null;
  /** Per token, when SpecState.tokenDetails is set. */
  details?: TokenDetail[];
}

/** Runs one step; returns the emitted tokens (accepted drafts, then one bonus/recovered token). */
export async function speculativeStep(s: SpecState, maxDepth: number): Promise<StepResult> {
  const t0 = performance.now();
  const draft = await proposeTree(s, maxDepth); // drafters propose → one tree, sized for this machine
  const t1 = performance.now();
  const prefix = s.cache.length;
  const positions = Array.from(draft.tree.depths, (d) => prefix + d); // [numNodes]
  const logits = await (s.batch ?? s.runner).forward(s.cache, draft.tree.tokens, positions, biasFor(s, draft.tree, prefix)); // [numNodes, vocab]
  applyLogitBias(logits, draft.tree.numNodes, s.runner.vocab, s.sampling.logitBias);
  applyPenalties(logits, draft.tree, s.runner.vocab, s.generatedCounts, s.sampling);
  const verdict = verify(s, draft.tree, logits, prefix);
  s.constraint?.endStep(verdict.acceptedNodes, verdict.tokens); // the grammar advances along the accepted path only
  s.cache.commit(verdict.acceptedNodes); // keep the accepted path's KV, drop the rest
  const t2 = performance.now();
  observe(s, draft, logits, verdict); // drafters and the calibration learn from the target's verdict
  const t3 = performance.now();
  account(s, draft, verdict, t0, t1, t2, t3);
  // Token i was predicted at node acceptedNodes[i] (the root for the first).
  const vocab = s.runner.vocab;
  const k = s.logprobs;
  const logprobs = k === undefined ? null : verdict.tokens.map((tok, i) => tokenLogprob(logits, verdict.acceptedNodes[i] * vocab, vocab, tok, k));
  if (!s.tokenDetails) return { tokens: verdict.tokens, logprobs };
  const details = stepDetails(draft.tree, verdict.acceptedNodes, verdict.tokens, logits, vocab, s.drafterNames, s.stats.steps);
  return { tokens: verdict.tokens, logprobs, details };
}

interface Draft {
  tree: DraftTree;
  /** The expander's estimate of tokens this step. */
  expectedTokens: number;
  /** Nodes the drafters were asked for. */
  ask: number;
  /** Drafters that proposed this step, and the ms each spent (propose, then observe). */
  active: Drafter[];
  costMs: number[];
}

/**
 * Greedy: the argmax path. Sampling with a seed (unless reproducible: false): one seeded draw per position,
 * so the text does not depend on the tree. Otherwise rules S and D (verifier/verify-tree.ts).
 */
function verify(s: SpecState, tree: DraftTree, logits: Float32Array, prefix: number): VerifyResult {
  const p = s.sampling;
  const hook = s.constraint?.hookFor(tree); // masks each reached row to what the grammar allows there
  if (p.seed !== undefined && p.reproducible !== false && !isGreedy(p)) return verifyCoupled(tree, logits, s.runner.vocab, p, p.seed, prefix, hook);
  return verifyTree(tree, logits, s.runner.vocab, p, s.rng, hook);
}

function observe(s: SpecState, draft: Draft, logits: Float32Array, verdict: VerifyResult): void {
  const { tree, active, costMs } = draft;
  const outcome = { tree, logits, vocab: s.runner.vocab, acceptedNodes: verdict.acceptedNodes, emitted: verdict.tokens };
  for (let i = 0; i < active.length; i++) {
    const o0 = performance.now();
    active[i].observe(outcome);
    costMs[i] += performance.now() - o0;
  }
  if (tree.numNodes > 1) s.calibration.observe(tree, verdict.acceptedNodes);
}

/** Times and counts: the expander's step cost, the drafter gate, the request's stats. */
function account(s: SpecState, draft: Draft, verdict: VerifyResult, t0: number, t1: number, t2: number, t3: number): void {
  const { tree } = draft;
  s.sizeEma = 0.9 * s.sizeEma + 0.1 * (tree.numNodes - 1);
  if (!s.batch?.shared) s.cost?.observe(tree.numNodes, t3 - t1); // verify + observe; a shared step's time is the batch's
  if (draft.active.length > 0) s.draftCost?.observe(draft.ask, t1 - t0);
  if (s.drafters.length > 1) gateStep(s, tree, verdict.acceptedNodes, verdict.tokens.length, draft.active, draft.costMs, t3 - t0, t2 - t1);
  s.stats.step(tree.depths, tree.sources, verdict.acceptedNodes, t1 - t0, t2 - t1, draft.expectedTokens);
  s.stats.addOther(t3 - t2);
}

/**
 * Every drafter's tree, fused by longest common prefix, valued by calibrated acceptance probability, then cut:
 * to the fixed budget, or to the size the expander finds best for this machine. Root-only when nobody drafts.
 */
async function proposeTree(s: SpecState, maxDepth: number): Promise<Draft> {
  const root = s.context[s.context.length - 1];
  const cap = s.budget === 'auto' ? s.hardCap : Math.min(s.budget, s.hardCap);
  // Under 'auto', ask for a little more than the recent size (engine/draft-cost.ts): room to grow without
  // paying a draft model for the cap.
  const cheap = !s.draftCost || !s.cost || s.draftCost.cheap(s.cost.at(1));
  const ask = s.budget === 'auto' ? askFor(s.sizeEma, cap, cheap, s.stats.steps % PROBE_EVERY === PROBE_EVERY - 1) : cap;
  const trees: DraftTree[] = [];
  const active: Drafter[] = [];
  const costMs: number[] = [];
  // A shared step that will verify no drafts (engine/batcher.ts speculateShared off) drafts nothing: proposing
  // would only cost time (measured: 0.90-0.93x of plain decoding at 16 clients).
  const idle = s.budget === 'auto' && s.batch !== undefined && !s.batch.drafts;
  if (ask > 0 && maxDepth > 0 && !idle) {
    // Draft models go first (drafters are ordered so), so the others can see the draft's root distribution.
    const req: DraftRequest = { context: s.context, budget: ask, maxDepth, targetCache: s.cache };
    for (const d of s.drafters) {
      if (s.drafters.length > 1 && !s.gate.active(d.name)) continue;
      const p0 = performance.now();
      const t = await d.propose(req);
      active.push(d);
      costMs.push(performance.now() - p0);
      if (t && t.numNodes > 1) trees.push(t);
      req.draftRootProbs ??= d.rootDistribution?.() ?? undefined;
    }
  }
  if (trees.length === 0) {
    const tree = s.constraint?.shape(new TreeBuilder(root, 1).build(), maxDepth, s.hardCap) ?? new TreeBuilder(root, 1).build(); // forced tokens only
    return { tree, expectedTokens: tree.numNodes, ask, active, costMs };
  }
  const fused = trees.length === 1 ? trees[0] : mergeTrees(trees);
  const merged = s.constraint?.shape(fused, maxDepth, cap) ?? fused; // grammar-rejected drafts out, forced tokens in
  const values = s.calibration.values(merged); // [numNodes]
  const order = bestFirstOrder(merged, ask, values);
  let size = order.length;
  let expectedTokens = 1;
  if (s.budget === 'auto') {
    const ordered = Array.from(order, (i) => values[i]);
    // Keeping n nodes now means asking for about 2n next step: charge the drafting that ask costs.
    const draftMs = (n: number) => s.draftCost?.at(askFor(n, cap, cheap)) ?? 0;
    const single = () => chooseTreeSize(ordered, s.cost!, draftMs, ask, { allowed: isBucketSize, current: s.lastSize, margin: 0.05 });
    const choice = s.batch ? await s.batch.allocate(ordered, ask, single) : single();
    size = choice.size;
    s.lastSize = size;
    expectedTokens = choice.expectedTokens;
  } else {
    for (let j = 0; j < size; j++) expectedTokens += values[order[j]];
  }
  return { tree: keepFirst(merged, order, size), expectedTokens, ask, active, costMs };
}

/**
 * Credits each active drafter with its share of the accepted tokens and verified nodes (a node proposed by k
 * drafters counts 1/k for each), and charges its own time.
 */
function gateStep(s: SpecState, tree: DraftTree, acceptedNodes: readonly number[], emitted: number, active: Drafter[], costMs: number[], stepMs: number, verifyMs: number): void {
  const n = tree.numNodes;
  const msPerToken = stepMs / Math.max(1, emitted);
  const msPerNode = n > 1 ? Math.max(0, verifyMs - (s.cost?.at(1) ?? verifyMs)) / (n - 1) : 0;
  const accepted = new Uint8Array(n);
  for (const i of acceptedNodes) accepted[i] = 1;
  const tokens = new Float64Array(active.length);
  const nodes = new Float64Array(active.length);
  const tokensAll = new Float64Array(active.length);
  const nodesAll = new Float64Array(active.length);
  for (let i = 1; i < n; i++) {
    const mask = tree.sources[i];
    let k = 0;
    for (let m = mask; m !== 0; m &= m - 1) k++;
    if (k === 0) continue;
    for (let j = 0; j < active.length; j++) {
      if (!(mask & (1 << active[j].id))) continue;
      nodes[j] += 1 / k;
      tokens[j] += accepted[i] / k;
      nodesAll[j]++;
      tokensAll[j] += accepted[i];
    }
  }
  for (let j = 0; j < active.length; j++) s.gate.record(active[j].name, costMs[j], tokens[j], nodes[j], msPerToken, msPerNode, tokensAll[j], nodesAll[j], stepMs);
}

/** OpenAI's logit_bias, added to every row in place. logits: [rows, vocab] */
function applyLogitBias(logits: Float32Array, rows: number, vocab: number, bias: SamplingParams['logitBias']): void {
  if (!bias || bias.length === 0) return;
  for (let r = 0; r < rows; r++) for (const [token, b] of bias) logits[r * vocab + token] += b;
}

/**
 * Presence/frequency penalties, row by row: each node's count is what was generated before the step plus the
 * draft tokens on its own path below the root, exactly what plain decoding would have seen there. [rows, vocab]
 */
function applyPenalties(logits: Float32Array, tree: DraftTree, vocab: number, counts: Map<number, number>, p: SamplingParams): void {
  const presence = p.presencePenalty ?? 0;
  const frequency = p.frequencyPenalty ?? 0;
  if (presence === 0 && frequency === 0) return;
  const penalty = (c: number) => (c > 0 ? presence + frequency * c : 0);
  const onPath = new Map<number, number>();
  for (let u = 0; u < tree.numNodes; u++) {
    const row = u * vocab;
    for (const [token, c] of counts) logits[row + token] -= penalty(c);
    onPath.clear();
    for (let v = u; v > 0; v = tree.parents[v]) onPath.set(tree.tokens[v], (onPath.get(tree.tokens[v]) ?? 0) + 1);
    for (const [token, extra] of onPath) {
      const c = counts.get(token) ?? 0;
      logits[row + token] -= penalty(c + extra) - penalty(c);
    }
  }
}

function biasFor(s: SpecState, tree: DraftTree, prefix: number): Float32Array {
  const size = tree.numNodes * (prefix + tree.numNodes);
  if (s.biasScratch.length < size) s.biasScratch = new Float32Array(Math.max(size, 2 * s.biasScratch.length));
  const out = s.biasScratch.subarray(0, size);
  return treeAttentionBias(tree, prefix, out, MASKED);
}
