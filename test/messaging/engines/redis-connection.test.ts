import assert from 'node:assert/strict';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { after, before, it } from 'node:test';
import { Redis } from 'ioredis';
import { openRedisDriver } from '../../../src/messaging/drivers/redis/driver.js';
import { connect } from '../../../src/messaging/index.js';
import { requireEngine } from '../../support/engines.js';
import { waitFor } from '../../support/wait-for.js';

await requireEngine('redis');

const url = 'redis://127.0.0.1:6379';
const prefix = `sluice-test:conn-${process.pid}-${Date.now().toString(36)}:`;
let admin: Redis;

before(() => {
  admin = new Redis(url);
});
after(async () => {
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.unlink(...keys);
  await admin.quit();
});

/** Kills this driver's own connections on the server side, as a network fault would. */
async function killConnections(connectionName: string): Promise<number> {
  const list = (await admin.client('LIST')) as string;
  let killed = 0;
  for (const line of list.split('\n')) {
    const id = /(?:^| )id=(\d+)/.exec(line)?.[1];
    const name = / name=(\S*)/.exec(line)?.[1] ?? '';
    if (id !== undefined && name.startsWith(connectionName)) {
      await admin.client('KILL', 'ID', id);
      killed++;
    }
  }
  return killed;
}

it('reconnects after CLIENT KILL mid-consume and processes every publish that resolved', async () => {
  const driver = await openRedisDriver(url, { prefix });
  const broker = await connect({ driver });
  const queue = broker.queue<number>('killed');
  const seen = new Set<number>();
  queue.consume(
    async (m) => {
      seen.add(m.payload);
    },
    // Acks lost with a killed connection come back after this lease.
    { prefetch: 16, concurrency: 4, leaseTimeout: 1000 },
  );
  const resolved: number[] = [];
  const rejected: unknown[] = [];
  let next = 0;
  const total = 1500;
  const publisher = async () => {
    while (next < total) {
      const n = next++;
      try {
        await queue.publish(n, { id: `m-${n}` });
        resolved.push(n);
      } catch (error) {
        rejected.push(error);
      }
    }
  };
  const publishing = Promise.all([publisher(), publisher(), publisher(), publisher()]);
  let kills = 0;
  for (const threshold of [300, 800]) {
    await waitFor(`${threshold} handled`, () => seen.size >= threshold);
    kills += await killConnections(driver.connectionName);
  }
  await publishing;
  assert.equal(kills, 4, 'both connections killed twice');
  await waitFor('every resolved publish handled', () => resolved.every((n) => seen.has(n)));
  await waitFor('the reconnects', () => driver.state.reconnects >= 4);
  assert.ok(driver.state.command && driver.state.subscriber);
  for (const error of rejected) assert.ok(error instanceof Error);
  assert.equal(resolved.length + rejected.length, total);
  await waitFor('the queue to drain', async () => {
    const s = await queue.stats();
    return s.depth + s.inFlight + s.delayed === 0;
  });
  await broker.close();
});

/** A TCP proxy in front of Redis that a test can cut and restore. */
function proxy(): Promise<{ url: string; cut(): void; restore(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let down = false;
  const server: Server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = tcpConnect(6379, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `redis://127.0.0.1:${port}`,
        cut() {
          down = true;
          for (const s of sockets) s.destroy();
        },
        restore() {
          down = false;
        },
        close: () =>
          new Promise((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

it('rejects a publish made while Redis is unreachable, then resumes consuming', async () => {
  const link = await proxy();
  const driver = await openRedisDriver(link.url, { prefix, redis: { retryStrategy: () => 50 } });
  const broker = await connect({ driver });
  const queue = broker.queue<string>('outage');
  const seen: string[] = [];
  queue.consume((m) => {
    seen.push(m.payload);
  });
  await queue.publish('before');
  await waitFor('the first delivery', () => seen.length === 1);

  link.cut();
  await waitFor('the driver to notice', () => !driver.state.command);
  await assert.rejects(queue.publish('during'), (e) => e instanceof Error);

  link.restore();
  await waitFor('the reconnect', () => driver.state.command && driver.state.subscriber);
  await queue.publish('after');
  await waitFor('the delivery after the outage', () => seen.length === 2);
  assert.deepEqual(seen, ['before', 'after']);
  assert.ok(driver.state.reconnects >= 2);
  assert.equal((await queue.stats()).depth, 0);
  await broker.close();
  await link.close();
});
