import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSluiceError } from '../../src/core/errors.js';
import { openRabbitDriver } from '../../src/messaging/drivers/rabbitmq/driver.js';
import { resolveRabbitOptions } from '../../src/messaging/drivers/rabbitmq/options.js';

const invalid = (e: unknown) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT');

describe('rabbitmq driver options', () => {
  it('has defaults', () => {
    assert.deepEqual(resolveRabbitOptions(), {
      prefix: 'sluice',
      connectionName: 'sluice',
      reconnectDelayMs: 100,
      reconnectMaxDelayMs: 5_000,
      heartbeat: 10,
      localDedupe: false,
    });
  });

  it('refuses a value of the wrong type or out of range, naming the option', () => {
    const bad = [
      { reconnectDelay: 'x' },
      { reconnectMaxDelay: -1 },
      { heartbeat: Number.NaN },
      { prefix: '' },
      { connectionName: 42 },
      { localDedupe: 'yes' },
    ];
    for (const options of bad) {
      const [name] = Object.keys(options) as [string];
      assert.throws(
        () => resolveRabbitOptions(options as never),
        (e: unknown) => invalid(e) && (e as Error).message.includes(name),
        name,
      );
    }
  });

  it('refuses an unknown option', () => {
    assert.throws(() => resolveRabbitOptions({ reconectDelay: 5 } as never), invalid);
  });

  it('refuses bad options before connecting', async () => {
    await assert.rejects(
      openRabbitDriver('amqp://127.0.0.1:1', { reconnectDelay: 'x' as never }),
      invalid,
    );
  });
});
