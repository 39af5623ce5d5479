import type { Source, Target } from '../../driver.js';

/**
 * Stream, consumer and subject names. Sluice names allow `.`, which NATS reads as a token
 * separator, and nothing else NATS forbids; `~` (not allowed in Sluice names) stands in for
 * it, so the mapping is one-to-one; `@` joins a topic and a group.
 */
export const encode = (name: string): string => name.replaceAll('.', '~');

export interface QueueNames {
  readonly stream: string;
  readonly subject: string;
  readonly consumer: string;
  readonly wake: string;
}

export interface TopicNames {
  readonly stream: string;
  /** Events for every group. */
  readonly subject: string;
  /** Replayed dead letters, meant for the one group named in their meta header. */
  readonly replaySubject: string;
  readonly wake: string;
}

export class Names {
  readonly #p: string;

  constructor(prefix: string) {
    this.#p = prefix;
  }

  get prefix(): string {
    return this.#p;
  }

  queue(queue: string): QueueNames {
    const e = encode(queue);
    return {
      stream: `${this.#p}_Q_${e}`,
      subject: `${this.#p}.q.${e}`,
      consumer: 'work',
      wake: `${this.#p}.w.q.${e}`,
    };
  }

  topic(topic: string): TopicNames {
    const e = encode(topic);
    const base = `${this.#p}.t.${e}`;
    return {
      stream: `${this.#p}_T_${e}`,
      subject: `${base}.e`,
      replaySubject: `${base}.r`,
      wake: `${this.#p}.w.t.${e}`,
    };
  }

  topicSubjects(topic: string): string {
    return `${this.#p}.t.${encode(topic)}.>`;
  }

  group(group: string): string {
    return `g_${encode(group)}`;
  }

  /** The stream and subject a consumer of `source` pulls from. */
  source(source: Source): { stream: string; consumer: string; wake: string } {
    if (source.kind === 'queue') return this.queue(source.queue);
    const t = this.topic(source.topic);
    return { stream: t.stream, consumer: this.group(source.group), wake: t.wake };
  }

  target(target: Target): { stream: string; subject: string; wake: string } {
    return target.kind === 'queue' ? this.queue(target.queue) : this.topic(target.topic);
  }

  deadLetters(source: Source): { stream: string; subject: string } {
    const suffix =
      source.kind === 'queue'
        ? `Q_${encode(source.queue)}`
        : `T_${encode(source.topic)}@${encode(source.group)}`;
    return { stream: `${this.#p}_X${suffix}`, subject: `${this.#p}.x.${suffix}` };
  }

  log(stream: string): { stream: string; subject: string; wake: string } {
    const e = encode(stream);
    return {
      stream: `${this.#p}_L_${e}`,
      subject: `${this.#p}.l.${e}`,
      wake: `${this.#p}.w.l.${e}`,
    };
  }

  get offsets(): { stream: string; subjects: string } {
    return { stream: `${this.#p}_OFFSETS`, subjects: `${this.#p}.o.>` };
  }

  offset(stream: string, group: string): string {
    return `${this.#p}.o.${encode(stream)}.${encode(group)}`;
  }
}
