// Grammar-constrained speculation (issue #12). The request's grammar matcher is walked over every step's draft
// tree: before the forward, draft nodes the grammar rejects are pruned and forced tokens (where the grammar
// allows exactly one token) are appended as certain nodes; during verification every row the verifier reaches is
// masked to the tokens allowed after that node's path; after it, the matcher stands after the emitted tokens.
// Lossless: each verifier sees exactly the masked rows constrained decoding without speculation sees, so greedy
// output is equal token for token and sampling follows the masked, renormalised distribution.
import { errors } from '../common/errors.ts';
import { argmax } from '../common/sampling.ts';
import { Matcher, type CompiledGrammar } from '../grammar/xgrammar.ts';
import { TreeBuilder, copyDraws, nodeOptions, NodeKind, type DraftTree } from '../trees/draft-tree.ts';

/** What the request constrains to, and how. */
export interface ConstraintRequest {
  grammar: CompiledGrammar;
  /** Append forced tokens to the tree as certain nodes (default true). */
  forceTokens?: boolean;
  /**
   * Greedy rows: check the argmax first and compute the full mask only when the grammar rejects it (AWRS's
   * spirit; default true). Off, or under sampling, logprobs or token details, every reached row is fully masked.
   */
  lazyMask?: boolean;
  /** Tokens banned besides the grammar (grammar/vocab.ts bannedTokens: raw control characters in JSON). */
  banned?: Int32Array;
}

/** Counters for one request (reported as speculation.constraint). */
export interface ConstraintStats {
  /** Draft nodes the grammar rejected, dropped before the forward. */
  pruned: number;
  /** Forced nodes put in trees, and those accepted (all of them unless cut by a stop). */
  forced_drafted: number;
  forced: number;
  /** Rows verified with an argmax check only / with a full mask. */
  checked_rows: number;
  masked_rows: number;
  /** Time spent in grammar work (pruning, forcing, masking, advancing). */
  grammar_ms: number;
}

/**
 * A node with no sources at depth > 0 is a forced node: every drafter sets its own source bit, so only this
 * module adds such nodes. Its parent allows exactly its token.
 */
export function isForced(tree: DraftTree, node: number): boolean {
  return node > 0 && tree.sources[node] === 0;
}

export class TreeConstraint {
  readonly stats: ConstraintStats = { pruned: 0, forced_drafted: 0, forced: 0, checked_rows: 0, masked_rows: 0, grammar_ms: 0 };
  private readonly mask: Int32Array; // [ceil(vocab / 32)]
  private readonly forceTokens: boolean;
  private readonly lazy: boolean;
  private readonly banned: Uint8Array; // [vocab], 1 = never allowed
  private readonly bannedIds: Int32Array;
  private tree: DraftTree | null = null;
  /** The node whose path the matcher stands after during verification. */
  private at = 0;

  private constructor(private readonly matcher: Matcher, readonly vocab: number, private readonly eosIds: readonly number[], req: ConstraintRequest, lazy: boolean) {
    this.mask = new Int32Array(Math.ceil(vocab / 32));
    this.forceTokens = req.forceTokens ?? true;
    this.lazy = lazy && (req.lazyMask ?? true);
    this.banned = new Uint8Array(vocab);
    this.bannedIds = (req.banned ?? new Int32Array(0)).filter((id) => id < vocab);
    for (const id of this.bannedIds) this.banned[id] = 1;
  }

  /** lazy: the request is greedy and asks for no per-token distributions (logprobs, details). */
  static async create(req: ConstraintRequest, vocab: number, eosIds: readonly number[], lazy: boolean): Promise<TreeConstraint> {
    return new TreeConstraint(await Matcher.create(req.grammar, vocab, eosIds), vocab, eosIds, req, lazy);
  }

  /** True once the grammar accepted a stop token: nothing may follow. */
  get terminated(): boolean {
    return this.matcher.isTerminated();
  }

