import { fileURLToPath } from 'node:url';
import { LogSink, loadSluiceConfig, type SluiceConfig } from '../../src/runtime/index.js';
import { freePorts } from '../../src/runtime/ports.js';

export const storefrontDir = fileURLToPath(new URL('../../examples/storefront/', import.meta.url));

/**
 * The storefront's own `sluice.yaml` with every port moved to a free one and data in
 * `dataDir`, so the test never collides with a storefront already running.
 */
export async function storefrontConfig(dataDir: string): Promise<SluiceConfig> {
  const config = await loadSluiceConfig(`${storefrontDir}sluice.yaml`, {
    env: { ...process.env, SLUICE_DATA: dataDir },
  });
  delete config.telemetry;
  delete config.control;
  const services = Object.values(config.services ?? {});
  const ports = await freePorts('127.0.0.1', services.length + 1);
  const moved = new Map<string, string>();
  for (const [i, service] of services.entries()) {
    const port = ports[i]!;
    moved.set(`http://127.0.0.1:${service.port}`, `http://127.0.0.1:${port}`);
    service.port = port;
  }
  const gateway = config.gateway;
  if (gateway === undefined) throw new Error('the storefront file has no gateway section');
  const move = (url: string): string => {
    for (const [from, to] of moved) if (url.startsWith(from)) return to + url.slice(from.length);
    throw new Error(`gateway points at ${url}, which is no storefront service`);
  };
  gateway.listen = `127.0.0.1:${ports[services.length]}`;
  for (const upstream of Object.values(gateway.upstreams ?? {}))
    upstream.targets = upstream.targets.map(move);
  if (gateway.auth?.jwt?.jwks !== undefined) gateway.auth.jwt.jwks = move(gateway.auth.jwt.jwks);
  return config;
}

/** Keeps the merged log in memory, to show it when a test fails. */
export function memoryLog(): { sink: LogSink; text: () => string } {
  const lines: string[] = [];
  const sink = new LogSink({ format: 'json', write: (line) => lines.push(line) });
  return { sink, text: () => lines.join('') };
}
