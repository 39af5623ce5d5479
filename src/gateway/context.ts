import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { LazySignal } from '../core/lazy-signal.js';
import { type InterimHeaders, relayInterim } from './interim.js';
import type { GatewayContext, ResponseHeaders } from './types.js';

/** What filters learn about the caller; see `RequestContext.identity`. */
export interface Identity {
  subject?: string | undefined;
  claims?: Readonly<Record<string, unknown>> | undefined;
  credential?: 'jwt' | 'apiKey' | undefined;
  clientSubject?: string | undefined;
}

/**
 * The context of one request. Its AbortSignal is made on first read: most requests never
 * need one, and an AbortController per request is a measurable share of a proxy's CPU.
 * The proxy asks `upstreamSignal()` instead, which hands undici a plain emitter unless a
 * filter already made the signal.
 */
export class RequestContext extends LazySignal implements GatewayContext {
  /**
   * Who the caller is, in one record per request. A policy hands the filters after it a
   * view of this context with its own signal (`Object.create`); the identity is read and
   * written here through every view, so what a filter after the policy learns is what the
   * access log and the rate limits see. The context cannot split.
   */
  readonly identity: Identity = {};
  readonly responseHeaders: ResponseHeaders = {};
  /** The client's response, set by the server: where 1xx interim responses go. */
  client: ServerResponse | undefined = undefined;
  #emitter: (EventEmitter & { aborted?: boolean }) | undefined;
  #gone = false;

  constructor(
    readonly requestId: string,
    readonly clientIp: string,
    readonly routeName: string,
    readonly params: Readonly<Record<string, string>>,
  ) {
    super();
  }

  get subject(): string | undefined {
    return this.identity.subject;
  }
  set subject(value: string | undefined) {
    this.identity.subject = value;
  }
  get claims(): Readonly<Record<string, unknown>> | undefined {
    return this.identity.claims;
  }
  set claims(value: Readonly<Record<string, unknown>> | undefined) {
    this.identity.claims = value;
  }
  get credential(): 'jwt' | 'apiKey' | undefined {
    return this.identity.credential;
  }
  set credential(value: 'jwt' | 'apiKey' | undefined) {
    this.identity.credential = value;
  }
  get clientSubject(): string | undefined {
    return this.identity.clientSubject;
  }
  set clientSubject(value: string | undefined) {
    this.identity.clientSubject = value;
  }

  interim(status: number, headers: InterimHeaders): void {
    if (this.client !== undefined) relayInterim(this.client, status, headers);
  }

  /** What the upstream request listens to for the client going away. */
  abortHandle(): AbortSignal | EventEmitter {
    if (this.hasSignal) return this.signal;
    if (this.#emitter === undefined) {
      this.#emitter = new EventEmitter();
      this.#emitter.aborted = this.#gone;
    }
    return this.#emitter;
  }

  /** The client closed the connection before its response was complete. */
  clientGone(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.abortSignal();
    if (this.#emitter) {
      this.#emitter.aborted = true;
      this.#emitter.emit('abort');
    }
  }

  get gone(): boolean {
    return this.#gone;
  }
}

/** The signal for the upstream call: a filter's own (a policy's timeout) or the request's. */
export function upstreamSignal(context: GatewayContext): AbortSignal | EventEmitter {
  if (!Object.hasOwn(context, 'signal') && context instanceof RequestContext)
    return context.abortHandle();
  return context.signal;
}

export function aborted(context: GatewayContext): boolean {
  if (!Object.hasOwn(context, 'signal') && context instanceof RequestContext) return context.gone;
  return context.signal.aborted;
}
