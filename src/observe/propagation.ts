import {
  type Context,
  context as contextApi,
  isSpanContextValid,
  ROOT_CONTEXT,
  type SpanContext,
  type TextMapGetter,
  type TextMapSetter,
  TraceFlags,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/**
 * Header carriers as they arrive: node's `IncomingHttpHeaders` (lower-case keys, values
 * that may be arrays or missing) or a message's plain string headers (any key case).
 */
export type HeaderCarrier = Readonly<Record<string, string | readonly string[] | undefined>>;

// Used directly rather than through the global propagator, so that trace context passes
// through a hop even in a process that never set up tracing.
const propagator = new W3CTraceContextPropagator();

const setter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

const getter: TextMapGetter<HeaderCarrier> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key] ?? carrier[findKey(carrier, key) ?? key];
    if (value === undefined) return undefined;
    return typeof value === 'string' ? value : [...value];
  },
};

function findKey(carrier: HeaderCarrier, key: string): string | undefined {
  return Object.keys(carrier).find((k) => k.toLowerCase() === key);
}

/**
 * Writes W3C `traceparent` (and `tracestate` when present) for the given context, the
 * active one by default, into `carrier`, and returns it. Writes nothing when there is no
 * valid span context.
 */
export function injectContext(
  carrier: Record<string, string>,
  context: Context = contextApi.active(),
): Record<string, string> {
  propagator.inject(context, carrier, setter);
  return carrier;
}

/**
 * `injectContext` for a span's own context, as a hop forwarding a request writes it once per
 * request: the same headers, without a Context made to carry the span to the propagator.
 */
export function injectSpanContext(
  carrier: Record<string, string>,
  spanContext: SpanContext,
): Record<string, string> {
  if (!isSpanContextValid(spanContext)) return carrier;
  const flags = (spanContext.traceFlags || TraceFlags.NONE).toString(16);
  carrier.traceparent = `00-${spanContext.traceId}-${spanContext.spanId}-0${flags}`;
  if (spanContext.traceState) carrier.tracestate = spanContext.traceState.serialize();
  return carrier;
}

/**
 * Reads W3C trace context from HTTP or message headers. Returns a context whose remote
 * parent is the sender's span, or `parent` unchanged (the root context by default) when
 * the headers carry none or a malformed one.
 */
export function extractContext(carrier: HeaderCarrier, parent: Context = ROOT_CONTEXT): Context {
  return propagator.extract(parent, carrier, getter);
}
