/**
 * `node --import sluice/mesh/trace-preload app.js`: carries the W3C trace context of each
 * inbound HTTP request to the outbound calls made while handling it, so a trace crosses a
 * Node service without code changes.
 *
 * Covers: requests served by node:http / node:https servers (Express, Fastify, Koa and
 * others sit on them); calls made with node:http / node:https `request` and `get` (and
 * clients built on them, such as axios and got), with undici and with the global fetch
 * (`undici:request:create` on diagnostics_channel). The context follows the handler
 * through promises, timers and callbacks (AsyncLocalStorage).
 *
 * Cannot: create spans of its own (the sidecars record each hop; the service's spans need
 * an OpenTelemetry SDK); follow work a handler hands to a queue, worker thread or child
 * process, or a callback queue shared between requests (a hand-rolled batcher runs in the
 * context of whichever request started it); requests a module sent by a copy of
 * `http.request` it took before this preload ran; cover HTTP/2 servers (node:http2) or non-HTTP protocols; replace
 * a `traceparent` the code sets itself (that one wins).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';

interface TraceHeaders {
  traceparent: string;
  tracestate?: string;
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const KEY = Symbol.for('sluice.mesh.tracePreload');
const holder = globalThis as { [KEY]?: AsyncLocalStorage<TraceHeaders | undefined> };

/** The trace context of the request being handled, for code that wants to read it. */
export function currentTraceHeaders(): TraceHeaders | undefined {
  return holder[KEY]?.getStore();
}

function install(): void {
  if (holder[KEY] !== undefined) return;
  const storage = new AsyncLocalStorage<TraceHeaders | undefined>();
  holder[KEY] = storage;

  subscribe('http.server.request.start', (message) => {
    const request = (message as { request: IncomingMessage }).request;
    const traceparent = request.headers.traceparent;
    const tracestate = request.headers.tracestate;
    // The server emits 'request' right after this, in the same synchronous run: entering
    // here scopes the handler and everything it schedules; the next request re-enters.
    storage.enterWith(
      typeof traceparent === 'string' && TRACEPARENT.test(traceparent)
        ? { traceparent, ...(typeof tracestate === 'string' ? { tracestate } : {}) }
        : undefined,
    );
  });

  // Node 20 publishes `http.client.request.start` only once the headers are written, too
  // late to add one: node:http and node:https requests are wrapped instead, the ESM
  // bindings re-synced so `import { request } from 'node:http'` sees the wrapper.
  for (const module of [http, https]) {
    const request = module.request;
    const traced = function tracedRequest(this: unknown, ...args: unknown[]) {
      return withContext(Reflect.apply(request, this, args) as ClientRequest);
    } as typeof module.request;
    module.request = traced;
    // `get` ends the request inside node:http, before a wrapper could add a header.
    module.get = function tracedGet(this: unknown, ...args: unknown[]) {
      const sent = Reflect.apply(traced, this, args) as ClientRequest;
      sent.end();
      return sent;
    } as typeof module.get;
  }
  syncBuiltinESMExports();

  function withContext(request: ClientRequest): ClientRequest {
    const context = storage.getStore();
    if (context === undefined || request.headersSent || request.hasHeader('traceparent')) {
      return request;
    }
    request.setHeader('traceparent', context.traceparent);
    if (context.tracestate !== undefined) request.setHeader('tracestate', context.tracestate);
    return request;
  }

  // undici and the global fetch (its own copy of undici publishes on the same channels).
  subscribe('undici:request:create', (message) => {
    const context = storage.getStore();
    if (context === undefined) return;
    const request = (
      message as {
        request: { headers: string | string[]; addHeader(name: string, value: string): void };
      }
    ).request;
    const headers = request.headers;
    const text = Array.isArray(headers) ? headers.join('\n') : headers;
    if (/(^|\r?\n)traceparent[:\n]/i.test(text)) return;
    request.addHeader('traceparent', context.traceparent);
    if (context.tracestate !== undefined) request.addHeader('tracestate', context.tracestate);
  });
}

install();
