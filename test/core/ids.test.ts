import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createIdGenerator,
  idTimestamp,
  isId,
  isSluiceError,
  ManualClock,
  newId,
  systemClock,
} from '../../src/core/index.js';

test('ids are UUIDv7 strings carrying their creation time', () => {
  const clock = new ManualClock(1_764_000_000_123);
  const id = createIdGenerator({ clock })();
  assert.ok(isId(id), id);
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(idTimestamp(id), 1_764_000_000_123);
  assert.ok(isId(newId()));
});

test('ids from one generator sort in creation order within a millisecond and across a step back', () => {
  const clock = new ManualClock(1_000_000);
  const next = createIdGenerator({ clock });
  const ids: string[] = [];
  for (let i = 0; i < 10_000; i++) ids.push(next());
  clock.advance(1);
  ids.push(next());
  clock.set(999_000);
  ids.push(next(), next());
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
});

test('ids from the system clock are unique and ordered', () => {
  const next = createIdGenerator({ clock: systemClock });
  const ids = Array.from({ length: 1000 }, next);
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
});

test('idTimestamp rejects what is not an id', () => {
  assert.throws(
    () => idTimestamp('nope'),
    (e) => isSluiceError(e, 'SLUICE_INVALID_ARGUMENT'),
  );
  assert.equal(isId(crypto.randomUUID()), false);
});

test('ManualClock moves only when told, and never backwards by advance', () => {
  const clock = new ManualClock(5);
  assert.equal(clock.now(), 5);
  assert.equal(clock.advance(10), 15);
  assert.throws(() => clock.advance(-1), RangeError);
  assert.equal(clock.now(), 15);
});
