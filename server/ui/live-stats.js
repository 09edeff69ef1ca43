// Speculation statistics rebuilt live from token_details entries (the same definitions as the API's
// `speculation` object, engine/stats.ts), until the final object arrives with the usage chunk.

export class LiveStats {
  constructor() {
    this.tokens = 0;
    /** step → { size, depth } */
    this.steps = new Map();
    /** acceptedAtDepth[d - 1] = accepted draft tokens at depth d */
    this.acceptedAtDepth = [];
  }

  add(d) {
    this.tokens++;
    if (!this.steps.has(d.step)) this.steps.set(d.step, { size: d.tree_size, depth: d.tree_depth });
    if (d.provenance !== 'bonus') {
      const i = d.provenance.depth - 1;
      this.acceptedAtDepth[i] = (this.acceptedAtDepth[i] ?? 0) + 1;
    }
  }

  /** Tokens per target forward, bonus included. */
  meanAcceptedLength() {
    return this.steps.size ? this.tokens / this.steps.size : 0;
  }

  /** [d - 1] = accepted drafts at depth d / steps whose tree reached depth d. */
  acceptanceByDepth() {
    const depths = [...this.steps.values()].map((s) => s.depth);
    const max = Math.max(0, ...depths);
    return Array.from({ length: max }, (_, i) => {
      const drafted = depths.filter((x) => x >= i + 1).length;
      return drafted ? (this.acceptedAtDepth[i] ?? 0) / drafted : 0;
    });
  }

  treeSizes() {
    return [...this.steps.values()].map((s) => s.size);
  }
}
