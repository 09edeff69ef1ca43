// The `suffix` drafter: SuffixDecoding (Oliaro et al., arXiv 2411.04975). Two counted suffix tries: one per
// request over prompt + output, and the global one over earlier requests' outputs (drafters/suffix-cache.ts).
// For each trie it matches the context's suffix at every length and plans one best-first tree under all the
// matches together (drafters/suffix-draft.ts), then fuses the two.
// Nodes are DETERMINISTIC (rule D). It learns the request's output when the request ends.
import type { DraftTree } from '../trees/draft-tree.ts';
import { TreeBuilder } from '../trees/draft-tree.ts';
import { pruneToBudget } from '../trees/prune.ts';
import type { DraftRequest, Drafter, StepOutcome } from './drafter.ts';
import type { SuffixCache } from './suffix-cache.ts';
import { addPlan, planSuffixMerged, type PlanStart, type SuffixPlan } from './suffix-draft.ts';
import { SuffixTree, SuffixWriter, type SuffixNode } from './suffix-tree.ts';

export interface SuffixOptions {
  /** Longest context suffix matched; the trie's remaining depth is what a draft can reach below it. */
  maxMatch: number;
  /**
   * A match of m tokens drafts at most floor(depthPerMatch · m + depthOffset) deep (the paper's MAX_SPEC = α·p).
   * α = 2: on stories260K's agentic / code-edit / stories suites α = 1 left the truth below the depth limit often
   * enough that α = 2 raises MAL at budget 16 by 0.09–0.17 (scratch/mal; α = 3 or 4 wastes budget-8 nodes on depth).
   */
  depthPerMatch: number;
  depthOffset: number;
  /** Nodes whose path probability is below this are not drafted (the paper's min_token_prob). */
  minProb: number;
}

export const DEFAULT_SUFFIX: SuffixOptions = { maxMatch: 16, depthPerMatch: 2, depthOffset: 1, minProb: 0.1 };

/**
 * Example: prompt "a b c d a b", nothing cached. The per-request trie has seen "a b" once before, followed by
 * "c d a b": the match of length 2 plans c (1.0) → d (1.0) → a (1.0) → b (1.0), depth ≤ 2·2 + 1 = 5.
 */
export class SuffixDrafter implements Drafter {
  readonly name = 'suffix';
  private local: SuffixTree;
  private writer: SuffixWriter;
  /** Context tokens already in the per-request trie. */
  private seen = 0;
  private promptLength = 0;
  /** The global plan of the last proposal, to credit the cached output whose draft was accepted. */
  private globalPlan: SuffixPlan | null = null;

  constructor(readonly id: number, private readonly cache: SuffixCache, private readonly opts: SuffixOptions = DEFAULT_SUFFIX) {
    this.local = new SuffixTree(cache.tree.maxDepth);
    this.writer = new SuffixWriter(this.local);
  }

  begin(promptTokens: readonly number[]): void {
    this.local = new SuffixTree(this.cache.tree.maxDepth);
    this.writer = new SuffixWriter(this.local);
    this.seen = 0;
    this.promptLength = promptTokens.length;
    this.sync(promptTokens);
  }

  propose(req: DraftRequest): DraftTree | null {
    const ctx = req.context;
    this.sync(ctx);
    this.globalPlan = null;
    if (req.budget <= 0 || req.maxDepth <= 0) return null;
    const localPlan = this.plan(this.local, this.writer.nodes(), 1, req);
    const globalPlan = this.cache.numRequests > 0 ? this.plan(this.cache.tree, this.cache.tree.match(ctx, this.opts.maxMatch), 0, req) : null;
    if (!localPlan && !globalPlan) return null;
    const b = new TreeBuilder(ctx[ctx.length - 1], 1 + (localPlan?.tokens.length ?? 0) + (globalPlan?.tokens.length ?? 0));
    if (localPlan) addPlan(b, 0, localPlan, this.id);
    if (globalPlan) addPlan(b, 0, globalPlan, this.id);
    this.globalPlan = globalPlan;
    return pruneToBudget(b.build(), req.budget);
  }

  /** Credits the cached output behind the deepest accepted node of the global plan (the LRU's "use"). */
  observe(o: StepOutcome): void {
    const plan = this.globalPlan;
    if (!plan || o.acceptedNodes.length < 2) return;
    let at = -1;
    let deepest = -1;
    for (let k = 1; k < o.acceptedNodes.length; k++) {
      const token = o.tree.tokens[o.acceptedNodes[k]];
      let next = -1;
      for (let i = 0; i < plan.tokens.length && next < 0; i++) if (plan.parents[i] === at && plan.tokens[i] === token) next = i;
      if (next < 0) break;
      at = next;
      deepest = next;
    }
    // The node's owner now; a node removed since the plan (its slot maybe reused) names no kept output.
    if (deepest >= 0) this.cache.touch(this.cache.tree.ownerIf(plan.nodes[deepest], plan.stamps[deepest]));
  }

  /** The request's output joins the global cache. */
  finish(context: readonly number[]): void {
    if (context.length > this.promptLength) this.cache.add(context.slice(this.promptLength));
  }

  dispose(): void {
    this.globalPlan = null;
  }

  private sync(ctx: readonly number[]): void {
    for (; this.seen < ctx.length; this.seen++) this.writer.push(ctx[this.seen]);
  }

  /**
   * One plan over every match length at once (drafters/suffix-draft.ts planSuffixMerged), each with its own
   * depth limit. The paper keeps only the best-scoring match; merged, what only a shorter match saw follow can
   * fill the budget the best one leaves (on stories260K's suites MAL +0.01 to +0.08 at budgets 8–64).
   */
  private plan(tree: SuffixTree, matches: readonly SuffixNode[], dangling: number, req: DraftRequest): SuffixPlan | null {
    const o = this.opts;
    const starts: PlanStart[] = [];
    for (let m = Math.min(matches.length, o.maxMatch); m >= 1; m--) {
      const maxDepth = Math.min(req.maxDepth, this.cache.tree.maxDepth - m, Math.floor(o.depthPerMatch * m + o.depthOffset));
      if (maxDepth > 0) starts.push({ match: matches[m - 1], dangling, maxDepth });
    }
    const plan = planSuffixMerged(tree, starts, { maxNodes: req.budget, minProb: o.minProb });
    return plan.tokens.length > 0 ? plan : null;
  }
}
