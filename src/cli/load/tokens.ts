import { setTimeout as sleep } from 'node:timers/promises';
import { TargetRefusedError, TargetUnreachableError } from './errors.js';
import { type Answer, parseJson, retryAfterMs, type Target } from './http.js';
import type { LoadStats } from './stats.js';

/** How long a login waits out the gateway's 429s before giving up. */
const maxLoginWaitMs = 90_000;

/**
 * One token per demo user. The storefront limits logins per client address (5/min), so each
 * user logs in once and keeps its token; a 401 later logs that user in again.
 */
export class UserTokens {
  readonly #tokens = new Map<string, string>();
  readonly #renewing = new Set<string>();

  constructor(
    readonly target: Target,
    readonly stats: LoadStats,
    readonly users: string[],
    readonly notice: (message: string) => void,
  ) {}

  /** Logs every user in, one after another; throws when the target cannot be driven. */
  async logInAll(): Promise<void> {
    for (const user of this.users) this.#tokens.set(user, await this.#logIn(user));
  }

  token(user: string): string | undefined {
    return this.#tokens.get(user);
  }

  /** Users holding a token now. */
  active(): string[] {
    return this.users.filter((user) => this.#tokens.has(user));
  }

  /** After a 401: drops the token and logs the user in again, in the background. */
  renew(user: string): void {
    if (this.#renewing.has(user)) return;
    this.#renewing.add(user);
    this.#tokens.delete(user);
    this.#logIn(user)
      .then((token) => this.#tokens.set(user, token))
      .catch((error: unknown) => this.notice(`cannot log ${user} in again: ${String(error)}`))
      .finally(() => this.#renewing.delete(user));
  }

  async #logIn(user: string): Promise<string> {
    const deadline = Date.now() + maxLoginWaitMs;
    for (;;) {
      const answer = await this.#post(user);
      if (answer.status === 200) {
        const token = parseJson<{ token?: unknown }>(answer)?.token;
        if (typeof token === 'string') return token;
        throw new TargetRefusedError(`POST /login as ${user} answered 200 without a token`);
      }
      const wait = retryAfterMs(answer);
      if (answer.status !== 429 || wait === undefined || Date.now() + wait > deadline) {
        const title = parseJson<{ title?: unknown }>(answer)?.title;
        throw new TargetRefusedError(
          `POST /login as ${user} answered ${answer.status}${typeof title === 'string' ? `: ${title}` : ''}`,
        );
      }
      this.notice(`logins are rate limited: waiting ${Math.ceil(wait / 1000)} s (Retry-After)`);
      await sleep(wait);
    }
  }

  async #post(user: string): Promise<Answer> {
    const sent = performance.now();
    try {
      const answer = await this.target.send('POST', '/login', {
        json: { username: user, password: `${user}-password` },
      });
      this.stats.answered('login', answer.status, performance.now() - sent);
      return answer;
    } catch (error) {
      const message = (error as Error).message;
      this.stats.failed('login', message, performance.now() - sent);
      throw new TargetUnreachableError(`cannot log ${user} in: ${message}`, { cause: error });
    }
  }
}
