/** The value a label takes when its real value would exceed the metric's series budget. */
export const OVERFLOW_LABEL_VALUE = 'other';

export type LabelValues<L extends string> = Record<L, string | number>;

/**
 * Bounds the label combinations of one metric. Labels with a declared value set keep only
 * those values; free labels admit new combinations until `maxSeries` is reached, after
 * which they are folded into `other`. However request data reaches a label, the metric
 * holds at most `maxSeries` series plus the folded ones.
 */
export class LabelGuard<L extends string> {
  readonly #names: readonly L[];
  readonly #allowed: ReadonlyMap<L, ReadonlySet<string>>;
  readonly #maxSeries: number;
  readonly #onFold: () => void;
  readonly #series = new Set<string>();
  /** Moves on whenever a series leaves, so that labels bound earlier resolve again. */
  #generation = 0;

  constructor(
    names: readonly L[],
    allowed: Partial<Record<L, readonly string[]>>,
    maxSeries: number,
    onFold: () => void,
  ) {
    this.#names = names;
    const sets = new Map<L, ReadonlySet<string>>();
    for (const name of names) {
      const values = allowed[name];
      if (values !== undefined) sets.set(name, new Set(values));
    }
    this.#allowed = sets;
    this.#maxSeries = maxSeries;
    this.#onFold = onFold;
  }

  get size(): number {
    return this.#series.size;
  }

  resolve(labels: LabelValues<L>): Record<L, string> {
    const out = {} as Record<L, string>;
    let folded = false;
    for (const name of this.#names) {
      const value = String(labels[name] ?? '');
      const allowed = this.#allowed.get(name);
      if (allowed !== undefined && !allowed.has(value)) {
        out[name] = OVERFLOW_LABEL_VALUE;
        folded = true;
      } else {
        out[name] = value;
      }
    }
    const key = this.#key(out);
    if (!this.#series.has(key)) {
      if (this.#series.size < this.#maxSeries) {
        this.#series.add(key);
      } else {
        for (const name of this.#names) {
          if (!this.#allowed.has(name)) out[name] = OVERFLOW_LABEL_VALUE;
        }
        folded = true;
      }
    }
    if (folded) this.#onFold();
    return out;
  }

  /**
   * `resolve` for labels used on every request (a route's series): the resolved labels are
   * kept until a series is forgotten or cleared. Labels that fold resolve on each call, so
   * every observation they make is counted as folded.
   */
  bind(labels: LabelValues<L>): () => Record<L, string> {
    let kept: Record<L, string> | undefined;
    let generation = -1;
    return () => {
      if (kept !== undefined && generation === this.#generation) return kept;
      const out = this.resolve(labels);
      if (this.#names.every((name) => out[name] === String(labels[name] ?? ''))) {
        kept = out;
        generation = this.#generation;
      }
      return out;
    };
  }

  /** Frees the slot of a series that was removed from its metric. */
  forget(labels: LabelValues<L>): void {
    const out = {} as Record<L, string>;
    for (const name of this.#names) out[name] = String(labels[name] ?? '');
    this.#series.delete(this.#key(out));
    this.#generation++;
  }

  clear(): void {
    this.#series.clear();
    this.#generation++;
  }

  #key(labels: Record<L, string>): string {
    return this.#names.map((name) => labels[name]).join('\u0000');
  }
}
