import { Pool } from 'undici';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface SendOptions {
  headers?: Record<string, string>;
  /** Sent as JSON. */
  json?: unknown;
  /** Gives up early (a deadline of the caller's), beside the per-request timeout. */
  signal?: AbortSignal;
}

/** The target, through one keep-alive connection pool. */
export class Target {
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #timeoutMs: number;

  constructor(url: URL, options: { connections: number; timeoutMs: number }) {
    this.#pool = new Pool(url.origin, { connections: options.connections, pipelining: 1 });
    this.#basePath = url.pathname.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs;
  }

  /** Rejects with an Error whose message names what went wrong (`timeout`, `ECONNREFUSED`). */
  async send(method: string, path: string, options: SendOptions = {}): Promise<Answer> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal =
      options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
    const headers = { ...options.headers };
    if (options.json !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await this.#pool.request({
        method: method as 'GET',
        path: this.#basePath + path,
        headers,
        body: options.json === undefined ? null : JSON.stringify(options.json),
        signal,
      });
      return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
    } catch (error) {
      if (timeout.aborted) throw new Error('timeout', { cause: error });
      if (signal.aborted) throw new Error('gave up', { cause: error });
      const code = (error as { code?: unknown }).code;
      throw new Error(typeof code === 'string' ? code : String(error), { cause: error });
    }
  }

  close(): Promise<void> {
    return this.#pool.destroy();
  }
}

/** `Retry-After` in ms (seconds or an HTTP date), or undefined when absent or unreadable. */
export function retryAfterMs(answer: Answer): number | undefined {
  const value = answer.headers['retry-after'];
  if (typeof value !== 'string') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** The body as JSON, or undefined when it is not JSON. */
export function parseJson<T>(answer: Answer): T | undefined {
  try {
    return JSON.parse(answer.body) as T;
  } catch {
    return undefined;
  }
}
