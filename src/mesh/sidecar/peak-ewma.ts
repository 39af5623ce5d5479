/**
 * Linkerd's peak-EWMA round-trip estimate: a slower sample replaces the estimate at once
 * (peak sensitive), a faster one pulls it down with weight 1 - e^(-Δt/τ), and a read decays
 * it by e^(-Δt/τ), so an endpoint left idle after a slow spell is tried again.
 */
export class PeakEwma {
  #estimateMs: number;
  #at: number;
  readonly #tauMs: number;

  constructor(seedMs = 30, decayMs = 10_000, now = performance.now()) {
    this.#estimateMs = seedMs;
    this.#tauMs = decayMs;
    this.#at = now;
  }

  /** The estimate at `now`, decayed since the last sample. */
  value(now = performance.now()): number {
    const elapsed = Math.max(0, now - this.#at);
    return this.#estimateMs * Math.exp(-elapsed / this.#tauMs);
  }

  observe(rttMs: number, now = performance.now()): void {
    const elapsed = Math.max(0, now - this.#at);
    const decay = Math.exp(-elapsed / this.#tauMs);
    const current = this.#estimateMs * decay;
    this.#estimateMs = rttMs > current ? rttMs : current + (rttMs - current) * (1 - decay);
    this.#at = now;
  }
}
