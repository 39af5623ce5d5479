import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContextOptions, Server as TlsServer } from 'node:tls';
import type { Registry } from 'prom-client';
import { formatPath } from '../core/config/index.js';
import { Countdown } from '../core/deadline.js';
import { ConfigError, InvalidArgumentError } from '../core/errors.js';
import { sleep } from '../core/signals.js';
import { within } from '../core/time-limit.js';
import { parseDuration } from '../core/units.js';
import { bridgeMetrics, createLogger, type Logger } from '../observe/index.js';
import { type AdminServer, startAdmin } from './admin.js';
import { compile, type FilterFactory, type GatewayRuntime } from './compile.js';
import type { FilterName, GatewayConfig } from './config.js';
import { builtinFilters } from './filters/builtin.js';
import { type Exchange, type Failure, type HandleHooks, handle } from './handle.js';
import { parseListen } from './listen.js';
import { createListener, type Listener } from './listener.js';
import { rejectConnection } from './respond.js';
import { exchangeRecorder } from './telemetry.js';
import { loadTls, tlsFiles } from './tls.js';
import { trustedProxyWarnings } from './trust-warnings.js';
import { handleUpgrade, servePlain, tunnelAllowed } from './upgrade.js';
import { watchFiles } from './watch.js';

export interface GatewayOptions {
  /** Filter factories by name, replacing the built-in ones of the same name. */
  filters?: Partial<Record<FilterName, FilterFactory>>;
  /** Where relative file names in the configuration resolve from; default the cwd. */
  baseDir?: string;
  /**
   * Processes sharing this listener through node:cluster. Local (in-memory) rate limits
   * give each worker its share of the allowance; a Redis store keeps them exact.
   */
  workers?: number;
  /** Where `reload()` with no argument gets the next configuration (the config file). */
  load?: () => Promise<GatewayConfig>;
  /** Called once per response sent, after metrics and the access log. */
  onExchange?: (exchange: Exchange) => void;
  /**
   * Watch the certificate, key and CA files and serve new connections with them once they
   * change (default on); files that do not load are logged and the ones in use kept.
   */
  watchCertificates?: boolean;
  /** Access log and certificate reload messages; a pino logger to stdout by default. */
  logger?: Logger;
  /** Prometheus registry for the gateway's metrics; the process-wide one by default. */
  registry?: Registry;
}

/**
 * A running gateway: one listener, one configuration at a time, swapped atomically, and
 * the admin API when the configuration has an `admin` section.
 */
export class Gateway {
  #runtime: GatewayRuntime;
  readonly #listener: Listener;
  readonly #server: Listener['server'];
  readonly #options: GatewayOptions;
  readonly #hooks: HandleHooks;
  #admin: AdminServer | null = null;
  #unbridge: (() => void) | null = null;
  #logger: Logger | undefined;
  // Reloads and certificate swaps, one at a time, each on the configuration the last left.
  #reloading: Promise<unknown> = Promise.resolve();
  #watchedFiles = '';
  #unwatch: () => void = () => {};
  #draining = false;
  #inflight = 0;
  #idle: (() => void) | null = null;
  readonly #upgraded = new Set<Duplex>();

