import { AbortedError } from '../core/errors.js';
import type { PolicyContext } from './policy.js';

const never = new AbortController().signal;
const noop = (): void => {};

/**
 * A node in the tree of contexts that one `execute` builds as it passes through policies.
 * Only abortable nodes (a timeout's, a hedge attempt's) own an AbortController, and only
 * once someone reads `signal` or asks to be told of an abort; the others hand out their
 * parent's signal. `aborted` walks up the chain, so it is right even when no signal
 * exists yet.
 */
export class ExecutionContext implements PolicyContext {
  private controller: AbortController | undefined = undefined;
  private ownAborted = false;
  private ownReason: unknown = undefined;
  private unlink: (() => void) | undefined = undefined;

  protected constructor(
    private readonly parent: ExecutionContext | undefined,
    readonly attempt: number,
    private readonly external: AbortSignal | undefined,
    private readonly abortable: boolean,
  ) {}

  private static readonly detached = new ExecutionContext(undefined, 1, undefined, false);

  static root(signal: AbortSignal | undefined, attempt = 1): ExecutionContext {
    return signal === undefined && attempt === 1
      ? ExecutionContext.detached
      : new ExecutionContext(undefined, attempt, signal, false);
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
    if (this.ownAborted) return true;
    if (this.parent !== undefined) return this.parent.aborted;
    return this.external?.aborted === true;
  }

  get reason(): unknown {
    if (this.ownAborted) return this.ownReason;
    if (this.parent !== undefined) return this.parent.reason;
    return this.external?.reason;
  }

  get signal(): AbortSignal {
    if (!this.abortable) {
      return this.parent !== undefined ? this.parent.signal : (this.external ?? never);
    }
    if (this.controller !== undefined) return this.controller.signal;
    const controller = new AbortController();
    this.controller = controller;
    if (this.aborted) {
      controller.abort(this.reason);
    } else if (this.parent !== undefined) {
      const upstream = this.parent.signal;
      if (upstream !== never) {
        const onAbort = (): void => this.abort(upstream.reason);
        upstream.addEventListener('abort', onAbort, { once: true });
        this.unlink = () => upstream.removeEventListener('abort', onAbort);
      }
    }
    return controller.signal;
  }

  abort(reason: unknown): void {
    if (this.ownAborted) return;
    this.ownAborted = true;
    this.ownReason = reason;
    this.dispose();
    this.controller?.abort(reason);
  }

  /** Calls `listener` once if this context aborts; returns the way to stop listening. */
  onAbort(listener: () => void): () => void {
    const signal = this.signal;
    if (signal === never) return noop;
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
