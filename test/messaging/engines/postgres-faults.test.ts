import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { type AddressInfo, createServer, connect as netConnect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { openPostgresDriver } from '../../../src/messaging/drivers/postgres/driver.js';
import { postgresIdempotencyStore } from '../../../src/messaging/drivers/postgres/idempotency-store.js';
import { connect, idempotent } from '../../../src/messaging/index.js';
import { unique, waitFor } from '../../conformance/helpers.js';
import { requireEngine } from '../../support/engines.js';
import { metricValue } from '../../support/metrics.js';

const url = process.env.SLUICE_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const childRole = process.env.SLUICE_PG_FAULT_CHILD;

/**
 * The consumer the SIGKILL test kills: it handles messages idempotently (the effect and
 * the idempotency record commit together), acks the first `ACK_FIRST`, then hangs in every
 * later handler after its transaction committed, so the parent finds committed-but-unacked
 * messages as well as claimed-but-unstarted ones.
 */
async function runChild(): Promise<void> {
  const { SCHEMA: schema, QUEUE: queueName, ACK_FIRST } = process.env;
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const store = await postgresIdempotencyStore(pool, { table: `${schema}.processed` });
  const broker = await connect({ driver: await openPostgresDriver(url, { schema, poolSize: 4 }) });
  let handled = 0;
  broker.queue<number>(queueName!).consume(
    idempotent<number, pg.PoolClient>(
      async (m, ctx) => {
        await ctx.transaction((tx) =>
          tx.query(`INSERT INTO "${schema}".effects (id, by) VALUES ($1, 'child')`, [m.id]),
        );
        handled++;
        process.stdout.write(`handled ${m.id}\n`);
        if (handled > Number(ACK_FIRST)) {
          process.stdout.write('hanging\n');
          await new Promise(() => {});
        }
      },
      { store },
    ),
    { prefetch: 40, concurrency: 8, leaseTimeout: 1000 },
  );
}

if (childRole === 'consumer') {
  await runChild();
} else {
  await requireEngine('postgres');
  faults();
}

function faults(): void {
  const schema = `sluice_f_${process.pid}_${Date.now().toString(36)}`;

  describe('postgres driver faults', () => {
    let admin: pg.Client;
    /** Closed after the tests even when one fails, so no connection keeps the process alive. */
    const open: { close(): Promise<unknown> }[] = [];

    before(async () => {
      admin = new pg.Client({ connectionString: url });
      await admin.connect();
      const d = await openPostgresDriver(url, { schema, poolSize: 1 });
      await d.close();
      await admin.query(`CREATE TABLE "${schema}".effects (id text NOT NULL, by text NOT NULL)`);
    });

    after(async () => {
      for (const o of open.splice(0).reverse()) await o.close().catch(() => {});
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    });

    it('loses nothing when a consumer is SIGKILLed mid-batch, and idempotent() applies each effect once', async () => {
      const queueName = unique('killed');
      const n = 200;
      const broker = await connect({
        driver: await openPostgresDriver(url, { schema, poolSize: 4 }),
      });
      open.push(broker);
      const queue = broker.queue<number>(queueName);
      await queue.publishBatch(Array.from({ length: n }, (_, i) => ({ payload: i, id: `m${i}` })));

      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
        env: {
          ...process.env,
          SLUICE_PG_FAULT_CHILD: 'consumer',
          SCHEMA: schema,
          QUEUE: queueName,
          ACK_FIRST: '30',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      open.push({ close: async () => child.kill('SIGKILL') });
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.once('exit', (_c, sig) => resolve(sig)),
      );
      let hanging = 0;
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line === 'hanging') hanging++;
      });
      // Every handler slot is stuck after its commit, and more messages sit in its prefetch.
      await waitFor('the child to hold a full batch', () => hanging === 8, { timeoutMs: 30_000 });
      const held = await queue.stats();
      assert.ok(held.inFlight > 8, `the child holds ${held.inFlight} leases`);
      child.kill('SIGKILL');
      assert.equal(await exited, 'SIGKILL');

      const pool = new pg.Pool({ connectionString: url, max: 4 });
      open.push({ close: () => pool.end() });
      const store = await postgresIdempotencyStore(pool, { table: `${schema}.processed` });
      const redelivered: number[] = [];
      let handled = 0;
      queue.consume(
        idempotent<number, pg.PoolClient>(
          async (m, ctx) => {
            if (m.attempt > 1) redelivered.push(m.payload);
            await ctx.transaction((tx) =>
              tx.query(`INSERT INTO "${schema}".effects (id, by) VALUES ($1, 'parent')`, [m.id]),
            );
            handled++;
          },
          { store },
        ),
        { prefetch: 20, concurrency: 4, pollInterval: 100 },
      );
      await waitFor(
        'the queue to empty',
        async () => {
          const s = await queue.stats();
          return s.depth + s.inFlight + s.delayed === 0;
        },
        { timeoutMs: 30_000 },
      );
      const { rows } = await admin.query(
        `SELECT count(*)::int AS total, count(DISTINCT id)::int AS ids,
                count(*) FILTER (WHERE by = 'child')::int AS child
         FROM "${schema}".effects`,
      );
      assert.deepEqual(rows[0], { total: n, ids: n, child: rows[0].child });
      assert.ok(rows[0].child >= 38, 'the child committed its acked and its hung messages');
      assert.equal(handled, n - rows[0].child, 'the parent applied only what the child had not');
      assert.ok(redelivered.length > 0, "the child's leases expired and came back");
      assert.equal((await queue.stats()).deadLettered, 0);
    });

    it('reconnects after pg_terminate_backend mid-consume, and rejects the publish it cut off', async () => {
      const applicationName = unique('sluice-fault');
      const driver = await openPostgresDriver(url, { schema, poolSize: 4, applicationName });
      const broker = await connect({ driver });
      open.push(broker);
      const queue = broker.queue<number>(unique('cut'));
      const source = { kind: 'queue', queue: queue.name } as const;
      const seen = new Set<number>();
      queue.consume(
        async (m) => {
          seen.add(m.payload);
          await new Promise((r) => setTimeout(r, 2));
        },
        { prefetch: 10, concurrency: 2, leaseTimeout: 1000, pollInterval: 200 },
      );
      await queue.publishBatch(Array.from({ length: 300 }, (_, i) => ({ payload: i })));
      await waitFor('consumption to be under way', () => seen.size >= 20);

      // A publish stuck on a row lock the test holds: it is in flight when the cut comes.
      const blocker = new pg.Client({ connectionString: url });
      await blocker.connect();
      open.push({ close: () => blocker.end() });
      await blocker.query('BEGIN');
      await blocker.query(
        `INSERT INTO "${schema}".dedupe (target, id, expires_at) VALUES ($1, 'stuck', 9e15)`,
        [`q:${queue.name}`],
      );
      const stuck = queue.publish(-1, { id: 'stuck' });
      stuck.catch(() => {});
      await waitFor('the publish to wait on the lock', async () => {
        const { rows } = await admin.query(
          `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
          [applicationName],
        );
        return rows.length > 0;
      });

      let wakes = 0;
      const stopWatching = driver.onWork(source, () => {
        wakes++;
      });
      const killed = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
        [applicationName],
      );
      assert.ok(killed.rows.length >= 2, 'the pool and the listening connection were cut');
      await assert.rejects(
        stuck,
        (e: Error) => /terminat/i.test(e.message),
        'the cut publish rejects',
      );
      await blocker.query('ROLLBACK');

      // The listener came back (it wakes every consumer when it does) and hears new publishes.
      await waitFor('the reconnect', () => driver.connected && wakes > 0);
      const before = wakes;
      await queue.publishBatch(Array.from({ length: 10 }, (_, i) => ({ payload: 1000 + i })));
      await waitFor('a notification on the new connection', () => wakes > before);
      stopWatching();

      await waitFor('every message after the cut', () => seen.size === 310, { timeoutMs: 30_000 });
      assert.equal(seen.has(-1), false, 'the rejected publish stored nothing');
      await waitFor('the acks', async () => {
        const s = await queue.stats();
        return s.depth + s.inFlight + s.delayed === 0;
      });
      const connection = (role: string) => ({
        driver: 'postgres',
        connection: `${schema}/${role}`,
      });
      assert.ok(
        (await metricValue('sluice_messaging_reconnects_total', connection('listener'))) > 0,
      );
      assert.equal(await metricValue('sluice_messaging_connected', connection('pool')), 1);
      assert.equal(
        await metricValue('sluice_messaging_publish_failures_total', {
          driver: 'postgres',
          destination: queue.name,
        }),
        1,
        'the cut publish is counted as failed',
      );
    });

    it('rejects publishes while the server is unreachable, then resumes consuming', async () => {
      const proxy = await tcpProxy(5432);
      open.push(proxy);
      const proxied = `postgres://postgres@127.0.0.1:${proxy.port}/test`;
      const driver = await openPostgresDriver(proxied, {
        schema,
        poolSize: 2,
        connectTimeout: 2000,
      });
      const broker = await connect({ driver });
      open.push(broker);
      const queue = broker.queue<number>(unique('outage'));
      const seen = new Set<number>();
      queue.consume(
        (m) => {
          seen.add(m.payload);
        },
        { leaseTimeout: 1000, pollInterval: 100 },
      );
      await queue.publishBatch([1, 2, 3].map((payload) => ({ payload })));
      await waitFor('the first messages', () => seen.size === 3);

      await proxy.cut();
      await waitFor('the driver to notice', () => !driver.connected);
      await assert.rejects(queue.publish(4), 'a publish during the outage rejects');
      const listener = { driver: 'postgres', connection: `${schema}/listener` };
      assert.equal(await metricValue('sluice_messaging_connected', listener), 0);

      await proxy.restore();
      await waitFor('the reconnect', () => driver.connected, { timeoutMs: 15_000 });
      await queue.publishBatch([5, 6].map((payload) => ({ payload })));
      await waitFor('messages after the outage', () => seen.size === 5, { timeoutMs: 15_000 });
      assert.deepEqual([...seen].sort(), [1, 2, 3, 5, 6]);
    });
  });
}

/** A TCP relay to a local port that a test can cut (refusing connections) and restore. */
async function tcpProxy(target: number) {
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = netConnect(target, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const cut = async () => {
    const closed = new Promise((resolve) => server.close(resolve));
    for (const s of sockets) s.destroy();
    await closed;
  };
  return {
    port,
    cut,
    restore: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
    close: async () => {
      if (server.listening) await cut();
      else for (const s of sockets) s.destroy();
    },
  };
}
