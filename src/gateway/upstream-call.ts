import type { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { type Dispatcher, errors, util } from 'undici';
import { SluiceError } from '../core/errors.js';

export interface UpstreamAnswer {
  statusCode: number;
  headers: Record<string, string | string[]>;
  /** The whole body when it came in the same read as the headers, else a stream of it. */
  body: Buffer | Readable;
}

type Settle = (answer: UpstreamAnswer | Error) => void;

/** Where 1xx interim responses go (the request's context relays them to the client). */
export interface InterimSink {
  interim?(status: number, headers: Record<string, string | string[]>): void;
}

const EMPTY = Buffer.alloc(0);
const MAX_INTERIM = 100;

/**
 * One request upstream through undici's `dispatch`, which `request()` is built on. Most
 * API responses arrive whole in the read that brings their headers: those come back as
 * one Buffer, sparing a stream, a pipe and their events per request, which is a good
 * share of a proxy's CPU. A response still arriving streams, with backpressure. Interim
 * (1xx) responses go to `sink` as they come.
 */
export function callUpstream(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: AbortSignal | EventEmitter,
  sink?: InterimSink,
): Promise<UpstreamAnswer> {
  return new Promise((resolve, reject) => {
    const handler = new AnswerHandler(signal, options.method === 'HEAD', sink, (answer) => {
      if (answer instanceof Error) reject(answer);
      else resolve(answer);
    });
    dispatcher.dispatch(options, handler);
  });
}

class AnswerHandler implements Dispatcher.DispatchHandler {
  readonly #signal: AbortSignal | EventEmitter;
  readonly #bodiless: boolean;
  readonly #sink: InterimSink | undefined;
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
  #interim = 0;

  constructor(
    signal: AbortSignal | EventEmitter,
    bodiless: boolean,
    sink: InterimSink | undefined,
    settle: Settle,
  ) {
    this.#signal = signal;
    this.#bodiless = bodiless;
    this.#sink = sink;
    this.#settle = settle;
    if ('aborted' in signal && signal.aborted) this.#reason = reasonOf(signal);
    else listen(signal, this.#onAbort);
  }

  onConnect(abort: (reason: Error) => void): void {
    if (this.#reason) abort(this.#reason);
    else this.#abort = abort;
  }

  onHeaders(statusCode: number, raw: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) {
      // Each interim response restarts undici's headers timeout: without a bound, an
      // upstream sending 103s forever would hold the request forever.
      if (++this.#interim > MAX_INTERIM) {
        this.#abortWith(
          new SluiceError(
            'SLUICE_GATEWAY_BAD_UPSTREAM',
            `The upstream sent more than ${MAX_INTERIM} interim (1xx) responses`,
          ),
        );
        return false;
      }
      this.#sink?.interim?.(
        statusCode,
        util.parseHeaders(raw) as Record<string, string | string[]>,
      );
      return true;
    }
    this.#statusCode = statusCode;
    this.#headers = util.parseHeaders(raw);
    this.#resume = resume;
    if (this.#bodiless || statusCode === 204 || statusCode === 304) {
      // No body can follow (RFC 9112 section 6.3): the answer is whole now, and whatever
      // the upstream sends after it (bytes against a Content-Length) fails its connection
      // but not this response.
      this.#complete = true;
      this.#finish({ statusCode, headers: this.#headers, body: EMPTY });
      return true;
    }
    // The rest of this read is parsed before microtasks run: by then the body may be whole.
    queueMicrotask(() => this.#answer());
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#stream) return this.#stream.push(chunk);
    if (this.#settle === null) return true;
    this.#chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.#settle === null && this.#stream === null) {
      this.#done();
      return;
    }
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
      // The upstream may fail the body before the proxy's consumer listens: the error
      // stays on `stream.errored` for it, and never reaches the process as unhandled.
      stream.on('error', () => {});
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
