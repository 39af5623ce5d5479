import {
  context as contextApi,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { extractContext, injectContext } from '../observe/propagation.js';

/**
 * The trace context crosses the queue hop in message headers: written at publish, read at
 * consume, where the handler runs in a span whose parent is the producer's span.
 */
const tracer = trace.getTracer('sluice.messaging');

/** What an unset global tracer provider delegates to. */
const noopProvider = new ProxyTracerProvider().getDelegate();

export function injectTrace(headers: Record<string, string>): void {
  injectContext(headers);
}

/**
 * Runs `work` for one message in a consumer span. With no tracer provider registered and no
 * trace context in the headers the span would be an invalid, non-recording one over the
 * root context: then `work` just runs in the root context, without a span and its closures.
 */
export function handleInSpan<R>(
  source: string,
  messageId: string,
  attempt: number,
  headers: Readonly<Record<string, string>>,
  work: () => R | Promise<R>,
): Promise<R> {
  if (!carriesTrace(headers) && tracingOff()) {
    try {
      return Promise.resolve(contextApi.with(ROOT_CONTEXT, work));
    } catch (error) {
      return Promise.reject(error);
    }
  }
  const parent = extractContext(headers);
  return tracer.startActiveSpan(
    `${source} process`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'sluice',
        'messaging.operation.type': 'process',
        'messaging.destination.name': source,
        'messaging.message.id': messageId,
        'sluice.message.attempt': attempt,
      },
    },
    parent,
    async (span: Span) => {
      try {
        return await work();
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

function tracingOff(): boolean {
  const provider = trace.getTracerProvider();
  return provider instanceof ProxyTracerProvider && provider.getDelegate() === noopProvider;
}

/** A `traceparent` header in any letter case (as the propagator reads it). */
function carriesTrace(headers: Readonly<Record<string, string>>): boolean {
  for (const name in headers) {
    if (name.length === 11 && name.toLowerCase() === 'traceparent') return true;
  }
  return false;
}
