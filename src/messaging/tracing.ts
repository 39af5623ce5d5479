import {
  type Context,
  context as contextApi,
  type Link,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { extractContext, injectContext } from '../observe/propagation.js';

/**
 * A queue hop as the OpenTelemetry messaging conventions draw it. Publishing starts a
 * PRODUCER `send {destination}` span per message, a child of the message's own trace
 * context (an outbox row carries the one it was added in) or else the active one, and
 * writes that span's context into the message headers: the message's creation context.
 * Handling runs in a CONSUMER `process {destination}` span that links to the creation
 * context and, since one message is handled at a time (the case where the conventions
 * allow it), is also its child: a request and the work its messages cause are one trace,
 * and a viewer that follows links sees the hop as well.
 */
const tracer = trace.getTracer('sluice.messaging');

/** What an unset global tracer provider delegates to. */
const noopProvider = new ProxyTracerProvider().getDelegate();

export interface Destination {
  /** `messaging.system`: the driver's name (`sqlite`, `nats`, `rabbitmq`, ...). */
  system: string;
  /** A queue, topic or stream name. */
  name: string;
}

export interface SendSpans {
  /** Ends every span; with an error, each records it. */
  end(error?: unknown): void;
}

const noSpans: SendSpans = { end: () => {} };

/** Writes the active trace context into `headers` (the outbox does this when a row is added). */
export function injectTrace(headers: Record<string, string>): void {
  injectContext(headers);
}

/**
 * Starts one `send` span per message and writes its context into the message's headers
 * (replacing the context it carried, which becomes the span's parent).
 */
export function startSend(
  destination: Destination,
  messages: ReadonlyArray<{
    readonly id: string;
    readonly headers: Readonly<Record<string, string>>;
  }>,
): SendSpans {
  if (tracingOff()) {
    // No spans here, but the context still passes on to the consumer.
    for (const message of messages) {
      if (!carriesTrace(message.headers)) injectContext(writable(message.headers));
    }
    return noSpans;
  }
  const spans: Span[] = [];
  for (const message of messages) {
    const parent = carriesTrace(message.headers)
      ? extractContext(message.headers)
      : contextApi.active();
    const span = tracer.startSpan(
      `send ${destination.name}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': destination.system,
          'messaging.operation.name': 'send',
          'messaging.operation.type': 'send',
          'messaging.destination.name': destination.name,
          'messaging.message.id': message.id,
          ...(messages.length > 1 ? { 'messaging.batch.message_count': messages.length } : {}),
        },
      },
      parent,
    );
    injectContext(writable(message.headers), trace.setSpan(parent, span));
    spans.push(span);
  }
  return {
    end: (error) => {
      for (const span of spans) {
        if (error !== undefined) fail(span, error);
        span.end();
      }
    },
  };
}

/** Where a consumer's messages come from: the same for every message it handles. */
export interface ProcessInfo {
  system: string;
  /** The queue or topic. */
  destination: string;
  /** The consumer group of a topic subscription. */
  group?: string;
}

/** What the span of one message says about it. */
export interface ProcessedMessage {
  readonly id: string;
  readonly attempt: number;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Runs `work` for one message in a `process` span. With no tracer provider registered and
 * no trace context in the headers the span would be an invalid, non-recording one over the
 * root context: then `work` just runs in the root context, without a span and its closures.
 */
export function handleInSpan<R>(
  info: ProcessInfo,
  message: ProcessedMessage,
  work: () => R | Promise<R>,
): Promise<R> {
  if (!carriesTrace(message.headers) && tracingOff()) {
    try {
      return Promise.resolve(contextApi.with(ROOT_CONTEXT, work));
    } catch (error) {
      return Promise.reject(error);
    }
  }
  const creation: Context = extractContext(message.headers);
  const creationSpan = trace.getSpanContext(creation);
  const links: Link[] = creationSpan === undefined ? [] : [{ context: creationSpan }];
  return tracer.startActiveSpan(
    `process ${info.destination}`,
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: {
        'messaging.system': info.system,
        'messaging.operation.name': 'process',
        'messaging.operation.type': 'process',
        'messaging.destination.name': info.destination,
        ...(info.group === undefined ? {} : { 'messaging.consumer.group.name': info.group }),
        'messaging.message.id': message.id,
        'sluice.message.attempt': message.attempt,
      },
    },
    creation,
    async (span: Span) => {
      try {
        return await work();
      } catch (error) {
        fail(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

function fail(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setAttribute(
    'error.type',
    error instanceof Error ? ((error as { code?: string }).code ?? error.name) : 'Error',
  );
  span.setStatus({ code: SpanStatusCode.ERROR });
}

function tracingOff(): boolean {
  const provider = trace.getTracerProvider();
  return provider instanceof ProxyTracerProvider && provider.getDelegate() === noopProvider;
}

/** Headers are built by the producer just before this; typed read-only for the drivers. */
function writable(headers: Readonly<Record<string, string>>): Record<string, string> {
  return headers as Record<string, string>;
}

/** A `traceparent` header in any letter case (as the propagator reads it). */
function carriesTrace(headers: Readonly<Record<string, string>>): boolean {
  for (const name in headers) {
    if (name.length === 11 && name.toLowerCase() === 'traceparent') return true;
  }
  return false;
}
