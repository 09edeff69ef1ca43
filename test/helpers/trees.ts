// Test-only trees: a draft tree's root paths as strings, and random trees with their attention bias.
import type { Rng } from '../../common/rng.ts';
import { MASKED } from '../../model/runner.ts';
import type { DraftTree } from '../../trees/draft-tree.ts';

/** ['7', '7 8', …]: the token path below the root of each draft node, in node order. */
export function treePaths(tree: DraftTree): string[] {
  const out: string[] = [];
  for (let i = 1; i < tree.numNodes; i++) {
    const p: number[] = [];
    for (let j = i; j > 0; j = tree.parents[j]) p.unshift(tree.tokens[j]);
    out.push(p.join(' '));
  }
  return out;
}

/** A random tree of `size` nodes: parents[0] = -1 (root), parents[i] < i; depth and a random token per node. */
export function randomTree(rng: Rng, size: number, vocab: number): { parents: number[]; depth: number[]; tokens: number[] } {
  const parents = [-1];
  const depth = [0];
  const tokens = [rng.nextU32() % vocab];
  for (let i = 1; i < size; i++) {
    const p = rng.nextU32() % i;
    parents.push(p);
    depth.push(depth[p] + 1);
    tokens.push(rng.nextU32() % vocab);
  }
  return { parents, depth, tokens };
}

/** Each node sees the `prefix` committed rows and its own ancestors. [n, prefix + n] */
export function treeBias(parents: readonly number[], prefix: number): Float32Array {
  const n = parents.length;
  const total = prefix + n;
  const bias = new Float32Array(n * total).fill(MASKED);
  for (let i = 0; i < n; i++) {
    bias.fill(0, i * total, i * total + prefix);
    for (let j = i; j >= 0; j = parents[j]) bias[i * total + prefix + j] = 0;
  }
  return bias;
}
