import type { Redis } from 'ioredis';
import { loadOptional } from '../../core/optional.js';
import type { MeshEndpoint } from '../contract.js';
import {
  byInstance,
  ChangeListeners,
  decodeEndpoint,
  encodeEndpoint,
  type RegistryStore,
} from './store.js';

// KEYS: the expiry zset. ARGV: member (service NUL instance), new expiry, now.
const touchScript = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) <= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1`;

// KEYS: expiry zset. ARGV: now, key prefix, channel. Deletes expired instances atomically.
const sweepScript = `
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local services = {}
for _, member in ipairs(gone) do
  local sep = string.find(member, '\\0', 1, true)
  local service = string.sub(member, 1, sep - 1)
  redis.call('HDEL', ARGV[2] .. 'ep:' .. service, string.sub(member, sep + 1))
  redis.call('ZREM', KEYS[1], member)
  services[service] = true
end
for service in pairs(services) do redis.call('PUBLISH', ARGV[3], service) end
return #gone`;

/**
 * The registry in Redis, for control planes on several hosts: a hash of instances per
 * service, one sorted set of expiries (so a heartbeat is one ZADD and a sweep one script),
 * and a pub/sub channel naming the service that changed.
 */
export class RedisRegistryStore implements RegistryStore {
  readonly #command: Redis;
  readonly #subscriber: Redis;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #listeners = new ChangeListeners();

  private constructor(command: Redis, subscriber: Redis, prefix: string) {
    this.#command = command;
    this.#subscriber = subscriber;
    this.#prefix = `${prefix}:mesh:`;
    this.#channel = `${prefix}:mesh:changes`;
  }

  static async open(url: string, prefix = 'sluice'): Promise<RedisRegistryStore> {
    const { Redis } = await loadOptional(
      'ioredis',
      'a Redis mesh registry',
      () => import('ioredis'),
    );
    const command = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    const subscriber = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: null });
    // Failures surface through the calls that fail; an unhandled 'error' would end the process.
    command.on('error', () => {});
    subscriber.on('error', () => {});
    const store = new RedisRegistryStore(command, subscriber, prefix);
    try {
      await Promise.all([command.connect(), subscriber.connect()]);
      await subscriber.subscribe(store.#channel);
    } catch (error) {
      command.disconnect();
      subscriber.disconnect();
      throw error;
    }
    subscriber.on('message', (_channel: string, service: string) => store.#listeners.emit(service));
    // Messages published while it was away are lost: every watcher reads again.
    let ready = false;
    subscriber.on('ready', () => {
      if (ready) store.#listeners.emit('*');
      ready = true;
    });
    return store;
  }

  #member(service: string, instance: string): string {
    return `${service}\0${instance}`;
  }

  async put(endpoint: MeshEndpoint, expiresAt: number): Promise<void> {
    const { service, instance } = endpoint;
    await this.#command
      .multi()
      .hset(`${this.#prefix}ep:${service}`, instance, encodeEndpoint(endpoint))
      .zadd(`${this.#prefix}exp`, expiresAt, this.#member(service, instance))
      .publish(this.#channel, service)
      .exec()
      .then(settled);
  }

  async touch(service: string, instance: string, expiresAt: number, now: number) {
    const member = this.#member(service, instance);
    return (
      (await this.#command.eval(touchScript, 1, `${this.#prefix}exp`, member, expiresAt, now)) === 1
    );
  }

  async remove(service: string, instance: string): Promise<void> {
    await this.#command
      .multi()
      .hdel(`${this.#prefix}ep:${service}`, instance)
      .zrem(`${this.#prefix}exp`, this.#member(service, instance))
      .publish(this.#channel, service)
      .exec()
      .then(settled);
  }

  async list(service: string, now: number): Promise<MeshEndpoint[]> {
    const entries = await this.#command.hgetall(`${this.#prefix}ep:${service}`);
    const instances = Object.keys(entries);
    if (instances.length === 0) return [];
    const members = instances.map((i) => this.#member(service, i));
    const scores = await this.#command.zmscore(`${this.#prefix}exp`, ...members);
    return instances
      .filter((_, i) => scores[i] !== null && Number(scores[i]) > now)
      .map((i) => decodeEndpoint(entries[i]!))
      .sort(byInstance);
  }

  async sweep(now: number): Promise<void> {
    await this.#command.eval(
      sweepScript,
      1,
      `${this.#prefix}exp`,
      now,
      this.#prefix,
      this.#channel,
    );
  }

  async putPolicy(service: string, policy: string | undefined): Promise<void> {
    const key = `${this.#prefix}policy:${service}`;
    const multi = this.#command.multi();
    if (policy === undefined) multi.del(key);
    else multi.set(key, policy);
    settled(await multi.publish(this.#channel, service).exec());
  }

  async getPolicy(service: string): Promise<string | undefined> {
    return (await this.#command.get(`${this.#prefix}policy:${service}`)) ?? undefined;
  }

  onChange(listener: (service: string) => void): () => void {
    return this.#listeners.add(listener);
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    this.#subscriber.disconnect();
    await this.#command.quit().catch(() => this.#command.disconnect());
  }
}

/** A MULTI's outcome, throwing the first command's error (exec itself does not). */
function settled(results: [Error | null, unknown][] | null): void {
  const failed = results?.find(([error]) => error !== null);
  if (failed !== undefined) throw failed[0];
}
