import { SluiceError } from '../../core/errors.js';
import { MeshError } from '../errors.js';

const CALL_TIMEOUT_MS = 10_000;

/**
 * One JSON call to the control plane. A problem answer becomes a SluiceError with the
 * problem's `code`; no answer at all becomes SLUICE_MESH_CONTROL_UNAVAILABLE.
 */
export async function callControl<T>(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const timeout = AbortSignal.timeout(CALL_TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetch(new URL(path, base), {
      method,
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal: options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]),
    });
  } catch (error) {
    throw new MeshError(
      'SLUICE_MESH_CONTROL_UNAVAILABLE',
      `the control plane at ${base} did not answer`,
      {
        cause: error,
      },
    );
  }
  const text = await response.text().catch(() => '');
  if (response.ok) return (text === '' ? undefined : JSON.parse(text)) as T;
  let problem: { code?: unknown; detail?: unknown } = {};
  try {
    problem = JSON.parse(text) as typeof problem;
  } catch {}
  const code = typeof problem.code === 'string' ? problem.code : 'SLUICE_MESH_CONTROL_UNAVAILABLE';
  const detail = typeof problem.detail === 'string' ? problem.detail : `HTTP ${response.status}`;
  throw new SluiceError(code, `${method} ${path}: ${detail}`);
}
