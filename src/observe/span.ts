import {
  type Attributes,
  type Context,
  context as contextApi,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
} from '@opentelemetry/api';
import { getTracer } from './tracing.js';

export interface WithSpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Parent context, e.g. from `extractContext(headers)`; the active context by default. */
  parent?: Context;
  tracer?: Tracer;
}

/**
 * Runs `fn` inside a new active span and ends the span when `fn` settles. A thrown or
 * rejected error is recorded on the span, sets its status to ERROR and is rethrown;
 * success leaves the status unset, as the OpenTelemetry guidance asks of libraries.
 */
export function withSpan<T>(
  name: string,
  fn: (span: Span) => T | PromiseLike<T>,
  options: WithSpanOptions = {},
): Promise<T> {
  const tracer = options.tracer ?? getTracer();
  const parent = options.parent ?? contextApi.active();
  return tracer.startActiveSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, ...spanAttributes(options.attributes) },
    parent,
    async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        recordError(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

export function recordError(span: Span, error: unknown): void {
  if (error instanceof Error) {
    span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  } else {
    span.recordException(String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
  }
}

function spanAttributes(attributes: Attributes | undefined): { attributes?: Attributes } {
  return attributes === undefined ? {} : { attributes };
}
