import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, describe, mock, test } from 'node:test';
import { Target } from '../../src/cli/load/http.js';
import { showProgress } from '../../src/cli/load/progress.js';
import { settleOrders } from '../../src/cli/load/settle.js';
import type { UserTokens } from '../../src/cli/load/tokens.js';
import type { PlacedOrder } from '../../src/cli/load/traffic.js';
import { listen } from '../../src/runtime/ports.js';

describe('sluice load progress', () => {
  test('off a terminal, the last line is not printed twice', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const written: string[] = [];
    let requests = 0;
    let elapsed = 0;
    const line = () => `${elapsed.toFixed(1).padStart(5)}s  ${requests} requests`;
    const progress = showProgress(line, { tty: false, write: (text) => written.push(text) });
    requests = 100;
    elapsed = 5;
    t.mock.timers.tick(5000);
    requests = 200;
    elapsed = 10;
    t.mock.timers.tick(5000);
    // The run ends just after the tick, with nothing new: the clock alone moved on.
    elapsed = 10.1;
    progress.stop();
    assert.deepEqual(written, ['  5.0s  100 requests\n', ' 10.0s  200 requests\n']);
  });

  test('off a terminal, a final line that says something new is printed', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const written: string[] = [];
    let requests = 1;
    const progress = showProgress(() => `  1.0s  ${requests} requests`, {
      tty: false,
      write: (text) => written.push(text),
    });
    t.mock.timers.tick(5000);
    requests = 2;
    progress.stop();
    assert.deepEqual(written, ['  1.0s  1 requests\n', '  1.0s  2 requests\n']);
  });

  test('on a terminal, the line is rewritten in place and left at the end', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const written: string[] = [];
    const progress = showProgress(() => 'now', { tty: true, write: (text) => written.push(text) });
    t.mock.timers.tick(2000);
    progress.stop();
    assert.deepEqual(written, ['\rnow\x1b[K', '\rnow\x1b[K', '\rnow\x1b[K\n']);
  });
});

describe('sluice load settling', () => {
  // A gateway that rate limits every poll for a minute and answers slowly.
  const server = createServer((_req, res) => {
    setTimeout(() => {
      res.writeHead(429, { 'retry-after': '60' });
      res.end();
    }, 50);
  });
  after(() => server.close());

  test('ends at its deadline, whatever Retry-After or a slow answer asks', {
    timeout: 20_000,
  }, async () => {
    const port = await listen(server, 0, '127.0.0.1');
    const target = new Target(new URL(`http://127.0.0.1:${port}`), {
      connections: 4,
      timeoutMs: 60_000,
    });
    const tokens = { token: () => 'x', renew: mock.fn() } as unknown as UserTokens;
    const orders: PlacedOrder[] = Array.from({ length: 20 }, (_, i) => ({
      id: `o-${i}`,
      user: 'alice',
      status: 'pending',
    }));
    try {
      // Without the bound, the 60 s Retry-After would outlast this test's timeout.
      await settleOrders(target, tokens, orders, 300);
      assert.ok(orders.every((o) => o.status === 'pending'));
    } finally {
      await target.close();
    }
  });
});
