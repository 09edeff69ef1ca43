// Test-only view of a draft tree: every node's root path as a space-separated token string.
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
