import type { Registry } from 'prom-client';
import {
  type CounterMetric,
  defineCounter,
  defineGauge,
  type GaugeMetric,
} from '../observe/index.js';

export interface RuntimeMetrics {
  restarts: CounterMetric<'service'>;
  ready: GaugeMetric<'service'>;
}

export function runtimeMetrics(registry?: Registry): RuntimeMetrics {
  return {
    restarts: defineCounter({
      name: 'sluice_runtime_restarts_total',
      help: 'Service instances restarted by the supervisor after they exited.',
      labelNames: ['service'],
      registry,
    }),
    ready: defineGauge({
      name: 'sluice_runtime_instances_ready',
      help: 'Service instances currently passing their health check.',
      labelNames: ['service'],
      registry,
    }),
  };
}
