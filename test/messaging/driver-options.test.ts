import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { isSluiceError } from '../../src/core/errors.js';
import { type ConnectOptions, connect } from '../../src/messaging/index.js';

/** Nothing listens on port 1 of loopback: an option checked after connecting would say so. */
const urls: Record<string, string> = {
  memory: '',
  sqlite: ':memory:',
  nats: 'nats://127.0.0.1:1',
  redis: 'redis://127.0.0.1:1',
  rabbitmq: 'amqp://127.0.0.1:1',
  postgres: 'postgres://127.0.0.1:1/test',
};

// Each bad option, and what the error must say about it beside its key.
const cases: [driver: string, options: Record<string, unknown>, said: RegExp][] = [
  ['memory', { prefix: 'x' }, /unknown key "prefix"/],
  [
    'sqlite',
    { busyTimout: 5 },
    /busyTimout: unknown key "busyTimout" \(did you mean "busyTimeout"\?\)/,
  ],
  ['sqlite', { busyTimeout: 'x' }, /busyTimeout: expected a number \(got "x"\)/],
  ['sqlite', { busyTimeout: -1 }, /busyTimeout: expected a number >= 0 \(got -1\)/],
  ['sqlite', { synchronous: 'sometimes' }, /synchronous: expected one of full, normal/],
  ['sqlite', { watch: 'yes' }, /watch: expected true or false/],
  ['sqlite', { maxDeadLetters: 0 }, /maxDeadLetters: expected a number >= 1 \(got 0\)/],
  ['sqlite', { maxDeadLetters: 1.5 }, /maxDeadLetters: expected a whole number/],
  ['nats', { prefx: 'x' }, /prefx: unknown key "prefx" \(did you mean "prefix"\?\)/],
  ['nats', { prefix: 'has space' }, /prefix: expected 1-32 letters/],
  ['nats', { ackWait: 'x' }, /ackWait: expected a whole number \(got "x"\)/],
  ['nats', { ackWait: 500 }, /ackWait: expected a number >= 1000 \(got 500\)/],
  ['nats', { storage: 'disk' }, /storage: expected one of file, memory/],
  ['nats', { timeout: Number.POSITIVE_INFINITY }, /timeout: expected a whole number/],
  ['nats', { replicas: 0 }, /replicas: expected a number >= 1/],
  ['redis', { prefx: 'x' }, /prefx: unknown key/],
  ['redis', { prefix: 5 }, /prefix: expected text \(got 5\)/],
  ['redis', { sweepIntervalMs: -1 }, /sweepIntervalMs: expected a number >= 0/],
  ['redis', { sweepIntervalMs: Number.NaN }, /sweepIntervalMs: expected a number/],
  ['redis', { maxDeadLetters: 'x' }, /maxDeadLetters: expected a whole number/],
  ['redis', { redis: 'x' }, /redis: expected a mapping/],
  ['redis', { redis: { keyPrefix: 'x:' } }, /redis\.keyPrefix: .*not the ioredis keyPrefix/],
  ['rabbitmq', { reconnectDelay: 'x' }, /reconnectDelay: expected a number \(got "x"\)/],
  ['rabbitmq', { reconnectMaxDelay: -1 }, /reconnectMaxDelay: expected a number >= 0/],
  ['rabbitmq', { heartbeat: Number.NaN }, /heartbeat: expected a number/],
  ['rabbitmq', { prefix: '' }, /prefix: expected non-empty text/],
  ['rabbitmq', { connectionName: 42 }, /connectionName: expected text/],
  ['rabbitmq', { localDedupe: 'yes' }, /localDedupe: expected true or false/],
  ['rabbitmq', { reconectDelay: 5 }, /did you mean "reconnectDelay"/],
  ['rabbitmq', { managementUrl: 15672 }, /managementUrl: expected a URL such as http/],
  ['rabbitmq', { managementUrl: '127.0.0.1:15672' }, /managementUrl: expected a URL such as/],
  // Checked in code so that the message never shows the password.
  [
    'rabbitmq',
    { managementUrl: 'amqp://guest:s3cret@127.0.0.1:15672' },
    /managementUrl: expected an http:\/\/ or https:\/\/ URL .*\(got amqp:\/\/guest:\*\*\*@127\.0\.0\.1:15672\)$/,
  ],
  ['rabbitmq', { managementTimeout: 0 }, /managementTimeout: expected a number > 0 \(got 0\)/],
  ['rabbitmq', { managementTimeout: '1s' }, /managementTimeout: expected a number/],
  ['postgres', { poolSize: 0 }, /poolSize: expected a number >= 1/],
  ['postgres', { poolSize: '10' }, /poolSize: expected a whole number/],
  ['postgres', { schema: 'Has-Dash' }, /schema: expected lower-case letters/],
  ['postgres', { applicationName: 7 }, /applicationName: expected text/],
  ['postgres', { connectTimeout: -5 }, /connectTimeout: expected a number >= 0/],
  ['postgres', { pool: 5 }, /pool: unknown key "pool"/],
];

