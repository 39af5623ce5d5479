import type { PathSegment } from '../../core/index.js';
import { parseListen } from '../../gateway/listen.js';
import { asRecord } from './read.js';

/** A fixed port (or range, for a service's instances) the file asks for. */
export interface DeclaredPort {
  /** Where the file asks for it, e.g. `services.payment.port`. */
  segments: PathSegment[];
  host: string;
  first: number;
  last: number;
}

export const defaultMetricsPort = 9464;
const defaultGatewayPort = 8080;

/**
 * Every fixed port of the file: services (one per instance), the gateway and its admin API,
 * the supervisor's metrics, telemetry store (OTLP receiver), control API and mesh control
 * plane. Port 0 (any free port) is left out. Reads the file defensively: a value the schema
 * rejects is skipped, not guessed at.
 */
export function declaredPorts(value: unknown, serviceHost = '127.0.0.1'): DeclaredPort[] {
  const config = asRecord(value);
  if (config === undefined) return [];
  const ports: DeclaredPort[] = [];
  const add = (segments: PathSegment[], host: string, first: unknown, count = 1): void => {
    if (!Number.isInteger(first) || (first as number) <= 0) return;
    ports.push({ segments, host, first: first as number, last: (first as number) + count - 1 });
  };
  const listening = (segments: PathSegment[], listen: unknown, fallback: number): void => {
    if (listen !== undefined && typeof listen !== 'string' && typeof listen !== 'number') return;
    try {
      const { host, port } = parseListen(listen, fallback);
      add(segments, host, port);
    } catch {
      // The schema reports a malformed address.
    }
  };

  const gateway = asRecord(config.gateway);
  if (gateway !== undefined) {
    const declared = gateway.listen !== undefined;
    listening(declared ? ['gateway', 'listen'] : ['gateway'], gateway.listen, defaultGatewayPort);
    const admin = asRecord(gateway.admin);
    if (admin?.listen !== undefined) listening(['gateway', 'admin', 'listen'], admin.listen, 0);
  }
  const telemetry = asRecord(config.telemetry);
  const store = asRecord(telemetry?.store);
  if (store !== undefined && store.enabled !== false) {
    add(['telemetry', 'store', 'port'], '127.0.0.1', store.port);
  }
  const metrics = asRecord(telemetry?.metrics);
  if (metrics !== undefined && metrics.enabled !== false) {
    const segments = ['telemetry', 'metrics', ...(metrics.port === undefined ? [] : ['port'])];
    add(segments, serviceHost, metrics.port ?? defaultMetricsPort);
  }
  const mesh = asRecord(config.mesh);
  if (mesh !== undefined && mesh.enabled !== false) {
    add(['mesh', 'port'], '127.0.0.1', mesh.port);
  }
  const control = asRecord(config.control);
  if (control !== undefined) add(['control', 'port'], '127.0.0.1', control.port);
  for (const [name, raw] of Object.entries(asRecord(config.services) ?? {})) {
    const service = asRecord(raw);
    const instances = Number.isInteger(service?.instances) ? (service?.instances as number) : 1;
    add(['services', name, 'port'], serviceHost, service?.port, Math.max(1, instances));
  }
  return ports;
}

/** `port 3004` or `ports 3004-3005`. */
export function portRange(port: Pick<DeclaredPort, 'first' | 'last'>): string {
  return port.first === port.last ? `port ${port.first}` : `ports ${port.first}-${port.last}`;
}
