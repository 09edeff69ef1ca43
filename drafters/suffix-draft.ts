// SuffixDecoding's speculation (Oliaro et al., arXiv 2411.04975 §3.2): from the node matching the context's
// suffix, grow a tree best-first by path probability Π count(child) / count(parent), up to a depth that
// scales with the match length; one plan over every match length at once. Pure: plans a draft from the trie.
import type { TreeBuilder } from '../trees/draft-tree.ts';
import type { SuffixNode } from './suffix-tree.ts';

/** A planned draft: nodes in best-first order (parents first). parents[i] = plan index, -1 = the attach point. */
export interface SuffixPlan {
  /** Σ probs: the expected number of accepted tokens (the paper's draft score). */
  score: number;
  tokens: number[];
  parents: number[];
  probs: number[];
  /** The trie node each draft node came from (to learn which cached request was useful). */
  nodes: SuffixNode[];
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
  prob: number; // path probability of kids[i]
  maxDepth: number; // depth limit of the match it grows from
  parentProb: number;
  parent: SuffixNode;
  denom: number; // count the parent's children are divided by
  i: number; // index into parent.children (sorted by count)
  at: number; // plan index of the parent, -1 = the attach point
  depth: number; // depth of kids[i] in the draft
}

/**
 * The best-first expansion under `match`. Children are sorted by count, so only each parent's next-best child
 * is on the frontier at a time.
 *
 * Example: match node "5" (count 4) with children 6 (3) → 7 (3), and 8 (1); maxNodes 3, minProb 0.1:
 * plans 6 (0.75), 7 (0.75), 8 (0.25) → score 1.75.
 */
export function planSuffix(match: SuffixNode, lim: ExpandLimits): SuffixPlan {
  return planSuffixMerged([{ match, dangling: lim.dangling, maxDepth: lim.maxDepth }], lim);
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
export function planSuffixMerged(starts: readonly PlanStart[], lim: Omit<ExpandLimits, 'maxDepth' | 'dangling'>): SuffixPlan {
  const plan: SuffixPlan = { score: 0, tokens: [], parents: [], probs: [], nodes: [] };
  const frontier: Frontier[] = [];
  const index = new Map<number, number>(); // (plan parent + 1) · 2^31 + token → plan index
  const offer = (parent: SuffixNode, denom: number, i: number, parentProb: number, parentAt: number, depth: number, maxDepth: number) => {
    if (depth > maxDepth || i >= parent.children.length || denom <= 0) return;
    const prob = (parentProb * parent.children[i].count) / denom;
    if (prob >= lim.minProb) frontier.push({ prob, parentProb, parent, denom, i, at: parentAt, depth, maxDepth });
  };
  for (const s of starts) offer(s.match, s.match.count - s.dangling, 0, 1, -1, 1, s.maxDepth);
  while (plan.tokens.length < lim.maxNodes && frontier.length > 0) {
    let best = 0;
    for (let j = 1; j < frontier.length; j++) if (frontier[j].prob > frontier[best].prob) best = j;
    const f = frontier[best];
    frontier[best] = frontier[frontier.length - 1];
    frontier.pop();
    const node = f.parent.children[f.i];
    const k = (f.at + 1) * 2 ** 31 + node.token;
    let at = index.get(k);
    if (at === undefined) {
      at = plan.tokens.length;
      index.set(k, at);
      plan.tokens.push(node.token);
      plan.parents.push(f.at);
      plan.probs.push(f.prob);
      plan.nodes.push(node);
      plan.score += f.prob;
    }
    offer(f.parent, f.denom, f.i + 1, f.parentProb, f.at, f.depth, f.maxDepth); // the next sibling
    offer(node, node.count, 0, f.prob, at, f.depth + 1, f.maxDepth); // the first child
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
