import { TargetRefusedError, TargetUnreachableError } from './load/errors.js';
import { parseJson, Target } from './load/http.js';
import { parseLoadArgs } from './load/options.js';
import { showProgress } from './load/progress.js';
import { formatSummary, type LoadTiming, progressLine, summarize } from './load/report.js';
import { sendArrivals } from './load/schedule.js';
import { settleOrders } from './load/settle.js';
import { LoadStats } from './load/stats.js';
import { UserTokens } from './load/tokens.js';
import { ShopperTraffic } from './load/traffic.js';

/**
 * `sluice load`: logs the demo users in, then sends storefront traffic at a fixed arrival
 * rate with a live progress line on stderr, waits for the orders it placed to settle and
 * prints a summary (JSON with `--json`). Exit 0 when it ran, 1 when the target cannot be
 * driven, 2 on bad usage.
 */
export async function runLoad(args: string[]): Promise<number> {
  const options = parseLoadArgs(args);
  const stats = new LoadStats();
  const target = new Target(options.url, {
    connections: options.connections,
    timeoutMs: options.timeoutMs,
  });
  const notice = (message: string) => process.stderr.write(`${message}\n`);
  const stop = new AbortController();
  const onInterrupt = () => {
    notice('interrupted: finishing what is in flight, then the summary');
    stop.abort();
  };
  const begun = performance.now();
  try {
    const skus = await productSkus(target, options.url);
    const tokens = new UserTokens(target, stats, options.users, notice);
    await tokens.logInAll();
    const traffic = new ShopperTraffic(target, stats, tokens, skus, options.duplicateRatio);

    process.once('SIGINT', onInterrupt);
    const started = performance.now();
    let lastSentAt = started;
    const progress = showProgress(
      () => progressLine(performance.now() - started, stats, traffic.orders.size),
      { tty: process.stderr.isTTY === true, write: (text) => process.stderr.write(text) },
    );
    try {
      ({ lastSentAt } = await sendArrivals({
        ratePerSecond: options.ratePerSecond,
        durationMs: options.durationMs,
        arrive: (dueAt) => traffic.arrive(dueAt),
        stats,
        signal: stop.signal,
      }));
    } finally {
      progress.stop();
    }
    const answered = performance.now();
    const elapsedMs = answered - started;

    if (options.settleMs > 0 && traffic.orders.size > 0 && !stop.signal.aborted) {
      notice(
        `waiting up to ${options.settleMs / 1000} s for ${traffic.orders.size} orders to settle`,
      );
      await settleOrders(target, tokens, traffic.orders.values(), options.settleMs);
    }
    const finished = performance.now();
    const timing: LoadTiming = {
      totalMs: finished - begun,
      startingMs: started - begun,
      sendingMs: lastSentAt - started,
      lastAnswersMs: answered - lastSentAt,
      settlingMs: finished - answered,
    };
    const summary = summarize(options, stats, traffic, elapsedMs, timing);
    process.stdout.write(
      `${options.json ? JSON.stringify(summary, null, 2) : formatSummary(summary)}\n`,
    );
    return 0;
  } finally {
    process.off('SIGINT', onInterrupt);
    await target.close();
  }
}

/** The catalog's SKUs; also the first sign of whether the target is a storefront at all. */
async function productSkus(target: Target, url: URL): Promise<string[]> {
  let answer: Awaited<ReturnType<Target['send']>>;
  try {
    answer = await target.send('GET', '/api/products');
  } catch (error) {
    throw new TargetUnreachableError(
      `cannot reach ${url.href}: ${(error as Error).message} (is the storefront running? sluice up examples/storefront/sluice.yaml)`,
      { cause: error },
    );
  }
  const products = answer.status === 200 ? parseJson<{ sku?: unknown }[]>(answer) : undefined;
  const skus = Array.isArray(products)
    ? products.map((p) => p.sku).filter((sku): sku is string => typeof sku === 'string')
    : [];
  if (skus.length === 0) {
    throw new TargetRefusedError(
      `GET ${url.href.replace(/\/$/, '')}/api/products answered ${answer.status} without products: is this the storefront's gateway?`,
    );
  }
  return skus;
}
