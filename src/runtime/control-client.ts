import { InvalidArgumentError } from '../core/index.js';
import type { KilledInstance, SystemStatus } from './control-server.js';
import { SystemUnreachableError } from './errors.js';

const requestTimeoutMs = 5_000;

/** `GET /system` of the control API at `controlUrl`. */
export async function fetchSystemStatus(controlUrl: string): Promise<SystemStatus> {
  const res = await request(controlUrl, '/system', 'GET');
  const body = await readJson(res);
  if (!res.ok || typeof (body as SystemStatus | undefined)?.services !== 'object') {
    throw new SystemUnreachableError(
      controlUrl,
      `${controlUrl} answers, but is no Sluice control API (GET /system: ${res.status})`,
    );
  }
  return body as SystemStatus;
}

/** SIGKILLs instance `index` of `service` through the control API at `controlUrl`. */
export async function killInstance(
  controlUrl: string,
  service: string,
  index: number,
): Promise<KilledInstance> {
  const path = `/services/${encodeURIComponent(service)}/instances/${index}/kill`;
  const res = await request(controlUrl, path, 'POST');
  const body = await readJson(res);
  if (res.ok) return body as KilledInstance;
  const detail = (body as { detail?: unknown } | undefined)?.detail;
  throw new InvalidArgumentError(
    typeof detail === 'string' ? detail : `POST ${path} answered ${res.status}`,
  );
}

async function request(controlUrl: string, path: string, method: string): Promise<Response> {
  try {
    return await fetch(new URL(path, controlUrl), {
      method,
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
  } catch (error) {
    throw new SystemUnreachableError(controlUrl, `nothing answers at ${controlUrl}`, {
      cause: error,
    });
  }
}

async function readJson(res: Response): Promise<unknown> {
  try {
    return await res.json();
  } catch {
    return undefined;
  }
}
