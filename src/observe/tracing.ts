import { createRequire } from 'node:module';
import {
  context,
  type ProxyTracerProvider,
  propagation,
  ROOT_CONTEXT,
  type SpanContext,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { SpanExporter } from '@opentelemetry/sdk-trace-node';
import { InvalidArgumentError } from '../core/errors.js';
import { type RootSampling, setRootSampling } from './root-sampling.js';

// The SDK, its exporter and resources are loaded when tracing is set up, not when this
// module is: they are most of what `sluice/gateway` would load otherwise, and a process that
// never traces need not pay for them. Their packages are CommonJS, which an ES import loads
// too, so requiring them yields the very same modules.
const require = createRequire(import.meta.url);
type Sdk = typeof import('@opentelemetry/sdk-trace-node');

export interface TracingOptions {
  serviceName: string;
  serviceVersion?: string;
  /**
   * OTLP/HTTP collector base URL (`http://127.0.0.1:4318`); `/v1/traces` is appended
   * unless present. Without it the exporter follows the standard `OTEL_EXPORTER_OTLP_*`
   * environment variables.
   */
  otlpUrl?: string | undefined;
  /** Fraction of new traces to sample, 0..1 (default 1). Sampled parents are always followed. */
  sampleRatio?: number;
  /** Replaces the OTLP exporter, e.g. an in-memory exporter in tests. */
  exporter?: SpanExporter;
  /**
   * Default true: an AsyncLocalStorage context manager, so a span made active stays active
   * across awaits (and logs carry its ids). False for a process that passes contexts
   * explicitly, as the gateway does: on Node 20 AsyncLocalStorage makes every promise in
   * the process cost more, about a third of the gateway's CPU per request.
   */
  activeContext?: boolean;
}

export interface Tracing {
  tracer: Tracer;
  /** Exports every span ended so far. */
  forceFlush(): Promise<void>;
  /** Flushes, stops the exporter and unregisters the global provider. */
  shutdown(): Promise<void>;
}

export const TRACER_NAME = 'sluice';

let active = false;

/**
 * Installs the OpenTelemetry SDK for this process: a tracer provider with a
 * parent-based ratio sampler, a batching processor exporting over OTLP/HTTP, an
 * AsyncLocalStorage context manager and the W3C trace-context propagator.
 */
export function setupTracing(options: TracingOptions): Tracing {
  const ratio = options.sampleRatio ?? 1;
  if (!(ratio >= 0 && ratio <= 1)) {
    throw new InvalidArgumentError(`sampleRatio must be between 0 and 1, got ${ratio}`);
  }
  if (options.serviceName === '') throw new InvalidArgumentError('serviceName must not be empty');
  if (active) {
    throw new InvalidArgumentError(
      'Tracing is already set up; shut it down before setting it up again',
    );
  }
  const exporter = options.exporter ?? otlpExporter(options.otlpUrl);
  // Processor and samplers come through sdk-trace-node so that they are the same copy of
  // the SDK as the provider, whatever versions the installation ended up with.
  const sdk = require('@opentelemetry/sdk-trace-node') as Sdk;
  const { resourceFromAttributes } = require('@opentelemetry/resources') as Resources;
  const { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } =
    require('@opentelemetry/semantic-conventions') as Conventions;
  const { sampling, idGenerator, root } = rootDecisions(sdk, ratio);
  const provider = new sdk.NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      ...(options.serviceVersion === undefined
        ? {}
        : { [ATTR_SERVICE_VERSION]: options.serviceVersion }),
    }),
    sampler: new sdk.ParentBasedSampler({ root }),
    idGenerator,
    spanProcessors: [new sdk.BatchSpanProcessor(exporter)],
  });
  // With no contextManager given, register() installs the AsyncLocalStorage one; null, none.
  provider.register({
    propagator: new W3CTraceContextPropagator(),
    ...(options.activeContext === false ? { contextManager: null } : {}),
  });
  active = true;
  // Hops decide with this provider's sampler only while spans are its own: a provider
  // registered before, by other code, stays the global one and keeps every decision.
  const global = trace.getTracerProvider() as Partial<ProxyTracerProvider>;
  if (global.getDelegate?.() === provider) setRootSampling(sampling);
  let stopped: Promise<void> | undefined;
  return {
    tracer: provider.getTracer(TRACER_NAME),
    forceFlush: () => provider.forceFlush(),
    shutdown: () => {
      stopped ??= provider.shutdown().finally(() => {
        trace.disable();
        context.disable();
        propagation.disable();
        setRootSampling(undefined);
        active = false;
      });
      return stopped;
    },
  };
}

/**
 * The root sampler and the ids of the provider, shared with hops that decide a new trace
 * before making its span (`RootSampling`): the trace id a hop decided on is the one the
 * provider's next root span takes, so its sampler decides the same again.
 */
function rootDecisions(
  sdk: Sdk,
  ratio: number,
): {
  sampling: RootSampling;
  idGenerator: InstanceType<Sdk['RandomIdGenerator']>;
  root: InstanceType<Sdk['TraceIdRatioBasedSampler']>;
} {
  const ids = new sdk.RandomIdGenerator();
  const root = new sdk.TraceIdRatioBasedSampler(ratio);
  let decided: string | undefined;
  const idGenerator = {
    generateTraceId: () => {
      const traceId = decided ?? ids.generateTraceId();
      decided = undefined;
      return traceId;
    },
    generateSpanId: () => ids.generateSpanId(),
  };
  const sampling: RootSampling = {
    unrecordedRoot: (): SpanContext | undefined => {
      const traceId = ids.generateTraceId();
      if (root.shouldSample(ROOT_CONTEXT, traceId).decision !== sdk.SamplingDecision.NOT_RECORD) {
        decided = traceId;
        return undefined;
      }
      return { traceId, spanId: ids.generateSpanId(), traceFlags: TraceFlags.NONE };
    },
  };
  return { sampling, idGenerator, root };
}

/** A tracer from the global provider; a no-op tracer until `setupTracing` runs. */
export function getTracer(name: string = TRACER_NAME, version?: string): Tracer {
  return trace.getTracer(name, version);
}

type Resources = typeof import('@opentelemetry/resources');
type Conventions = typeof import('@opentelemetry/semantic-conventions');
type Exporters = typeof import('@opentelemetry/exporter-trace-otlp-http');

function otlpExporter(otlpUrl: string | undefined): SpanExporter {
  const config = exporterConfig(otlpUrl);
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as Exporters;
  return new OTLPTraceExporter(config);
}

function exporterConfig(otlpUrl: string | undefined): { url?: string } {
  if (otlpUrl === undefined) return {};
  let url: URL;
  try {
    url = new URL(otlpUrl);
  } catch (error) {
    throw new InvalidArgumentError(`otlpUrl is not a URL: ${otlpUrl}`, { cause: error });
  }
  if (!url.pathname.endsWith('/v1/traces')) {
    url.pathname = `${url.pathname.replace(/\/$/, '')}/v1/traces`;
  }
  return { url: url.toString() };
}
