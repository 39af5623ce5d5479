import { InvalidArgumentError, UnsupportedError } from '../core/index.js';
import { SystemUnreachableError } from './errors.js';
import type { InstanceInfo } from './instance.js';

/**
 * What a service's `POST /fault` takes; a field left out keeps its current value, a field
 * the service does not know it ignores.
 */
export interface Fault {
  latencyMs?: number;
  /** Answers 503: worth retrying. */
  errorRate?: number;
  /** Answers with a final no (the storefront's payment: 402). */
  declineRate?: number;
}

/**
 * Sets `fault` at one instance's `POST /fault` and returns what the instance answered (its
 * fault now). `label` names the instance in errors, as `up` logs it (`payment`, `orders.1`).
 */
export async function postFault(
  label: string,
  instance: InstanceInfo,
  fault: Fault,
): Promise<unknown> {
  const url = new URL('/fault', instance.url).href;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(fault),
      signal: AbortSignal.timeout(5_000),
    });
  } catch (error) {
    const why = `${label} does not answer at ${url} (state: ${instance.state})`;
    throw new SystemUnreachableError(url, why, { cause: error });
  }
  const text = await res.text();
  if (res.status === 404 || res.status === 405) {
    throw new UnsupportedError(
      `${label} takes no faults: POST ${url} answered ${res.status} ` +
        '(a service takes them by serving POST /fault {latencyMs, errorRate, declineRate})',
    );
  }
  if (!res.ok)
    throw new InvalidArgumentError(`${label} refused the fault (${res.status}): ${text}`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
