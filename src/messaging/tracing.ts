import { type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { extractContext, injectContext } from '../observe/propagation.js';

/**
 * The trace context crosses the queue hop in message headers: written at publish, read at
 * consume, where the handler runs in a span whose parent is the producer's span.
 */
const tracer = trace.getTracer('sluice.messaging');

export function injectTrace(headers: Record<string, string>): void {
  injectContext(headers);
}

export function handleInSpan<R>(
  source: string,
  messageId: string,
  attempt: number,
  headers: Readonly<Record<string, string>>,
  work: () => Promise<R>,
): Promise<R> {
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
