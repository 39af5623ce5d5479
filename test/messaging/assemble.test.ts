// assembleDriver puts the closed check and the refusal of missing streams above a driver's
// parts, once for every driver.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isSluiceError } from '../../src/core/errors.js';
import type { DriverParts, MessagingDriver } from '../../src/messaging/driver.js';
import { assembleDriver } from '../../src/messaging/drivers/assemble.js';
import { MemoryDriver } from '../../src/messaging/drivers/memory/driver.js';

/** Parts that count the calls that reach them, on top of a memory driver. */
function parts(withStreams: boolean): {
  parts: DriverParts;
  reached: string[];
  closes: () => number;
} {
  const memory = new MemoryDriver();
  const reached: string[] = [];
  let closes = 0;
  const spy = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, key, receiver) {
        const value = Reflect.get(t, key, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          reached.push(String(key));
          return value.apply(t, args);
        };
      },
    });
  return {
    reached,
    closes: () => closes,
    parts: {
      name: 'fake',
      capabilities: { ...memory.capabilities, streams: withStreams },
      queues: spy(memory),
      deadLetters: spy({
        list: (s, n) => memory.listDeadLetters(s, n),
        replay: (s, ids) => memory.replayDeadLetters(s, ids),
        purge: (s, ids) => memory.purgeDeadLetters(s, ids),
      }),
      streams: withStreams ? spy(memory) : undefined,
      noStreams: withStreams ? undefined : 'no streams here, for a reason',
      close: async () => {
        closes++;
        await memory.close();
      },
    },
  };
}

const source = { kind: 'queue', queue: 'q' } as const;
const calls = (d: MessagingDriver): [string, () => Promise<unknown>][] => [
  ['enqueue', () => d.enqueue(source, [], { dedupeWindowMs: 0, maxLength: 1, overflow: 'reject' })],
  ['createGroup', () => d.createGroup('t', 'g')],
  ['claim', () => d.claim(source, { max: 1, leaseMs: 100, orderByKey: false })],
  ['ack', () => d.ack(source, [])],
  ['release', () => d.release(source, 'r', { delayMs: 0, countAttempt: true })],
  ['extendLease', () => d.extendLease(source, [], 100)],
  ['deadLetter', () => d.deadLetter(source, 'r', 'e')],
  ['stats', () => d.stats(source)],
  ['list', () => d.listDeadLetters(source, 1)],
  ['replay', () => d.replayDeadLetters(source, undefined)],
  ['purge', () => d.purgeDeadLetters(source, undefined)],
  ['append', () => d.append('s', [], {})],
  ['read', () => d.read('s', 0, 1)],
  ['resolvePosition', () => d.resolvePosition('s', 'latest')],
  ['commitOffset', () => d.commitOffset('s', 'g', 0)],
  ['committedOffset', () => d.committedOffset('s', 'g')],
];

it('refuses every operation of a closed driver before it reaches the parts, and closes them once', async () => {
  const { parts: p, reached, closes } = parts(true);
  const driver = assembleDriver(p);
  assert.equal(driver.name, 'fake');
  await driver.stats(source);
  assert.deepEqual(reached, ['stats']);
  await Promise.all([driver.close(), driver.close()]);
  await driver.close();
  assert.equal(closes(), 1);
  reached.length = 0;
  for (const [name, call] of calls(driver)) {
    await assert.rejects(call(), (e) => isSluiceError(e, 'SLUICE_CLOSED'), name);
  }
  assert.deepEqual(reached, [], 'nothing reached the parts after close');
});

it('refuses stream operations with SLUICE_UNSUPPORTED and the reason when there are no streams', async () => {
  const driver = assembleDriver(parts(false).parts);
  const unsupported = (e: unknown) =>
    isSluiceError(e, 'SLUICE_UNSUPPORTED') && /no streams here, for a reason/.test(String(e));
  for (const [name, call] of calls(driver).slice(11))
    await assert.rejects(call(), unsupported, name);
  assert.throws(() => driver.onAppend('s', () => {}), unsupported);
  await driver.close();
});
