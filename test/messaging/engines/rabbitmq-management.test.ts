// The managementUrl option when the management API fails: stats() rejects with an error that
// names the URL (never its password), and the metrics leave the queue's series out.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, it } from 'node:test';
import { isSluiceError } from '../../../src/core/errors.js';
import { openRabbitDriver } from '../../../src/messaging/drivers/rabbitmq/driver.js';
import type { RabbitDriverOptions } from '../../../src/messaging/drivers/rabbitmq/options.js';
import { connect } from '../../../src/messaging/index.js';
import { metricsRegistry } from '../../../src/observe/registry.js';
import { requireEngine } from '../../support/engines.js';
import { dropPrefix, rabbitUrl } from './rabbitmq-support.js';

await requireEngine('rabbitmq');

const prefix = `sluice-test-mgmt-${process.pid}-${Date.now().toString(36)}`;
after(() => dropPrefix(prefix));

/** A listener that accepts connections and never answers, or refuses them once closed. */
async function listener(): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { server, port: address.port, sockets };
}

async function closed(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The queue's stats through a driver with `options`, which must reject. */
async function statsError(options: RabbitDriverOptions, url = rabbitUrl): Promise<Error> {
  const driver = await openRabbitDriver(url, { prefix, ...options });
  try {
    await driver.stats({ kind: 'queue', queue: 'jobs' });
  } catch (error) {
    assert.ok(isSluiceError(error, 'SLUICE_ENGINE_UNAVAILABLE'), String(error));
    assert.equal((error as Error).name, 'ManagementApiError');
    return error as Error;
  } finally {
    await driver.close();
  }
  assert.fail('stats() resolved');
}

it('an unreachable management API: stats() rejects naming the URL', async () => {
  const { server, port, sockets } = await listener();
  await closed(server, sockets);
  const error = await statsError({ managementUrl: `http://127.0.0.1:${port}` });
  assert.match(error.message, new RegExp(`at http://127\\.0\\.0\\.1:${port}/ cannot be reached`));
  assert.match(error.message, /ECONNREFUSED/);
});

it('a management API that does not answer: stats() rejects after managementTimeout', async () => {
  const { server, port, sockets } = await listener();
  try {
    const error = await statsError({
      managementUrl: `http://127.0.0.1:${port}`,
      managementTimeout: 100,
    });
    assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}/ cannot be reached`));
    assert.match(error.message, /no answer within 100 ms/);
  } finally {
    await closed(server, sockets);
  }
});

it('wrong credentials: stats() rejects naming the URL and the user, not the password', async () => {
  await requireEngine('rabbitmqManagement');
  const error = await statsError({ managementUrl: 'http://guest:wrong-s3cret@127.0.0.1:15672' });
  assert.match(
    error.message,
    /at http:\/\/guest:\*\*\*@127\.0\.0\.1:15672\/ refused the credentials/,
  );
  assert.doesNotMatch(error.message, /wrong-s3cret/);
  assert.equal((error as Error & { status?: number }).status, 401);
});

it('the credentials come from the AMQP URL when the management URL has none', async () => {
  await requireEngine('rabbitmqManagement');
  const driver = await openRabbitDriver(rabbitUrl, {
    prefix,
    managementUrl: 'http://127.0.0.1:15672',
  });
  try {
    const stats = await driver.stats({ kind: 'queue', queue: 'jobs' });
    assert.equal(stats.scope.inFlight, 'queue');
    assert.equal(stats.scope.delayed, 'queue');
  } finally {
    await driver.close();
  }
});

it('a failing management API leaves the queue out of the metrics, and the scrape goes on', async () => {
  const { server, port, sockets } = await listener();
  await closed(server, sockets);
  const driver = await openRabbitDriver(rabbitUrl, {
    prefix,
    managementUrl: `http://127.0.0.1:${port}`,
  });
  const broker = await connect({ driver });
  try {
    await broker.queue<number>('unmeasured').publish(1);
    const text = await metricsRegistry().metrics();
    assert.match(text, /# TYPE sluice_messaging_depth gauge/);
    assert.doesNotMatch(text, /sluice_messaging_(depth|in_flight|consumer_lag)\{[^}]*"unmeasured"/);
  } finally {
    await broker.close({ drainTimeout: 100 });
  }
  // The same queue without the option is measured: the series was left out for the failure.
  const plain = await connect({ driver: await openRabbitDriver(rabbitUrl, { prefix }) });
  try {
    plain.queue<number>('unmeasured');
    const text = await metricsRegistry().metrics();
    assert.match(text, /sluice_messaging_depth\{[^}]*destination="unmeasured"[^}]*\} 1/);
  } finally {
    await plain.close({ drainTimeout: 100 });
  }
});
