import { anySignal, type Component, type StopOptions } from '../core/index.js';

/**
 * Services that depend on none of each other, as one lifecycle component: started together,
 * stopped together. When one fails to start, the others' starts are cut short and what did
 * start is stopped before the error is passed on: the lifecycle rolls back only what it saw
 * start, and this level did not.
 */
export class ServiceLevel implements Component {
  readonly name: string;
  readonly #members: readonly Component[];
  readonly #rollbackTimeout: number;

  constructor(
    members: readonly Component[],
    options: { rollbackTimeout?: number | undefined } = {},
  ) {
    this.#members = members;
    this.#rollbackTimeout = options.rollbackTimeout ?? 10_000;
    this.name = members.map((m) => m.name).join(', ');
  }

  async start(signal?: AbortSignal): Promise<void> {
    if (this.#members.length === 1) return this.#members[0]!.start(signal);
    const failing = new AbortController();
    const combined = anySignal(signal, failing.signal);
    let outcomes: PromiseSettledResult<void>[];
    try {
      outcomes = await Promise.allSettled(
        this.#members.map(async (member) => {
          try {
            await member.start(combined.signal);
          } catch (error) {
            failing.abort(error);
            throw error;
          }
        }),
      );
    } finally {
      combined.dispose();
    }
    const rejected = outcomes.find((o) => o.status === 'rejected');
    if (rejected === undefined) return;
    const started = this.#members.filter((_, i) => outcomes[i]!.status === 'fulfilled');
    const rollback = {
      drainTimeout: this.#rollbackTimeout,
      signal: AbortSignal.timeout(this.#rollbackTimeout),
    };
    await stopAll(started, rollback).catch(() => {});
    // The first failure, not the aborts it caused in the others.
    throw failing.signal.aborted ? failing.signal.reason : rejected.reason;
  }

  stop(options: StopOptions): Promise<void> {
    return stopAll(this.#members, options);
  }
}

async function stopAll(members: readonly Component[], options: StopOptions): Promise<void> {
  const outcomes = await Promise.allSettled(members.map((m) => m.stop(options)));
  const failed = outcomes.find((o) => o.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
