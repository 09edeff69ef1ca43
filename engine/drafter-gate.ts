// Drafter selection: a drafter stays in the step only while it pays for itself. Its value per step is the
// time its accepted tokens save (its share of them × time per token) minus what it costs (propose + observe,
// and the verify time of its share of the nodes). A drafter that does not pay sits out, and is
// tried again after a pause that doubles with every probe that still does not pay (8 steps up to 256), so a
// change in the text can bring it back. A probe is a fresh trial of PROBE_STEPS steps judged on those steps
// alone: a drafter judged on one step at a time, against a memory of how it did when it sat out, hardly ever
// came back (on stories260K's agentic suite the suffix drafter found nothing in the first, cold request and sat
// out every later one). Lossless either way: it only changes which trees are verified.

const ALPHA = 0.1;
const MIN_SAMPLES = 16;
/** Steps a probe runs before the drafter can be benched again. */
const PROBE_STEPS = 8;
const CHEAP = 0.05;
const FIRST_PAUSE = 8;
const MAX_PAUSE = 256;

interface DrafterRecord {
  /** EMA of (saved − spent) ms per step while active, with shared nodes split between their proposers. */
  valueMs: number;
  /** The same with full credit for every accepted node it proposed (what it would save alone). */
  soloMs: number;
  /** EMA of its own time per step (propose + observe) and of the whole step's time. */
  costMs: number;
  stepMs: number;
  /** Steps it has been active in since it was last (re)started (the averages are trusted after a few). */
  samples: number;
  /** Steps skipped since it was last active. */
  idle: number;
  /** Steps to sit out before the next probe. */
  pause: number;
  /** In a probe (PROBE_STEPS steps of evidence are enough to bench it again). */
  probing: boolean;
}

export class DrafterGate {
  private readonly records = new Map<string, DrafterRecord>();

  /** Whether drafter `name` drafts this step. */
  active(name: string): boolean {
    const r = this.records.get(name);
    if (!r || !this.benchable(name, r)) return true;
    if (++r.idle >= r.pause) {
      // A probe: forget the old averages and run PROBE_STEPS steps before judging again.
      r.idle = 0;
      r.pause = Math.min(MAX_PAUSE, 2 * r.pause);
      r.samples = 0;
      r.probing = true;
      return true;
    }
    return false;
  }

  /**
   * One active step of a drafter. acceptedShare / nodeShare: its share of the accepted tokens and of the verified
   * nodes (1/k of each node k drafters proposed); acceptedAll / nodesAll: the same counted in full;
   * msPerToken: the step's time per emitted token; msPerNode: marginal verify time of one node.
   */
  record(name: string, costMs: number, acceptedShare: number, nodeShare: number, msPerToken: number, msPerNode: number, acceptedAll = acceptedShare, nodesAll = nodeShare, stepMs = 0): void {
    const value = acceptedShare * msPerToken - costMs - nodeShare * msPerNode;
    const solo = acceptedAll * msPerToken - costMs - nodesAll * msPerNode;
    let r = this.records.get(name);
    if (!r) this.records.set(name, (r = { valueMs: 0, soloMs: 0, costMs: 0, stepMs: 0, samples: 0, idle: 0, pause: FIRST_PAUSE / 2, probing: false }));
    // The plain mean over the first 1/ALPHA steps since a (re)start, an EMA after: no single step (the first
    // one pays for JIT compilation) weighs more than 1/n.
    const w = Math.max(ALPHA, 1 / ++r.samples);
    r.valueMs += w * (value - r.valueMs);
    r.soloMs += w * (solo - r.soloMs);
    r.costMs += w * (costMs - r.costMs);
    r.stepMs += w * (stepMs - r.stepMs);
    r.idle = 0;
    if (r.valueMs >= 0 && (!r.probing || r.samples >= PROBE_STEPS)) {
      r.pause = FIRST_PAUSE / 2; // paying again: the next bench starts with a short pause
      r.probing = false;
    }
  }

  /**
   * Drafters that duplicate each other split their credit and can all look unprofitable; the one that would
   * pay best on its own (if it pays at all) therefore always stays.
   */
  private isAnchor(name: string): boolean {
    let best: string | null = null;
    let bestSolo = 0;
    for (const [n, r] of this.records) {
      if (r.soloMs > bestSolo) {
        best = n;
        bestSolo = r.soloMs;
      }
    }
    return best === name;
  }

  /**
   * Benched only when it has been watched for a while, does not pay, and is not cheap: a drafter costing under
   * CHEAP of the step is never worth the risk of missing what it finds.
   */
  private benchable(name: string, r: DrafterRecord): boolean {
    return r.samples >= (r.probing ? PROBE_STEPS : MIN_SAMPLES) && r.valueMs < 0 && r.costMs > CHEAP * r.stepMs && !this.isAnchor(name);
  }

  /** Names currently sitting out (for stats). */
  benched(): string[] {
    return [...this.records].filter(([n, r]) => this.benchable(n, r)).map(([n]) => n);
  }
}

const shared = new Map<string, DrafterGate>();

/** Gates are learned per target model and drafter combination, and kept for the life of the process. */
export function sharedGate(key: string): DrafterGate {
  let g = shared.get(key);
  if (!g) shared.set(key, (g = new DrafterGate()));
  return g;
}
