import type { Source, Target } from '../../driver.js';

/**
 * Key names. Everything one script touches shares a hash tag (`{q:name}`, `{t:topic}`,
 * `{l:stream}`), so it lives in one hash slot, as Redis Cluster would need.
 */
export class Keys {
  constructor(readonly prefix: string) {}

  /** The base key of a queue, or of one group of a topic. */
  box(source: Source): string {
    return source.kind === 'queue'
      ? `${this.prefix}{q:${source.queue}}`
      : `${this.#topic(source.topic)}:g:${source.group}`;
  }

  /** The boxes' base (a queue's own; a topic's group prefix) and where ids are remembered. */
  target(target: Target): { base: string; groups: string; dedupe: string; route: string } {
    if (target.kind === 'queue') {
      const base = this.box(target);
      return { base, groups: '', dedupe: `${base}:dd:`, route: `${base}:s` };
    }
    const topic = this.#topic(target.topic);
    return {
      base: `${topic}:g:`,
      groups: this.groups(target.topic),
      dedupe: `${topic}:dd:`,
      route: `${topic}:groups`,
    };
  }

  groups(topic: string): string {
    return `${this.#topic(topic)}:groups`;
  }

  log(stream: string): string {
    return `${this.prefix}{l:${stream}}`;
  }

  #topic(topic: string): string {
    return `${this.prefix}{t:${topic}}`;
  }
}
