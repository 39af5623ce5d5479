import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isUsageError } from '../../src/cli/errors.js';
import { parseLoadArgs } from '../../src/cli/load/options.js';
import type { LoadSummary } from '../../src/cli/load/report.js';
import { freePort } from '../../src/runtime/ports.js';
import { type RunningStorefront, runSluice, type SluiceRun, startStorefront } from './running.js';

/** `sluice load ARGS` in its own process. */
function sluiceLoad(...args: string[]): Promise<SluiceRun> {
  return runSluice(['load', ...args]);
}

describe('sluice load: bad arguments and no target', () => {
  const cases: [string[], RegExp][] = [
    [['--rate', 'fast'], /--rate: expected a rate such as 20\/s/],
    [['--rate', '0/s'], /--rate: expected a rate/],
    [['--duration', 'soon'], /--duration: expected a duration/],
    [['--duration', '0s'], /--duration: expected more than 0/],
    [['--users', '0'], /--users: expected a whole number of at least 1/],
    [['--users', '5'], /--users: the storefront has 4 demo users \(alice, bob, carol, dave\)/],
    [['--duplicate-ratio', '1.5'], /--duplicate-ratio: expected a ratio from 0 to 1/],
    [['--url', 'ftp://127.0.0.1'], /--url: expected an http:\/\/ or https:\/\/ URL/],
    [['extra'], /load takes no arguments, got "extra"/],
  ];
  for (const [args, message] of cases) {
    test(`${args.join(' ')} is refused, naming the option`, () => {
      assert.throws(
        () => parseLoadArgs(args),
        (error) => isUsageError(error) && message.test(error.message),
      );
    });
  }

  test('the defaults', () => {
    const options = parseLoadArgs([]);
    assert.equal(options.url.href, 'http://127.0.0.1:8080/');
    assert.equal(options.ratePerSecond, 50);
    assert.equal(options.durationMs, 30_000);
    assert.deepEqual(options.users, ['alice', 'bob']);
    assert.equal(options.duplicateRatio, 0.1);
    assert.equal(parseLoadArgs(['--rate', '3000/min']).ratePerSecond, 50);
    assert.equal(parseLoadArgs(['--duplicate-ratio', '25%']).duplicateRatio, 0.25);
  });

  test('from the command line: a bad option is exit 2, an unreachable target exit 1', async () => {
    const bad = await sluiceLoad('--rate', 'fast');
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--rate: expected a rate/);
    const port = await freePort('127.0.0.1');
    const run = await sluiceLoad('--url', `http://127.0.0.1:${port}`, '--duration', '1s');
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`cannot reach http://127.0.0.1:${port}/: ECONNREFUSED`));
    assert.equal(run.stdout, '');
  });
});

describe('sluice load against the storefront', { timeout: 180_000 }, () => {
  let storefront: RunningStorefront;
  let passed = false;

  before(async () => {
    storefront = await startStorefront();
  });
  after(async () => {
    const left = await (storefront as RunningStorefront | undefined)?.stop({ showLog: !passed });
    assert.deepEqual(left ?? [], [], 'every service process has exited');
  });

  test('a short run: counts add up, retries get their order back, every order settles', async () => {
    const run = await sluiceLoad(
      ...['--url', storefront.gatewayUrl, '--rate', '40/s', '--duration', '4s'],
      ...['--users', '2', '--duplicate-ratio', '0.3', '--settle', '60s', '--json'],
    );
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout) as LoadSummary;
    const { requests, orders } = summary;

    assert.equal(summary.target, `${storefront.gatewayUrl}/`);
    assert.deepEqual(summary.users, ['alice', 'bob']);
    assert.equal(summary.ratePerSecond, 40);
    assert.equal(summary.durationMs, 4000);
    assert.deepEqual(Object.keys(requests.byStatus), ['2xx', '3xx', '4xx', '5xx', 'error']);
    const byStatus = Object.values(requests.byStatus).reduce((a, b) => a + b, 0);
    assert.equal(requests.total, byStatus, 'requests = the sum of the status classes');
    const byOperation = Object.values(requests.byOperation).reduce((a, o) => a + o.requests, 0);
    assert.equal(requests.total, byOperation, 'requests = the sum over operations');
    // 160 arrivals at 40/s for 4 s, plus one login per user.
    assert.equal(requests.total + requests.skipped, 160 + 2);
    assert.equal(requests.byOperation.login?.requests, 2, 'each user logged in once');
    assert.equal(requests.byStatus['5xx'], 0);
    assert.equal(requests.byStatus.error, 0, JSON.stringify(summary.errors));
    assert.ok(summary.latencyMs.p50 > 0 && summary.latencyMs.p50 <= summary.latencyMs.p99);
    assert.ok(summary.latencyMs.p99 <= summary.latencyMs.max);

    assert.ok(orders.placed > 0, 'orders were placed');
    assert.ok(orders.duplicates > 0, 'some placements were retried with the same key');
    assert.equal(orders.duplicatesSameOrder, orders.duplicates, 'a retry returns the same order');
    assert.equal(orders.fulfilled, orders.placed, 'every order placed was fulfilled');
    assert.equal(orders.paymentFailed, 0);
    assert.equal(orders.pending, 0);
    assert.match(run.stderr, /orders to settle/);
    // Where the wall time went adds up to all of it.
    const { totalMs, ...phases } = summary.timing;
    const parts = Object.values(phases);
    assert.ok(
      parts.every((ms) => ms >= 0),
      JSON.stringify(summary.timing),
    );
    const sum = parts.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - totalMs) <= 3, JSON.stringify(summary.timing));
    const progress = run.stderr
      .split('\n')
      .filter((line) => /^\s*\d+\.\ds {2}\d+ requests/.test(line));
    assert.equal(new Set(progress.map((l) => l.replace(/^\s*\S+/, ''))).size, progress.length);
    passed = true;
  });
});
