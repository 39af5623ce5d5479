import { redactUrl } from '../unreachable.js';
import { ManagementApiError } from './errors.js';

/** The queue-wide figures of one queue and of its delay queues. */
export interface ManagementFigures {
  /** Delivered to some consumer and not yet acknowledged, whichever process holds them. */
  readonly unacknowledged: number;
  /** Every message in the queue's delay queues, whichever process put them there. */
  readonly delayed: number;
}

interface QueueRow {
  readonly name?: unknown;
  readonly messages?: unknown;
  readonly messages_unacknowledged?: unknown;
}

/**
 * Reads queue figures from the RabbitMQ management plugin's HTTP API, which counts what
 * AMQP 0-9-1 does not report: unacknowledged messages and other processes' delay queues.
 * The plugin samples queues every `collect_statistics_interval` (5 s by default), so its
 * figures trail the broker by up to that long.
 */
export class ManagementApi {
  readonly #base: URL;
  readonly #shown: string;
  readonly #authorization: string;
  readonly #vhost: string;
  readonly #timeoutMs: number;

  /** Credentials come from `url`, else from the AMQP URL, else RabbitMQ's guest:guest. */
  constructor(url: string, amqpUrl: string, timeoutMs: number) {
    const base = new URL(url.endsWith('/') ? url : `${url}/`);
    const amqp = URL.canParse(amqpUrl) ? new URL(amqpUrl) : new URL('amqp://localhost');
    const own = base.username !== '';
    const user = decodeURIComponent(own ? base.username : amqp.username || 'guest');
    const password = decodeURIComponent(own ? base.password : amqp.password || 'guest');
    this.#shown = redactUrl(base.toString());
    // fetch refuses a URL that carries credentials: they travel in the header instead.
    base.username = '';
    base.password = '';
    this.#base = base;
    this.#authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    // amqp://host/vhost; an empty path is the default vhost "/".
    this.#vhost = amqp.pathname.length > 1 ? decodeURIComponent(amqp.pathname.slice(1)) : '/';
    this.#timeoutMs = timeoutMs;
  }

  /**
   * One listing matches the queue and its delay queues (`<queue>/delay/<ms>`, see Names),
   * so both figures come from the same sample.
   */
  async figures(queue: string): Promise<ManagementFigures> {
    const pattern = `^${escapeRegex(queue)}(/delay/[0-9]+)?$`;
    const query = new URLSearchParams({
      name: pattern,
      use_regex: 'true',
      page: '1',
      // The delay grid (delay.ts) has fewer than 100 buckets.
      page_size: '500',
      columns: 'name,messages,messages_unacknowledged',
    });
    const rows = await this.#get(`api/queues/${encodeURIComponent(this.#vhost)}?${query}`);
    const items = (rows as { items?: unknown }).items;
    if (!Array.isArray(items)) throw this.#error('answered without a list of queues');
    let unacknowledged = 0;
    let delayed = 0;
    let found = false;
    for (const row of items as QueueRow[]) {
      // A queue not sampled yet has no figures: it holds nothing the API knows of.
      if (row.name === queue) {
        found = true;
        unacknowledged = count(row.messages_unacknowledged);
      } else delayed += count(row.messages);
    }
    if (!found) throw this.#error(`does not list queue ${queue} in vhost ${this.#vhost}`);
    return { unacknowledged, delayed };
  }

  async #get(path: string): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.#base), {
        headers: { authorization: this.#authorization, accept: 'application/json' },
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'manual',
      });
    } catch (error) {
      const reason =
        error instanceof Error && error.name === 'TimeoutError'
          ? `no answer within ${this.#timeoutMs} ms`
          : reasonOf(error);
      throw this.#error(`cannot be reached: ${reason}`, undefined, error);
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      const why =
        response.status === 401
          ? 'refused the credentials'
          : `answered ${response.status} ${response.statusText}`;
      throw this.#error(why, response.status);
    }
    try {
      return await response.json();
    } catch (error) {
      throw this.#error(`answered with invalid JSON: ${reasonOf(error)}`, undefined, error);
    }
  }

  #error(what: string, status?: number, cause?: unknown): ManagementApiError {
    return new ManagementApiError(
      `the RabbitMQ management API at ${this.#shown} ${what}`,
      status,
      cause === undefined ? undefined : { cause },
    );
  }
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

/** fetch's own message is "fetch failed": the socket's reason is on its cause. */
function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  return cause instanceof Error && cause.message !== ''
    ? `${error.message} (${cause.message})`
    : error.message;
}
