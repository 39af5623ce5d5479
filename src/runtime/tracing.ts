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
  #tracing: Tracing | undefined;

  constructor(traces: TracesConfig) {
    this.#traces = traces;
  }

  start(): void {
    this.#tracing = setupTracing({
      serviceName: this.#traces.serviceName ?? 'sluice',
      otlpUrl: this.#traces.otlp,
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
 * sampling, under the service's own name. A service's own `env` still wins.
 */
export function tracingEnv(
  traces: TracesConfig | undefined,
  service: string,
): Record<string, string> {
  if (traces === undefined) return {};
  return {
    ...(traces.otlp === undefined ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: traces.otlp }),
    OTEL_SERVICE_NAME: service,
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: String(sampleRatio(traces)),
  };
}
