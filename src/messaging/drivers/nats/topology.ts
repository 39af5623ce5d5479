import type { JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import type { Source } from '../../driver.js';
import { apiCode, codes, isNotFound } from './errors.js';
import type { Names } from './names.js';
import type { ResolvedNatsOptions } from './options.js';

const nanos = (ms: number): number => Math.round(ms * 1_000_000);
type Config = Partial<StreamConfig> & { name: string };

/** Limits a producer sets on the stream behind a queue or topic. */
export interface ProducerLimits {
  readonly maxLength: number;
  readonly overflow: 'reject' | 'drop-oldest';
  readonly dedupeWindowMs: number;
}

/**
 * Creates streams and consumers on first use and remembers that it did. A consumer only
 * makes sure a stream exists; a producer also sets its limits, so the last producer's
 * options win (as they would for any shared JetStream stream).
 */
export class Topology {
  readonly #jsm: JetStreamManager;
  readonly #names: Names;
  readonly #options: ResolvedNatsOptions;
  readonly #ready = new Map<string, Promise<void>>();
  readonly #targets = new Map<string, Promise<void>>();
  readonly #consumers = new Map<string, Promise<number>>();

  constructor(jsm: JetStreamManager, names: Names, options: ResolvedNatsOptions) {
    this.#jsm = jsm;
    this.#names = names;
    this.#options = options;
  }

  /** The queue's or topic's stream, created if needed, with `limits` applied when given. */
  target(kind: 'queue' | 'topic', name: string, limits?: ProducerLimits): Promise<void> {
    // The hot path of every publish: one map lookup once the stream is configured.
    const quick = `${kind}:${name}:${limits?.maxLength}:${limits?.overflow}:${limits?.dedupeWindowMs}`;
    let ready = this.#targets.get(quick);
    if (ready === undefined) {
      ready = this.#target(kind, name, limits);
      this.#remember(this.#targets, quick, ready);
    }
    return ready;
  }

  async #target(kind: 'queue' | 'topic', name: string, limits?: ProducerLimits): Promise<void> {
    const base: Config =
      kind === 'queue'
        ? {
            name: this.#names.queue(name).stream,
            subjects: [this.#names.queue(name).subject],
            retention: 'workqueue',
          }
        : {
            name: this.#names.topic(name).stream,
            subjects: [this.#names.topicSubjects(name)],
            retention: 'interest',
          };
    if (limits === undefined) return this.#exists(base);
    const config: Config = {
      ...base,
      max_msgs: limits.maxLength,
      discard: limits.overflow === 'reject' ? 'new' : 'old',
      duplicate_window: nanos(Math.max(limits.dedupeWindowMs, 100)),
    };
    await this.#configure(config, JSON.stringify(config));
  }

  /**
   * The stream and durable consumer a source is claimed from; resolves to the consumer's
   * ack_wait in ms. A consumer that exists is used as it is: the process that made it chose
   * its ack_wait, and every process must renew leases against that one.
   */
  source(source: Source): Promise<number> {
    const { stream, consumer } = this.#names.source(source);
    const key = `${stream}/${consumer}`;
    let ready = this.#consumers.get(key);
    if (ready === undefined) {
      ready = (async () => {
        if (source.kind === 'queue') await this.target('queue', source.queue);
        else await this.target('topic', source.topic);
        const info = await this.#jsm.consumers
          .info(stream, consumer)
          .catch(async (error: unknown) => {
            if (!isNotFound(error)) throw error;
            return this.#jsm.consumers.add(stream, {
              durable_name: consumer,
              ack_policy: 'explicit',
              ack_wait: nanos(this.#options.ackWaitMs),
              max_ack_pending: this.#options.maxAckPending,
              max_deliver: -1,
              // A group receives what is published after it was created; a queue, everything.
              deliver_policy: source.kind === 'queue' ? 'all' : 'new',
            });
          });
        // The server default (30 s) when the creator left it unset.
        return Math.round((info.config.ack_wait ?? 30_000_000_000) / 1_000_000);
      })();
      this.#consumers.set(key, ready);
      ready.catch(() => {
        if (this.#consumers.get(key) === ready) this.#consumers.delete(key);
      });
    }
    return ready;
  }

  async deadLetters(source: Source): Promise<string> {
    const { stream, subject } = this.#names.deadLetters(source);
    await this.#exists({ name: stream, subjects: [subject], retention: 'limits' });
    return stream;
  }

  async log(
    name: string,
    limits: { max_msgs: number; max_bytes: number; max_age: number } | undefined,
  ) {
    const { stream, subject } = this.#names.log(name);
    const base: Config = { name: stream, subjects: [subject], retention: 'limits', discard: 'old' };
    if (limits === undefined) return this.#exists(base);
    const config = { ...base, ...limits };
    await this.#configure(config, JSON.stringify(config));
  }

  async offsets(): Promise<void> {
    const { stream, subjects } = this.#names.offsets;
    await this.#exists({
      name: stream,
      subjects: [subjects],
      max_msgs_per_subject: 1,
      allow_direct: true,
    });
  }

  /** Drops what is remembered about a stream, after finding it gone. */
  forget(stream: string): void {
    this.#targets.clear();
    for (const key of [...this.#consumers.keys()]) {
      if (key.startsWith(`${stream}/`)) this.#consumers.delete(key);
    }
    for (const key of [...this.#ready.keys()]) {
      if (key === stream || key.startsWith(`${stream}/`) || key.startsWith(`${stream}#`))
        this.#ready.delete(key);
    }
  }

  #exists(config: Config): Promise<void> {
    if (this.#ready.has(config.name)) return this.#ready.get(config.name)!;
    // #add takes a stream made meanwhile by another process (or call) as made.
    const ready = (async () => {
      if (!(await this.#found(config.name))) await this.#add(config);
    })();
    this.#remember(this.#ready, config.name, ready);
    return ready;
  }

  #configure(config: Config, signature: string): Promise<void> {
    const key = `${config.name}#${signature}`;
    if (this.#ready.has(key)) return this.#ready.get(key)!;
    const ready = this.#add(config).then(async (outcome) => {
      if (outcome === 'added') return;
      const { name, retention: _, storage: __, ...update } = config;
      await this.#jsm.streams.update(name, update);
    });
    for (const old of [...this.#ready.keys()]) {
      if (old.startsWith(`${config.name}#`)) this.#ready.delete(old);
    }
    this.#remember(this.#ready, key, ready);
    this.#remember(this.#ready, config.name, ready);
    return ready;
  }

  /** Adds the stream; 'exists' when a stream of that name was there or was made meanwhile. */
  async #add(config: Config): Promise<'added' | 'exists'> {
    try {
      await this.#jsm.streams.add({
        storage: this.#options.storage,
        num_replicas: this.#options.replicas,
        ...config,
      });
      return 'added';
    } catch (error) {
      const code = apiCode(error);
      if (code === codes.streamNameInUse) return 'exists';
      // nats-server checks a new stream's name and its subjects one after the other, so a
      // create racing ours can find our own stream as "another" whose subjects overlap.
      if (code === codes.subjectsOverlap && (await this.#found(config.name))) return 'exists';
      throw error;
    }
  }

  async #found(stream: string): Promise<boolean> {
    try {
      await this.#jsm.streams.info(stream);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** A failed attempt is not remembered, so the next call tries again. */
  #remember(map: Map<string, Promise<void>>, key: string, ready: Promise<void>): void {
    map.set(key, ready);
    ready.catch(() => {
      if (map.get(key) === ready) map.delete(key);
    });
  }
}
