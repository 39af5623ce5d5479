import type { SpanContext } from '@opentelemetry/api';

/**
 * The sampling of new traces as `setupTracing` configured it, for a hop that makes a span
 * per request and would otherwise build an unrecorded span, with its context and sampling
 * result, for nine requests in ten at a 10 % ratio. Decides before any span exists.
 */
export interface RootSampling {
  /**
   * Decides a new trace. Unrecorded: its context (fresh ids, flags 0), all there is to
   * pass on. Recorded: undefined, and the tracer's next root span is made in the trace
   * just decided, so call `startSpan` at once.
   */
  unrecordedRoot(): SpanContext | undefined;
}

let current: RootSampling | undefined;

/** The sampling `setupTracing` installed, or undefined (no tracing, or another provider). */
export function rootSampling(): RootSampling | undefined {
  return current;
}

export function setRootSampling(sampling: RootSampling | undefined): void {
  current = sampling;
}
