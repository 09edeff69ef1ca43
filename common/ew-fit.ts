// Exponentially weighted sums for an online least-squares line y ≈ slope·x + intercept: each observation
// weighs 1 and every older one decays by (1 − alpha), so the fit follows a drifting machine.

export class EwLineFit {
  private w = 0;
  private sx = 0;
  private sy = 0;
  private sxx = 0;
  private sxy = 0;

  constructor(private readonly alpha: number) {}

  observe(x: number, y: number): void {
    const k = 1 - this.alpha;
    this.w = k * this.w + 1;
    this.sx = k * this.sx + x;
    this.sy = k * this.sy + y;
    this.sxx = k * this.sxx + x * x;
    this.sxy = k * this.sxy + x * y;
  }

  /** Whether anything was observed. */
  get empty(): boolean {
    return this.w < 1e-9;
  }

  /** Weighted means, variance of x and covariance of x and y (0 while empty). */
  moments(): { mx: number; my: number; varX: number; cov: number } {
    if (this.empty) return { mx: 0, my: 0, varX: 0, cov: 0 };
    const mx = this.sx / this.w;
    const my = this.sy / this.w;
    return { mx, my, varX: this.sxx / this.w - mx * mx, cov: this.sxy / this.w - mx * my };
  }
}
