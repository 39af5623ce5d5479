import { AbortedError } from '../core/errors.js';
import { LazySignal } from '../core/lazy-signal.js';
import type { PolicyContext } from './policy.js';

const noop = (): void => {};

/**
 * A node in the tree of contexts that one `execute` builds as it passes through policies.
 * Only abortable nodes (a timeout's, a hedge attempt's, and a root without a caller
 * signal) own an AbortController, and only once someone reads `signal` or asks to be told
 * of an abort; the others hand out their parent's signal. `aborted` walks up the chain,
 * so it is right even when no signal exists yet. Every call gets signals of its own,
 * never a shared one, so listeners that work forgets to remove die with the call.
 */
export class ExecutionContext extends LazySignal implements PolicyContext {
  private unlink: (() => void) | undefined = undefined;

  protected constructor(
    private readonly parent: ExecutionContext | undefined,
    readonly attempt: number,
    private readonly external: AbortSignal | undefined,
    private readonly abortable: boolean,
  ) {
    super();
  }

  static root(signal: AbortSignal | undefined, attempt = 1): ExecutionContext {
    return new ExecutionContext(undefined, attempt, signal, signal === undefined);
  }

  /** The same signal as this context, seen by attempt number `attempt`. */
  forAttempt(attempt: number): ExecutionContext {
    return new ExecutionContext(this, attempt, undefined, false);
  }

  /** A child that can be aborted on its own; call `dispose()` once its work settles. */
  abortableChild(): ExecutionContext {
    return new ExecutionContext(this, this.attempt, undefined, true);
  }

  get aborted(): boolean {
    if (this.abortedHere) return true;
    if (this.parent !== undefined) return this.parent.aborted;
    return this.external?.aborted === true;
  }

  get reason(): unknown {
    if (this.abortedHere) return this.reasonHere;
    if (this.parent !== undefined) return this.parent.reason;
    return this.external?.reason;
  }

  /** False when nothing can ever abort this context, so no one need listen. */
  get mayAbort(): boolean {
    if (this.external !== undefined) return true;
    if (this.parent === undefined) return false;
    return this.abortable || this.parent.mayAbort;
  }

  override get signal(): AbortSignal {
    if (!this.abortable) {
      return this.parent !== undefined ? this.parent.signal : this.external!;
    }
    return super.signal;
  }

  protected override signalMade(): void {
    if (this.aborted) {
      this.abortSignal(this.reason);
    } else if (this.parent?.mayAbort) {
      const upstream = this.parent.signal;
      const onAbort = (): void => this.abort(upstream.reason);
      upstream.addEventListener('abort', onAbort, { once: true });
      this.unlink = () => upstream.removeEventListener('abort', onAbort);
    }
  }

  abort(reason: unknown): void {
    if (this.abortedHere) return;
    this.dispose();
    this.abortSignal(reason);
  }

  /** Calls `listener` once if this context aborts; returns the way to stop listening. */
  onAbort(listener: () => void): () => void {
    if (!this.mayAbort) return noop;
    const signal = this.signal;
    signal.addEventListener('abort', listener, { once: true });
    return () => signal.removeEventListener('abort', listener);
  }

  /** The error a policy rejects with when it stops because of this context's abort. */
  abortError(): Error {
    const reason = this.reason;
    return new AbortedError(undefined, { cause: reason });
  }

  dispose(): void {
    if (this.unlink !== undefined) {
      this.unlink();
      this.unlink = undefined;
    }
  }
}