  /**
   * The tree without the nodes the grammar rejects (and their subtrees), and with forced chains below its
   * leaves (depth ≤ maxDepth, at most maxNodes draft nodes in all). Node order is kept; phantom draws stay.
   * The matcher stands at the root's state before and after.
   */
  shape(tree: DraftTree, maxDepth: number, maxNodes: number): DraftTree {
    const t0 = performance.now();
    const n = tree.numNodes;
    const keep = new Uint8Array(n);
    keep[0] = 1;
    let kept = 0; // draft nodes kept, forced ones included
    let forced = 0;
    const chains: [number, number[]][] = [];
    const walk = (u: number): void => {
      if (this.matcher.isTerminated()) return; // a drafted stop token: nothing follows it (xgrammar aborts on a terminated matcher)
      let children = 0;
      for (let j = tree.childOffsets[u]; j < tree.childOffsets[u + 1]; j++) {
        const c = tree.childNodes[j];
        if (kept >= maxNodes || this.banned[tree.tokens[c]] || !this.matcher.accept(tree.tokens[c])) continue;
        keep[c] = 1;
        kept++;
        children++;
        walk(c);
        this.matcher.rollBack(1);
      }
      if (children === 0 && this.forceTokens && tree.depths[u] < maxDepth && kept < maxNodes) {
        const chain = this.forcedChain(Math.min(maxDepth - tree.depths[u], maxNodes - kept));
        if (chain.length > 0) chains.push([u, chain]);
        kept += chain.length;
        forced += chain.length;
      }
    };
    walk(0);
    const pruned = n - 1 - (kept - forced);
    this.stats.pruned += pruned;
    this.stats.forced_drafted += forced;
    this.stats.grammar_ms += performance.now() - t0;
    return pruned === 0 && forced === 0 ? tree : rebuild(tree, keep, chains, kept);
  }

  /** Tokens the grammar forces from the current state, one at a time while exactly one is allowed; rolled back. */
  private forcedChain(limit: number): number[] {
    const chain: number[] = [];
    while (chain.length < limit && this.matcher.jumpForward() !== '') {
      const only = singleAllowed(this.matcher.fillMask(this.mask), this.vocab);
      if (only < 0 || this.banned[only] || !this.matcher.accept(only)) break;
      chain.push(only);
    }
    this.matcher.rollBack(chain.length);
    return chain;
  }

  /** The row hook for verifying `tree` (the shaped tree, or a connected cut of it), from the root's state. */
  hookFor(tree: DraftTree): (u: number, logits: Float32Array) => void {
    this.tree = tree;
    this.at = 0;
    return this.visit;
  }

  /**
   * The verifiers' row hook: called as verification reaches node u (the root first, then each accepted child in
   * path order), before row u is read. Masks row u of logits ([numNodes, vocab]) to what the grammar allows there.
   */
  private readonly visit = (u: number, logits: Float32Array): number | undefined => {
    const t0 = performance.now();
    const tree = this.tree;
    if (tree === null) throw errors.internal('constraint: visit before shape');
    if (u !== 0) {
      if (tree.parents[u] !== this.at || !this.matcher.accept(tree.tokens[u])) throw errors.internal(`constraint: node ${u} is not an allowed child of node ${this.at}`);
      if (isForced(tree, u)) this.stats.forced++;
    }
    this.at = u;
    if (this.matcher.isTerminated()) return undefined; // u is a stop token: generation ends there, its row is never used
    const row = u * this.vocab;
    const forced = forcedChild(tree, u);
    let known: number | undefined; // the row's argmax, when found here (greedy verification then skips its own scan)
    if (forced >= 0) {
      maskAllBut(logits, row, this.vocab, tree.tokens[forced]);
      known = tree.tokens[forced];
    } else {
      const top = this.lazy ? argmax(logits, row, this.vocab) : -1;
      if (top >= 0 && this.allows(top)) {
        this.stats.checked_rows++;
        known = top;
      } else {
        this.applyMask(logits, row);
        this.stats.masked_rows++;
      }
    }
    this.stats.grammar_ms += performance.now() - t0;
    return known;
  };

