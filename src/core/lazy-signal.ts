/**
 * Owns an AbortController made only when `signal` is first read: most work is never
 * aborted and never asks, and a controller per request is a measurable share of a proxy's
 * CPU. An abort before then is remembered, and the signal is made already aborted.
 */
export class LazySignal {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      this.#controller = controller;
      if (this.#aborted) controller.abort(this.#reason);
      else this.signalMade();
    }
    return this.#controller.signal;
  }

  /** Whether `signal` has been read. */
  protected get hasSignal(): boolean {
    return this.#controller !== undefined;
  }

  /** Whether `abortSignal` has been called. */
  protected get abortedHere(): boolean {
    return this.#aborted;
  }

  /** The reason given to `abortSignal`. */
  protected get reasonHere(): unknown {
    return this.#reason;
  }

  /** Called once, as the signal is made, unless it is made already aborted. */
  protected signalMade(): void {}

  /** Aborts the signal, now or as it is made; only the first call counts. */
  protected abortSignal(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}