const refusal = (driver: string, said: RegExp) => (e: unknown) => {
  assert.ok(isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'), `${driver}: ${String(e)}`);
  assert.match((e as Error).message, new RegExp(`^${driver} driver options: `));
  assert.match((e as Error).message, said);
  return true;
};

describe('driver options: every driver checks them the same way, before connecting', () => {
  for (const [driver, options, said] of cases) {
    it(`${driver} refuses ${inspect(options)}`, async () => {
      const url = urls[driver] === '' ? {} : { url: urls[driver] };
      await assert.rejects(
        connect({ driver, ...url, ...options } as unknown as ConnectOptions),
        refusal(driver, said),
      );
    });
  }

  it('names every bad key of one call in one error', async () => {
    await assert.rejects(
      connect({ driver: 'sqlite', url: ':memory:', busyTimeout: 'x', watch: 1 } as never),
      refusal(
        'sqlite',
        /busyTimeout: expected a number \(got "x"\); watch: expected true or false/,
      ),
    );
  });

  it('gives every option a default, so a resolved option is never missing', async () => {
    const schemas = await Promise.all(
      ['nats', 'postgres', 'rabbitmq', 'redis', 'sqlite'].map(
        async (driver) =>
          [driver, await import(`../../src/messaging/drivers/${driver}/options.js`)] as const,
      ),
    );
    for (const [driver, module] of schemas) {
      const schema = Object.entries(module).find(([name]) =>
        name.endsWith('OptionsSchema'),
      )![1] as {
        properties: Record<string, { default?: unknown }>;
      };
      for (const [key, option] of Object.entries(schema.properties)) {
        assert.notEqual(option.default, undefined, `${driver} ${key}`);
      }
    }
  });

  it('takes good options and fills in the defaults', async () => {
    const { resolveRabbitOptions } = await import(
      '../../src/messaging/drivers/rabbitmq/options.js'
    );
    const { resolveNatsOptions } = await import('../../src/messaging/drivers/nats/options.js');
    const { resolveSqliteOptions } = await import('../../src/messaging/drivers/sqlite/options.js');
    assert.deepEqual(resolveRabbitOptions({ prefix: undefined, heartbeat: 0 }), {
      prefix: 'sluice',
      connectionName: 'sluice',
      reconnectDelayMs: 100,
      reconnectMaxDelayMs: 5000,
      heartbeat: 0,
      localDedupe: false,
      management: undefined,
    });
    assert.deepEqual(
      resolveRabbitOptions({ managementUrl: 'https://mq.example:15671', managementTimeout: 250 })
        .management,
      { url: 'https://mq.example:15671', timeoutMs: 250 },
    );
    assert.equal(resolveNatsOptions({ ackWait: 1000 }).ackWaitMs, 1000);
    assert.deepEqual(resolveSqliteOptions({ synchronous: 'normal' }), {
      synchronous: 'normal',
      busyTimeout: 5000,
      watch: true,
      maxDeadLetters: 10_000,
    });
    const broker = await connect({ driver: 'memory' });
    await broker.close();
  });
});
