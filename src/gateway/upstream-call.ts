import type { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { type Dispatcher, errors, util } from 'undici';

export interface UpstreamAnswer {
  statusCode: number;
  headers: Record<string, string | string[]>;
  /** The whole body when it came in the same read as the headers, else a stream of it. */
  body: Buffer | Readable;
}

type Settle = (answer: UpstreamAnswer | Error) => void;

/**
 * One request upstream through undici's `dispatch`, which `request()` is built on. Most
 * API responses arrive whole in the read that brings their headers: those come back as
 * one Buffer, sparing a stream, a pipe and their events per request, which is a good
 * share of a proxy's CPU. A response still arriving streams, with backpressure.
 */
export function callUpstream(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: AbortSignal | EventEmitter,
): Promise<UpstreamAnswer> {
  return new Promise((resolve, reject) => {
    const handler = new AnswerHandler(signal, (answer) => {
      if (answer instanceof Error) reject(answer);
      else resolve(answer);
    });
    dispatcher.dispatch(options, handler);
  });
}

class AnswerHandler implements Dispatcher.DispatchHandler {
  readonly #signal: AbortSignal | EventEmitter;
  readonly #onAbort = (): void => this.#abortWith(reasonOf(this.#signal));
  #settle: Settle | null;
  #abort: ((reason: Error) => void) | null = null;
  #reason: Error | null = null;
  #statusCode = 0;
  #headers: Record<string, string | string[]> | null = null;
  #chunks: Buffer[] = [];
  #complete = false;
  #stream: Readable | null = null;
  #resume: (() => void) | null = null;

  constructor(signal: AbortSignal | EventEmitter, settle: Settle) {
    this.#signal = signal;
    this.#settle = settle;
    if ('aborted' in signal && signal.aborted) this.#reason = reasonOf(signal);
    else listen(signal, this.#onAbort);
  }

  onConnect(abort: (reason: Error) => void): void {
    if (this.#reason) abort(this.#reason);
    else this.#abort = abort;
  }

  onHeaders(statusCode: number, raw: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true;
    this.#statusCode = statusCode;
    this.#headers = util.parseHeaders(raw);
    this.#resume = resume;
    // The rest of this read is parsed before microtasks run: by then the body may be whole.
    queueMicrotask(() => this.#answer());
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#stream) return this.#stream.push(chunk);
    this.#chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    this.#complete = true;
    this.#stream?.push(null);
    this.#done();
  }

  onError(error: Error): void {
    this.#done();
    if (this.#stream) this.#stream.destroy(error);
    else this.#finish(error);
  }

  #answer(): void {
    if (this.#settle === null) return;
    const chunks = this.#chunks;
    let body: Buffer | Readable;
    if (this.#complete) {
      body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    } else {
      const stream = new Readable({ read: () => this.#resume?.() });
      stream.once('close', () => {
        if (!this.#complete) this.#abortWith(new errors.RequestAbortedError());
      });
      for (const chunk of chunks) stream.push(chunk);
      this.#stream = stream;
      body = stream;
    }
    this.#chunks = [];
    this.#finish({ statusCode: this.#statusCode, headers: this.#headers!, body });
  }

  #finish(answer: UpstreamAnswer | Error): void {
    const settle = this.#settle;
    this.#settle = null;
    settle?.(answer);
  }

  #abortWith(reason: Error): void {
    this.#reason ??= reason;
    this.#abort?.(reason);
  }

  #done(): void {
    unlisten(this.#signal, this.#onAbort);
  }
}

function reasonOf(signal: AbortSignal | EventEmitter): Error {
  const reason = (signal as Partial<AbortSignal>).reason;
  return reason instanceof Error ? reason : new errors.RequestAbortedError();
}

function listen(signal: AbortSignal | EventEmitter, listener: () => void): void {
  if ('addEventListener' in signal) signal.addEventListener('abort', listener, { once: true });
  else signal.once('abort', listener);
}

function unlisten(signal: AbortSignal | EventEmitter, listener: () => void): void {
  if ('removeEventListener' in signal) signal.removeEventListener('abort', listener);
  else signal.removeListener('abort', listener);
}
