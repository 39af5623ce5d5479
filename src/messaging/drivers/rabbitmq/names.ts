import { createHash } from 'node:crypto';
import type { Source, Target } from '../../driver.js';

const maxName = 255;

/** Broker names for one prefix; "/" never appears in user names, so it separates safely. */
export class Names {
  readonly #prefix: string;

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** The quorum queue a source is consumed from. */
  queue(source: Source): string {
    return source.kind === 'queue'
      ? this.#fit(`${this.#prefix}/q/${source.queue}`)
      : this.#fit(`${this.#prefix}/g/${source.topic}/${source.group}`);
  }

  deadLetters(source: Source): string {
    return this.#fit(`${this.queue(source)}/dlq`);
  }

  /** The fan-out exchange of a topic. */
  exchange(topic: string): string {
    return this.#fit(`${this.#prefix}/t/${topic}`);
  }

  /** Where a delayed message for `target` waits `ms` before dead-lettering back. */
  delay(target: Target | Source, ms: number): string {
    const base = target.kind === 'topic' ? this.exchange(target.topic) : this.queue(target);
    return this.#fit(`${base}/delay/${ms}`);
  }

  #fit(name: string): string {
    if (Buffer.byteLength(name) <= maxName) return name;
    const digest = createHash('sha256').update(name).digest('hex').slice(0, 32);
    return `${name.slice(0, 200)}~${digest}`;
  }
}
