import type { Registry } from 'prom-client';
import { InvalidArgumentError } from '../../core/errors.js';
import { defineCounter } from '../metrics.js';
import type { OtlpSignal } from './otlp-decode.js';

export interface OtlpForwarderOptions {
  /** The collector's OTLP/HTTP base URL (`http://127.0.0.1:4318`); `/v1/<signal>` is appended. */
  url: string;
  /** Requests in flight at once; past it, requests are dropped and counted. Default 16. */
  maxInflight?: number;
  /** Per request. Default 10 s. */
  timeoutMs?: number;
  registry?: Registry | undefined;
}

/**
 * Sends each OTLP request, as received, on to an external collector (Jaeger, Tempo, an
 * OpenTelemetry collector). Best effort, bounded: a slow or absent collector never holds
 * the receiver up, and whatever could not be sent is counted, by outcome.
 */
export function otlpForwarder(
  options: OtlpForwarderOptions,
): (signal: OtlpSignal, body: Buffer, contentType: string) => void {
  let base: URL;
  try {
    base = new URL(options.url);
  } catch (error) {
    throw new InvalidArgumentError(`forward URL is not a URL: ${options.url}`, { cause: error });
  }
  const root = base.toString().replace(/\/$/, '');
  const maxInflight = options.maxInflight ?? 16;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const outcomes = defineCounter({
    name: 'sluice_telemetry_forwarded_total',
    help: 'OTLP requests the telemetry store forwarded to the external collector, by outcome (sent, failed, dropped while too many were in flight).',
    labelNames: ['signal', 'outcome'],
    labelValues: { signal: ['traces', 'logs', 'metrics'], outcome: ['sent', 'failed', 'dropped'] },
    registry: options.registry,
  });
  let inflight = 0;
  return (signal, body, contentType) => {
    if (inflight >= maxInflight) {
      outcomes.inc({ signal, outcome: 'dropped' });
      return;
    }
    inflight++;
    fetch(`${root}/v1/${signal}`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    })
      .then(async (response) => {
        await response.arrayBuffer();
        outcomes.inc({ signal, outcome: response.ok ? 'sent' : 'failed' });
      })
      .catch(() => outcomes.inc({ signal, outcome: 'failed' }))
      .finally(() => {
        inflight--;
      });
  };
}
