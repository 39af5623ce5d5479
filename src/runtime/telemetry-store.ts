import { resolve } from 'node:path';
import type { Registry } from 'prom-client';
import { type Component, parseDuration } from '../core/index.js';
import { metricsRegistry } from '../observe/index.js';
import {
  type LogInput,
  logInputOf,
  otlpForwarder,
  otlpHandler,
  parsePrometheusText,
  type ScrapeTarget,
  scrapeOnce,
  TelemetryStore,
} from '../observe/store/index.js';
import type { TelemetryStoreConfig } from './config/index.js';
import { HttpListener } from './http-listener.js';

export interface TelemetryStoreComponentOptions {
  config: TelemetryStoreConfig;
  /** The config file's folder: a relative `path` starts there. */
  cwd: string;
  host: string;
  /** The service instances to scrape, asked before each round. */
  targets: () => ScrapeTarget[];
  /** The supervisor's own registry, read in process as service `sluice`. */
  registry?: Registry | undefined;
}

const PRUNE_INTERVAL_MS = 30_000;

/**
 * The supervisor's telemetry store: an OTLP/HTTP receiver on loopback for every process it
 * runs, a scraper of their `/metrics` and its own registry, and the SQLite store they fill,
 * pruned to its caps on a timer. Started first and stopped last, so that it sees the
 * whole run.
 */
export class TelemetryStoreComponent implements Component {
  readonly name = 'telemetry-store';
  readonly #o: TelemetryStoreComponentOptions;
  #store: TelemetryStore | undefined;
  #listener: HttpListener | undefined;
  #timers: NodeJS.Timeout[] = [];
  #scraping: Promise<void> | undefined;
  #pendingLogs: LogInput[] = [];

  constructor(options: TelemetryStoreComponentOptions) {
    this.#o = options;
  }

  /** Where processes send OTLP (`http://127.0.0.1:port`), once started. */
  get url(): string | undefined {
    return this.#listener?.origin;
  }

  /** The store, for the dashboard; undefined until started. */
  get store(): TelemetryStore | undefined {
    return this.#store;
  }

  async start(): Promise<void> {
    const { config } = this.#o;
    const maxAge = config.maxAge === undefined ? undefined : parseDuration(config.maxAge);
    const store = new TelemetryStore({
      path: resolve(this.#o.cwd, config.path ?? 'data/telemetry.db'),
      caps: {
        ...(config.maxSpans === undefined ? {} : { maxSpans: config.maxSpans }),
        ...(config.maxLogs === undefined ? {} : { maxLogs: config.maxLogs }),
        ...(config.maxSamples === undefined ? {} : { maxSamples: config.maxSamples }),
        ...(maxAge === undefined ? {} : { maxAgeMs: maxAge }),
      },
      registry: this.#o.registry,
    });
    this.#store = store;
    const forward =
      config.forward === undefined
        ? undefined
        : otlpForwarder({ url: config.forward, registry: this.#o.registry });
    const listener = new HttpListener({
      name: 'telemetry-receiver',
      host: this.#o.host,
      port: config.port ?? 0,
      handler: otlpHandler({ store, ...(forward === undefined ? {} : { forward }) }),
    });
    try {
      await listener.start();
    } catch (error) {
      store.close();
      this.#store = undefined;
      throw error;
    }
    this.#listener = listener;
    store.prune();
    const every = (ms: number, work: () => void): void => {
      const timer = setInterval(work, ms);
      timer.unref();
      this.#timers.push(timer);
    };
    every(PRUNE_INTERVAL_MS, () => store.prune());
    every(parseDuration(config.scrapeInterval ?? '10s'), () => void this.scrape());
  }

  /** Keeps a line of the merged log; lines are written in batches, a tick later. */
  addLog(record: Record<string, unknown>): void {
    if (this.#store === undefined) return;
    if (this.#pendingLogs.length === 0) setImmediate(() => this.#flushLogs());
    this.#pendingLogs.push(logInputOf(record));
  }

  #flushLogs(): void {
    const logs = this.#pendingLogs;
    this.#pendingLogs = [];
    this.#store?.addLogs(logs);
  }

  /** One scrape round now: every instance, and the supervisor's own registry. */
  scrape(): Promise<void> {
    const store = this.#store;
    if (store === undefined) return Promise.resolve();
    this.#scraping ??= (async () => {
      const now = Date.now();
      const own = await (this.#o.registry ?? metricsRegistry()).metrics();
      if (this.#store !== store) return;
      store.addSamples(parsePrometheusText(own, now, { service: 'sluice' }));
      await scrapeOnce({ store, targets: this.#o.targets }, now);
    })()
      .catch(() => {})
      .finally(() => {
        this.#scraping = undefined;
      });
    return this.#scraping;
  }

  async stop(): Promise<void> {
    this.#flushLogs();
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    await this.#listener?.stop();
    await this.#scraping;
    this.#listener = undefined;
    this.#store?.close();
    this.#store = undefined;
  }
}
