// SuffixDecoding's speculation (Oliaro et al., arXiv 2411.04975 §3.2): from the node matching the context's
// suffix, grow a tree best-first by path probability Π count(child) / count(parent), up to a depth that
// scales with the match length; one plan over every match length at once. Pure: plans a draft from the trie.
import type { TreeBuilder } from '../trees/draft-tree.ts';
import type { SuffixNode, SuffixTree } from './suffix-tree.ts';

/** A planned draft: nodes in best-first order (parents first). parents[i] = plan index, -1 = the attach point. */
export interface SuffixPlan {
  /** Σ probs: the expected number of accepted tokens (the paper's draft score). */
  score: number;
  tokens: number[];
  parents: number[];
  probs: number[];
  /** The trie node each draft node came from (to learn which cached request was useful), and its stamp. */
  nodes: SuffixNode[];
  stamps: number[];
}

export interface ExpandLimits {
  /** Most nodes to add. */
  maxNodes: number;
  /** Deepest draft depth below the root. */
  maxDepth: number;
  /** Children whose path probability falls below this are not drafted (the paper's min_token_prob). */
  minProb: number;
  /**
   * Occurrences at the match node that have no continuation (1 in a per-request tree: the context's own
   * suffix, counted there with nothing after it yet); taken off the match node's count.
   */
  dangling: number;
}

interface Frontier {
  prob: number; // path probability of node
  maxDepth: number; // depth limit of the match it grows from
  parentProb: number;
  node: SuffixNode; // a child of the parent (siblings follow in count order)
  denom: number; // count the parent's children are divided by
  at: number; // plan index of the parent, -1 = the attach point
  depth: number; // depth of node in the draft
}

/**
 * The best-first expansion under `match`. Children are sorted by count, so only each parent's next-best child
 * is on the frontier at a time.
 *
 * Example: match node "5" (count 4) with children 6 (3) → 7 (3), and 8 (1); maxNodes 3, minProb 0.1:
 * plans 6 (0.75), 7 (0.75), 8 (0.25) → score 1.75.
 */
export function planSuffix(tree: SuffixTree, match: SuffixNode, lim: ExpandLimits): SuffixPlan {
  return planSuffixMerged(tree, [{ match, dangling: lim.dangling, maxDepth: lim.maxDepth }], lim);
}

/** Where one match starts a plan: its trie node, occurrences there with no continuation, its depth limit. */
export interface PlanStart {
  match: SuffixNode;
  dangling: number;
  maxDepth: number;
}

/**
 * One best-first expansion under SEVERAL matches at once (the context's suffixes of every length): each start's
 * children join one frontier, and a token path reached from two starts is one node, kept at the higher
 * probability (the first popped); the subtrees under it from both starts are expanded. A single best match
 * leaves out what only a shorter match saw follow (the paper keeps the best-scoring one); merged, the budget
 * goes to the likeliest nodes of all of them. maxNodes counts distinct nodes.
 *
 * Example: match "3 5" (count 2) → 6 (2) and match "5" (count 4) → 6 (2), 8 (2); maxNodes 3, minProb 0.1:
 * plans 6 (1.0, from "3 5"), 8 (0.5, from "5") → score 1.5.
 */
export function planSuffixMerged(tree: SuffixTree, starts: readonly PlanStart[], lim: Omit<ExpandLimits, 'maxDepth' | 'dangling'>): SuffixPlan {
  const plan: SuffixPlan = { score: 0, tokens: [], parents: [], probs: [], nodes: [], stamps: [] };
  const frontier: Frontier[] = [];
  const index = new Map<number, number>(); // (plan parent + 1) · 2^31 + token → plan index
  /** Offers `node` (a child of a node whose children divide by denom; NO_NODE past the last). */
  const offer = (node: SuffixNode, denom: number, parentProb: number, parentAt: number, depth: number, maxDepth: number) => {
    if (depth > maxDepth || node < 0 || denom <= 0) return;
    const prob = (parentProb * tree.count(node)) / denom;
    if (prob >= lim.minProb) frontier.push({ prob, parentProb, node, denom, at: parentAt, depth, maxDepth });
  };
  for (const s of starts) offer(tree.firstChild(s.match), tree.count(s.match) - s.dangling, 1, -1, 1, s.maxDepth);
  while (plan.tokens.length < lim.maxNodes && frontier.length > 0) {
    let best = 0;
    for (let j = 1; j < frontier.length; j++) if (frontier[j].prob > frontier[best].prob) best = j;
    const f = frontier[best];
    frontier[best] = frontier[frontier.length - 1];
    frontier.pop();
    const node = f.node;
    const token = tree.token(node);
    const k = (f.at + 1) * 2 ** 31 + token;
    let at = index.get(k);
    if (at === undefined) {
      at = plan.tokens.length;
      index.set(k, at);
      plan.tokens.push(token);
      plan.parents.push(f.at);
      plan.probs.push(f.prob);
      plan.nodes.push(node);
      plan.stamps.push(tree.stamp(node));
      plan.score += f.prob;
    }
    offer(tree.nextSibling(node), f.denom, f.parentProb, f.at, f.depth, f.maxDepth); // the next sibling
    offer(tree.firstChild(node), tree.count(node), f.prob, at, f.depth + 1, f.maxDepth); // the first child
  }
  return plan;
}

/** Adds a plan under builder node `at`; returns each plan node's builder index. */
export function addPlan(b: TreeBuilder, at: number, plan: SuffixPlan, source: number): number[] {
  const index: number[] = [];
  for (let i = 0; i < plan.tokens.length; i++) {
    index.push(b.add(plan.parents[i] < 0 ? at : index[plan.parents[i]], plan.tokens[i], { score: plan.probs[i], source }));
  }
  return index;
}
