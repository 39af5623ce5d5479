import { ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Filter, GatewayResponse } from '../../gateway/types.js';
// The lean module only: the observe index loads the OpenTelemetry SDK, some 20 MB a sidecar
// does not need unless tracing is set up (which registers the provider `trace` finds).
import { extractContext, injectContext } from '../../observe/propagation.js';

/**
 * A span per hop: SERVER on the inbound side, CLIENT on the outbound side, each a child of
 * the `traceparent` that came in, whose own context goes on in `traceparent`. Without a
 * tracer provider the span is a no-op and the caller's context passes through unchanged.
 */
export function hopTracing(kind: 'inbound' | 'outbound', name: string): Filter {
  const spanKind = kind === 'inbound' ? SpanKind.SERVER : SpanKind.CLIENT;
  return (next) => (request, context) => {
    const parent =
      request.headers.traceparent === undefined ? ROOT_CONTEXT : extractContext(request.headers);
    const span = trace.getTracer('sluice').startSpan(
      `${request.method} ${kind === 'inbound' ? name : `-> ${name}`}`,
      {
        kind: spanKind,
        attributes: {
          'http.request.method': request.method,
          'url.path': request.path,
          [kind === 'inbound' ? 'sluice.mesh.service' : 'sluice.mesh.upstream']: name,
          'sluice.request_id': context.requestId,
        },
      },
      parent,
    );
    const carrier: Record<string, string> = {};
    injectContext(carrier, trace.setSpan(parent, span));
    Object.assign(request.headers, carrier);
    const failed = (error: unknown): never => {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      throw error;
    };
    let result: ReturnType<typeof next>;
    try {
      result = next(request, context);
    } catch (error) {
      return failed(error);
    }
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
