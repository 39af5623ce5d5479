import {
  type Attributes,
  ROOT_CONTEXT,
  type Span,
  type SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
// The lean module only: the observe index loads the OpenTelemetry SDK, which a process that
// never sets up tracing (a sidecar, most often) need not carry.
import { extractContext, injectSpanContext } from '../../observe/propagation.js';
import { rootSampling } from '../../observe/root-sampling.js';
import type { Filter, GatewayContext, GatewayRequest, GatewayResponse } from '../types.js';

export interface SpanFilterOptions {
  kind: SpanKind;
  name(request: GatewayRequest): string;
  attributes(request: GatewayRequest, context: GatewayContext): Attributes;
}

/**
 * A span per request, child of the caller's `traceparent`, whose own context goes on in
 * `traceparent`: the gateway's server span and each mesh hop. The span is never made the
 * active one: entering a context on every request costs more than the rest of the proxy,
 * and nothing downstream needs it. Without a tracer provider the span is a no-op and the
 * caller's context passes through unchanged.
 */
export function spanFilter(options: SpanFilterOptions): Filter {
  const tracer = trace.getTracer('sluice');
  return (next) => (request, context) => {
    const headers = request.headers as Record<string, string>;
    // Request headers arrive lower-cased: without a traceparent there is nothing to extract.
    let parent = ROOT_CONTEXT;
    if (headers.traceparent !== undefined) parent = extractContext(headers);
    else {
      // A new trace that will not be recorded needs its ids passed on, and no span at all
      // (nor its name and attributes).
      const unrecorded = rootSampling()?.unrecordedRoot();
      if (unrecorded !== undefined) {
        injectSpanContext(headers, unrecorded);
        return next(request, context);
      }
    }
    const span = tracer.startSpan(
      options.name(request),
      { kind: options.kind, attributes: options.attributes(request, context) },
      parent,
    );
    injectSpanContext(headers, span.spanContext());
    const failed = (error: unknown): never => {
      const message = error instanceof Error ? error.message : String(error);
      span.recordException(error instanceof Error ? error : message);
      span.setStatus({ code: SpanStatusCode.ERROR, message });
      span.end();
      throw error;
    };
    let result: ReturnType<typeof next>;
    try {
      result = next(request, context);
    } catch (error) {
      return failed(error);
    }
    // No async wrapper: with tracing set up, every promise a request makes costs more.
    if (result instanceof Promise) return result.then((response) => ended(span, response), failed);
    return ended(span, result);
  };
}

function ended(span: Span, response: GatewayResponse): GatewayResponse {
  span.setAttribute('http.response.status_code', response.status);
  if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
  return response;
}