  /** After verification: advances the matcher by the step's last (bonus or recovered) token. */
  endStep(acceptedNodes: readonly number[], tokens: readonly number[]): void {
    const t0 = performance.now();
    if (this.at !== acceptedNodes[acceptedNodes.length - 1]) throw errors.internal(`constraint: verification stopped at node ${acceptedNodes.at(-1)}, the matcher at ${this.at}`);
    const last = tokens[tokens.length - 1];
    if (!this.matcher.isTerminated() && !this.matcher.accept(last)) throw errors.internal(`constraint: the grammar rejects emitted token ${last}`);
    this.tree = null;
    this.stats.grammar_ms += performance.now() - t0;
  }

  dispose(): void {
    this.matcher.dispose();
  }

  private allows(token: number): boolean {
    if (this.banned[token] || !this.matcher.accept(token)) return false;
    this.matcher.rollBack(1);
    return true;
  }

  /** logits[row, row + vocab) of every token the grammar rejects → -Infinity (stop tokens stay when nothing is allowed). */
  private applyMask(logits: Float32Array, row: number): void {
    const mask = this.matcher.fillMask(this.mask);
    for (const id of this.bannedIds) mask[id >> 5] &= ~(1 << (id & 31));
    let any = false;
    for (let w = 0; w < mask.length; w++) {
      const bits = mask[w];
      if (bits !== 0) any = true;
      if (bits === -1) continue;
      const base = w << 5;
      for (let b = 0; b < 32 && base + b < this.vocab; b++) if (!(bits & (1 << b))) logits[row + base + b] = -Infinity;
    }
    if (!any) for (const e of this.eosIds) logits[row + e] = 0; // nothing allowed: only a stop can follow
  }
}

/** The only token set in the bitmask, or -1 (none or several). mask: [ceil(vocab / 32)] */
export function singleAllowed(mask: Int32Array, vocab: number): number {
  let found = -1;
  for (let w = 0; w < mask.length; w++) {
    const bits = mask[w];
    if (bits === 0) continue;
    if (found >= 0 || (bits & (bits - 1)) !== 0) return -1;
    found = (w << 5) + (31 - Math.clz32(bits));
  }
  return found < vocab ? found : -1;
}

function forcedChild(tree: DraftTree, u: number): number {
  for (let j = tree.childOffsets[u]; j < tree.childOffsets[u + 1]; j++) if (isForced(tree, tree.childNodes[j])) return tree.childNodes[j];
  return -1;
}

function maskAllBut(logits: Float32Array, row: number, vocab: number, token: number): void {
  const v = logits[row + token];
  logits.fill(-Infinity, row, row + vocab);
  logits[row + token] = Number.isFinite(v) ? v : 0;
}

/** The kept nodes in their original order, then each forced chain below its node (score: its parent's). */
function rebuild(tree: DraftTree, keep: Uint8Array, chains: [number, number[]][], count: number): DraftTree {
  const b = new TreeBuilder(tree.tokens[0], count + 1);
  const mapped = new Int32Array(tree.numNodes).fill(-1);
  mapped[0] = 0;
  copyDraws(tree, 0, b, 0);
  for (let i = 1; i < tree.numNodes; i++) {
    if (!keep[i]) continue;
    mapped[i] = b.add(mapped[tree.parents[i]], tree.tokens[i], nodeOptions(tree, i));
    copyDraws(tree, i, b, mapped[i]);
  }
  for (const [u, chain] of chains) {
    let parent = mapped[u];
    for (const token of chain) parent = b.add(parent, token, { score: tree.scores[u], kind: NodeKind.deterministic });
  }
  return b.build();
}
