import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { DeadlineScheduler } from '../../src/core/timers.js';
import { advance } from './support.js';

describe('DeadlineScheduler', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'] }));
  afterEach(() => mock.timers.reset());

  it('fires a deadline once it falls due, never before', () => {
    const scheduler = new DeadlineScheduler({ clock: systemClock, resolutionMs: 5 });
    const fired: string[] = [];
    scheduler.schedule(20, (label) => fired.push(label), 'a');
    advance(15);
    assert.deepEqual(fired, []);
    advance(10);
    assert.deepEqual(fired, ['a']);
    assert.equal(scheduler.size, 0);
  });

  it('does not fire a cancelled deadline and stops ticking when nothing is pending', () => {
    const scheduler = new DeadlineScheduler({ clock: systemClock, resolutionMs: 1 });
    const fired: number[] = [];
    const first = scheduler.schedule(10, (n) => fired.push(n), 1);
    scheduler.schedule(10, (n) => fired.push(n), 2);
    first.cancel();
    first.cancel();
    assert.equal(scheduler.size, 1);
    advance(20);
    assert.deepEqual(fired, [2]);
    assert.equal(scheduler.size, 0);
  });

  it('keeps deadlines beyond one turn of the wheel for a later turn', () => {
    const scheduler = new DeadlineScheduler({ clock: systemClock, resolutionMs: 1, slots: 8 });
    const fired: number[] = [];
    scheduler.schedule(3, (n) => fired.push(n), 3);
    scheduler.schedule(11, (n) => fired.push(n), 11);
    advance(5);
    assert.deepEqual(fired, [3]);
    advance(5);
    assert.deepEqual(fired, [3]);
    advance(2);
    assert.deepEqual(fired, [3, 11]);
  });

  it('lets a firing callback cancel another deadline due in the same tick', () => {
    const scheduler = new DeadlineScheduler({ clock: systemClock, resolutionMs: 1 });
    const fired: string[] = [];
    const entries: { cancel(): void }[] = [];
    for (const [self, other] of [
      ['x', 1],
      ['y', 0],
    ] as const) {
      entries.push(
        scheduler.schedule(
          5,
          () => {
            fired.push(self);
            entries[other]!.cancel();
          },
          null,
        ),
      );
    }
    advance(10);
    assert.equal(fired.length, 1);
  });

  it('never fires early a deadline armed between two clock reads', () => {
    const scheduler = new DeadlineScheduler({ clock: systemClock, resolutionMs: 4 });
    const fired: number[] = [];
    scheduler.schedule(100, () => fired.push(Date.now()), null);
    advance(3);
    scheduler.schedule(10, () => fired.push(Date.now()), null);
    advance(12);
    assert.deepEqual(fired, [], 'armed at 3 with 10 ms: not due before 13');
    advance(10);
    assert.equal(fired.length, 1);
    assert.ok(fired[0]! >= 13);
  });

  it('reads the clock far less often than it arms deadlines while ticking', () => {
    let reads = 0;
    const scheduler = new DeadlineScheduler({
      clock: {
        now: () => {
          reads++;
          return Date.now();
        },
      },
    });
    reads = 0;
    for (let i = 0; i < 1_000; i++) scheduler.schedule(1_000, () => {}, null).cancel();
    assert.ok(reads <= 1 + 1_000 / 64, `${reads} clock reads for 1000 arms`);
  });
});
