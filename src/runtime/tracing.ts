import type { Component } from '../core/index.js';
import { parsePercent } from '../core/index.js';
import { setupTracing, type Tracing } from '../observe/index.js';
import type { SluiceConfig } from './config/index.js';

type TracesConfig = NonNullable<NonNullable<SluiceConfig['telemetry']>['traces']>;

function sampleRatio(traces: TracesConfig): number {
  return traces.sample === undefined ? 1 : parsePercent(traces.sample);
}

/**
 * `telemetry.traces` for the supervisor's own process, where the gateway runs: the
 * OpenTelemetry SDK exporting over OTLP/HTTP. Started first and stopped last, so the
 * gateway's last spans are flushed on the way down.
 */
export class TracingComponent implements Component {
  readonly name = 'tracing';
  readonly #traces: TracesConfig;
  readonly #otlpUrl: (() => string | undefined) | undefined;
  #tracing: Tracing | undefined;

  /** `otlpUrl`, asked at start, overrides `traces.otlp`: the telemetry store's receiver. */
  constructor(traces: TracesConfig, otlpUrl?: () => string | undefined) {
    this.#traces = traces;
    this.#otlpUrl = otlpUrl;
  }

  start(): void {
    this.#tracing = setupTracing({
      serviceName: this.#traces.serviceName ?? 'sluice',
      otlpUrl: this.#otlpUrl?.() ?? this.#traces.otlp,
      sampleRatio: sampleRatio(this.#traces),
      // The gateway hands span contexts on explicitly; see the option.
      activeContext: false,
    });
  }

  async stop(): Promise<void> {
    const tracing = this.#tracing;
    this.#tracing = undefined;
    await tracing?.shutdown();
  }
}

/**
 * The standard OpenTelemetry variables for a service instance, so an SDK in the service
 * (Sluice's `setupTracing` or any other) exports to the same collector with the same
 * sampling, under the service's own name; with the telemetry store, to its receiver (and
 * tracing is on even without `telemetry.traces`). A service's own `env` still wins.
 */
export function tracingEnv(
  traces: TracesConfig | undefined,
  service: string,
  receiverUrl?: string,
): Record<string, string> {
  if (traces === undefined && receiverUrl === undefined) return {};
  const otlp = receiverUrl ?? traces?.otlp;
  return {
    ...(otlp === undefined ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: otlp }),
    OTEL_SERVICE_NAME: service,
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: String(traces === undefined ? 1 : sampleRatio(traces)),
  };
}