  private constructor(
    runtime: GatewayRuntime,
    options: GatewayOptions,
    tls: SecureContextOptions | null,
  ) {
    this.#runtime = runtime;
    this.#options = options;
    const config = runtime.config;
    this.#listener = createListener(
      {
        limits: config.limits ?? {},
        tls,
        http2: config.http2 === true,
        clientCert: clientCertMode(config),
      },
      (req, res) => this.#onRequest(req, res),
    );
    this.#server = this.#listener.server;
    this.#server.on('clientError', rejectConnection);
    this.#server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (this.#draining) {
        socket.destroy();
        return;
      }
      this.#upgraded.add(socket);
      socket.once('close', () => this.#upgraded.delete(socket));
      if (tunnelAllowed(this.#runtime, req))
        void handleUpgrade(this.#runtime, req, socket, head, this.#hooks.failed);
      else servePlain(req, socket, (r, res) => this.#onRequest(r, res));
    });
    const metrics = config.metrics !== false;
    if (metrics) this.#unbridge = bridgeMetrics(options.registry);
    const record =
      metrics || config.accessLog
        ? exchangeRecorder({
            metrics,
            ...(options.registry ? { registry: options.registry } : {}),
            logger: config.accessLog ? this.#log() : null,
          })
        : null;
    const extra = options.onExchange;
    const done =
      record && extra
        ? (e: Exchange) => {
            record(e);
            extra(e);
          }
        : (record ?? extra);
    this.#hooks = {
      ...(done ? { done } : {}),
      failed: (failure, error) => this.#logFailure(failure, error),
      closed: () => {
        this.#inflight--;
        if (this.#inflight === 0 && this.#idle) this.#idle();
        if (this.#draining) this.#listener.closeIdle();
      },
      draining: () => this.#draining,
    };
  }

  static async start(config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> {
    if (config.http2 && !config.tls) {
      const message = 'HTTP/2 is served over TLS only: set tls too';
      throw new ConfigError([
        { file: '<config>', line: 0, column: 0, path: 'gateway.http2', message },
      ]);
    }
    const tls = config.tls ? await loadTls(config.tls, options.baseDir ?? process.cwd()) : null;
    const runtime = compile(config, { ...builtinFilters(), ...options.filters }, options);
    const gateway = new Gateway(runtime, options, tls);
    const { host, port } = parseListen(config.listen, 8080);
    try {
      await new Promise<void>((resolve, reject) => {
        gateway.#server.once('error', reject);
        gateway.#server.listen(port, host, () => {
          gateway.#server.off('error', reject);
          resolve();
        });
      });
      if (config.admin) {
        gateway.#admin = await startAdmin({
          listen: config.admin.listen,
          token: config.admin.token,
          gateway,
          reload: () => gateway.reload(),
          ...(options.registry ? { registry: options.registry } : {}),
        });
      }
    } catch (error) {
      gateway.#server.close();
      gateway.#unbridge?.();
      await runtime.close();
      throw error;
    }
    gateway.#watchCertificates();
    gateway.#warnAbout(config);
    return gateway;
  }

  get address(): AddressInfo {
    return this.#server.address() as AddressInfo;
  }

  get url(): string {
    const { address, port } = this.address;
    const scheme = this.#runtime.config.tls ? 'https' : 'http';
    return `${scheme}://${address.includes(':') ? `[${address}]` : address}:${port}`;
  }

  /** The admin API's URL, when the configuration has an `admin` section. */
  get adminUrl(): string | undefined {
    return this.#admin?.url;
  }

  get runtime(): GatewayRuntime {
    return this.#runtime;
  }

  get inflight(): number {
    return this.#inflight;
  }

  /**
   * Compiles `config` (or the one `options.load` gives) and swaps it in. In-flight requests
   * finish on the configuration they started with; if loading or compiling throws, the
   * running configuration stays as it was. Listener settings (`listen`, `limits`, `admin`)
   * take effect on restart only, except the certificate files, read again here (and on
   * every change to them, see `watchCertificates`) for new connections. Turning `tls`,
   * `http2` or `tls.clientCert` on or off, or changing its mode, is refused.
   */
  async reload(config?: GatewayConfig): Promise<void> {
    let next = config;
    if (next === undefined) {
      if (!this.#options.load) throw new Error('no configuration source to reload from');
      next = await this.#options.load();
    }
    const settled = next;
    await this.#serially(async () => {
      const tls = await this.#reloadTls(settled);
      const filters = { ...builtinFilters(), ...this.#options.filters };
      const runtime = compile(settled, filters, this.#options);
      const previous = this.#runtime;
      this.#runtime = runtime;
      if (tls) (this.#server as TlsServer).setSecureContext(tls);
      this.#watchCertificates();
      void this.#retire(previous);
      this.#warnAbout(settled);
    });
  }

  /** Stops accepting, lets in-flight requests finish (up to the drain timeout), then closes. */
  async close(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    this.#unwatch();
    const drainMs = parseDuration(this.#runtime.config.limits?.drainTimeout ?? '10s');
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#listener.closeIdle();
    const idle = new Promise<void>((resolve) => {
      if (this.#inflight === 0) resolve();
      else this.#idle = resolve;
    });
    await within(idle, drainMs);
    this.#listener.closeAll();
    for (const socket of this.#upgraded) socket.destroy();
    await closed;
    await this.#admin?.close();
    this.#unbridge?.();
    await this.#runtime.close();
  }

  async #reloadTls(next: GatewayConfig): Promise<SecureContextOptions | null> {
    const serving = this.#runtime.config;
    if (
      Boolean(next.tls) !== Boolean(serving.tls) ||
      Boolean(next.http2) !== Boolean(serving.http2)
    ) {
      throw new InvalidArgumentError('turning tls or http2 on or off takes a restart');
    }
    if (clientCertMode(next) !== clientCertMode(serving)) {
      throw new InvalidArgumentError(
        'turning tls.clientCert on, off or to another mode takes a restart',
      );
    }
    return next.tls ? loadTls(next.tls, this.#baseDir) : null;
  }

  /**
   * An upstream's fault at warn (the gateway coped), the gateway's own at error, a client's
   * request that could not be sent upstream at info, with undici's reason.
   */
  #logFailure(failure: Failure, error: unknown): void {
    const cause = failure.status < 500 ? (error as { cause?: unknown }).cause : undefined;
    const reason = cause ?? error;
    const err = reason instanceof Error ? reason.message : String(reason);
    const code = (reason as { code?: unknown } | null)?.code;
    const fields = { ...failure, err, ...(code ? { code } : {}) };
    if (failure.status < 500 && failure.status > 0) {
      this.#log().info(fields, 'client error: the request cannot be sent upstream as it is');
    } else if (failure.status === 500) this.#log().error(fields, 'request failed in the gateway');
    else if (failure.status === 0) this.#log().warn(fields, 'response cut: its body failed');
    else this.#log().warn(fields, 'upstream failed');
  }

  #warnAbout(config: GatewayConfig): void {
    for (const warning of trustedProxyWarnings(config)) {
      this.#log().warn({ key: `gateway.${formatPath(warning.segments)}` }, warning.message);
    }
  }

  get #baseDir(): string {
    return this.#options.baseDir ?? process.cwd();
  }

  #log(): Logger {
    this.#logger ??= this.#options.logger ?? createLogger({ name: 'sluice-gateway' });
    return this.#logger;
  }

  #serially(work: () => Promise<void>): Promise<void> {
    const run = this.#reloading.then(work);
    this.#reloading = run.catch(() => {});
    return run;
  }

  /** Watches the running configuration's PEM files, unless they are watched already. */
  #watchCertificates(): void {
    const tls = this.#runtime.config.tls;
    if (this.#options.watchCertificates === false || this.#draining) return;
    const files = tls ? [...tlsFiles(tls, this.#baseDir).values()] : [];
    const key = files.join('\n');
    if (key === this.#watchedFiles) return;
    this.#unwatch();
    this.#watchedFiles = key;
    this.#unwatch =
      files.length === 0
        ? () => {}
        : watchFiles(files, () => {
            void this.#serially(() => this.#certificatesChanged());
          });
  }

  /**
   * New certificate files for new connections; open connections keep the context they
   * were made with. Half-written files (a new certificate beside the old key) fail to load
   * and leave the old context in place: the next change event tries again.
   */
  async #certificatesChanged(): Promise<void> {
    const tls = this.#runtime.config.tls;
    if (!tls || this.#draining) return;
    try {
      const options = await loadTls(tls, this.#baseDir);
      if (this.#draining) return;
      (this.#server as TlsServer).setSecureContext(options);
      this.#log().info(
        { cert: tls.cert },
        'certificate files changed; serving them to new connections',
      );
    } catch (error) {
      this.#log().error(
        { err: error instanceof Error ? error.message : String(error) },
        'certificate files changed but do not load; kept the ones in use',
      );
    }
  }

  /** Closes a replaced configuration once the requests that started on it are done. */
  async #retire(runtime: GatewayRuntime): Promise<void> {
    const drain = Countdown.after(parseDuration(runtime.config.limits?.drainTimeout ?? '10s'));
    while (runtime.active > 0 && !drain.expired) await sleep(50, { unref: true });
    await runtime.close();
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.#inflight++;
    void handle(this.#runtime, req, res, this.#hooks);
  }
}

function clientCertMode(config: GatewayConfig): 'require' | 'request' | undefined {
  const clientCert = config.tls?.clientCert;
  return clientCert === undefined ? undefined : (clientCert.mode ?? 'require');
}
