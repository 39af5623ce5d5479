import { ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { extractContext, getTracer, injectContext, recordError } from '../../observe/index.js';
import type { CompileEnv } from '../compile.js';
import type { Filter, GatewayResponse } from '../types.js';

/**
 * A server span per request, child of the caller's `traceparent`, whose context is passed
 * upstream. The span is never made the active one: entering a context on every request
 * costs more than the rest of the proxy, and nothing downstream of the filter needs it.
 * With no tracer provider set up the span is a no-op and the caller's context passes on.
 */
export function tracingFilter(
  route: { upstream: string },
  env: CompileEnv,
  routeName: string,
): Filter | null {
  if (env.config.tracing === false) return null;
  return (next) => (request, context) => {
    // Request headers arrive lower-cased: without a traceparent there is nothing to extract.
    const parent =
      request.headers.traceparent === undefined ? ROOT_CONTEXT : extractContext(request.headers);
    const span = getTracer().startSpan(
      `${request.method} ${routeName}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'http.route': routeName,
          'sluice.upstream': route.upstream,
          'sluice.request_id': context.requestId,
        },
      },
      parent,
    );
    const carrier: Record<string, string> = {};
    injectContext(carrier, trace.setSpan(parent, span));
    Object.assign(request.headers, carrier);
    const failed = (error: unknown): never => {
      recordError(span, error);
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
