import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { json, login, type RunningStorefront, startStorefront } from './running.js';

interface Problem {
  type: string;
  title: string;
  status: number;
}

/** A 429 as the gateway sends it: Retry-After in whole seconds and an RFC 9457 body. */
async function assertRateLimited(res: Response): Promise<void> {
  assert.equal(res.status, 429);
  assert.match(res.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  const problem = await json<Problem>(res);
  assert.equal(problem.status, 429);
  assert.match(problem.type, /^urn:sluice:problem:/);
}

describe('rate limits: a client over its limit gets 429 with Retry-After; others are unaffected', {
  timeout: 180_000,
}, () => {
  let storefront: RunningStorefront;
  let gatewayUrl: string;
  let passed = 0;

  before(async () => {
    storefront = await startStorefront();
    gatewayUrl = storefront.gatewayUrl;
  });
  after(async () => {
    const left = await (storefront as RunningStorefront | undefined)?.stop({
      showLog: passed < 2,
    });
    assert.deepEqual(left ?? [], [], 'every service process has exited');
  });

  test('orders are limited per user (20/s, burst 40)', async () => {
    const alice = { authorization: `Bearer ${await login(gatewayUrl, 'alice')}` };
    const bob = { authorization: `Bearer ${await login(gatewayUrl, 'bob')}` };
    const place = (auth: Record<string, string>, key: string) =>
      fetch(`${gatewayUrl}/api/orders`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ items: [{ sku: 'kettle', qty: 1 }] }),
      });
    const placed = await place(alice, 'limits-alice');
    assert.equal(placed.status, 201);
    const { id } = await json<{ id: string }>(placed);

    // Twice the burst at once (but within the orders bulkhead of 100): the bucket cannot
    // refill fast enough to admit them all.
    const burst = await Promise.all(
      Array.from({ length: 90 }, () => fetch(`${gatewayUrl}/api/orders/${id}`, { headers: alice })),
    );
    const limited = burst.filter((res) => res.status === 429);
    const served = burst.filter((res) => res.status === 200);
    const statuses = burst.map((res) => res.status);
    assert.equal(limited.length + served.length, burst.length, `only 200s and 429s: ${statuses}`);
    assert.ok(limited.length > 0, 'alice went over her limit');
    assert.ok(served.length >= 40, `alice's burst of 40 was served (${served.length})`);
    await assertRateLimited(limited[0]!);
    await Promise.all([...served, ...limited.slice(1)].map((res) => res.arrayBuffer()));

    const bobs = await place(bob, 'limits-bob');
    assert.equal(bobs.status, 201, "bob's order is placed while alice is limited");
    const bobsOrder = await json<{ id: string }>(bobs);
    const read = await fetch(`${gatewayUrl}/api/orders/${bobsOrder.id}`, { headers: bob });
    assert.equal(read.status, 200);
    await read.arrayBuffer();
    passed++;
  });

  test('logins are limited per client address (5/min); X-Forwarded-For changes nothing', async () => {
    // The gateway trusts no proxy: the connection's address is the client's.
    const loginFrom = (localAddress: string, forwardedFor?: string) =>
      new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>(
        (resolve, reject) => {
          const req = httpRequest(
            `${gatewayUrl}/login`,
            {
              method: 'POST',
              localAddress,
              headers: {
                'content-type': 'application/json',
                ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }),
              },
            },
            (res) => {
              let body = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => {
                body += chunk;
              });
              res.on('end', () =>
                resolve({ status: res.statusCode ?? 0, headers: res.headers, body }),
              );
              res.on('error', reject);
            },
          );
          req.on('error', reject);
          req.end(JSON.stringify({ username: 'alice', password: 'alice-password' }));
        },
      );
    // Loopback is 127.0.0.0/8: 127.0.0.2 and 127.0.0.3 are two more local clients.
    for (let i = 0; i < 5; i++) {
      const res = await loginFrom('127.0.0.2', `198.51.100.${i}`);
      assert.equal(res.status, 200, `login ${i + 1} of 5 is allowed`);
    }
    const spoofed = await loginFrom('127.0.0.2', '198.51.100.99');
    assert.equal(spoofed.status, 429, 'a new X-Forwarded-For is no new client');
    assert.match(String(spoofed.headers['retry-after']), /^[1-9]\d*$/);

    const other = await loginFrom('127.0.0.3');
    assert.equal(other.status, 200, 'another client still logs in');
    assert.equal(typeof (JSON.parse(other.body) as { token: unknown }).token, 'string');
    passed++;
  });
});
