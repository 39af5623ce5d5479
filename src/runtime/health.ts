import { anySignal } from '../core/index.js';

export interface Probe {
  healthy: boolean;
  /** What the check saw: `200`, `503`, `connection refused`, `timed out after 2000 ms`. */
  detail: string;
}

/** One HTTP GET of a health endpoint: healthy on any 2xx answer within `timeoutMs`. */
export async function probe(url: string, timeoutMs: number, signal?: AbortSignal): Promise<Probe> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = anySignal(signal, timeout);
  try {
    const response = await fetch(url, { signal: combined.signal, redirect: 'manual' });
    await response.body?.cancel();
    return { healthy: response.ok, detail: String(response.status) };
  } catch (error) {
    if (timeout.aborted) return { healthy: false, detail: `timed out after ${timeoutMs} ms` };
    const cause = (error as { cause?: { code?: string } }).cause;
    const code = cause?.code;
    if (code === 'ECONNREFUSED') return { healthy: false, detail: 'connection refused' };
    return {
      healthy: false,
      detail: code ?? (error instanceof Error ? error.message : String(error)),
    };
  } finally {
    combined.dispose();
  }
}
