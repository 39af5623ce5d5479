// The group commit shared by the postgres and redis drivers: batches that wait behind a
// busy call travel together, each settled on its own.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { GroupCommit } from '../../src/messaging/drivers/group-commit.js';

it('sends publishes that wait behind a busy call together, settling each on its own', async () => {
  const calls: string[][] = [];
  let release!: () => void;
  const firstCall = new Promise<void>((resolve) => {
    release = resolve;
  });
  const commit = new GroupCommit<{ lane: string }, string, string>(async (lane, batches) => {
    calls.push([lane.lane, ...batches]);
    if (calls.length === 1) await firstCall;
    return batches.map((b) => (b === 'full' ? new Error('no room') : `${b} stored`));
  });
  const lane = { lane: 'q' };
  const a = commit.enqueue(lane, 'a');
  const b = commit.enqueue(lane, 'b');
  const full = commit.enqueue(lane, 'full');
  const elsewhere = commit.enqueue({ lane: 'other' }, 'c');
  release();
  assert.equal(await a, 'a stored');
  assert.equal(await b, 'b stored');
  await assert.rejects(full, /no room/);
  assert.equal(await elsewhere, 'c stored');
  assert.deepEqual(
    calls,
    [
      ['q', 'a'],
      ['other', 'c'],
      ['q', 'b', 'full'],
    ],
    'another lane does not wait; the two that waited went in one call',
  );
});

it('rejects every batch of a call that failed, and a batch the call returned nothing for', async () => {
  let fail = true;
  const commit = new GroupCommit<{ lane: string }, string, string>(async (_lane, batches) => {
    if (fail) throw new Error('connection lost');
    return batches.slice(1).map((b) => `${b} stored`);
  });
  const lane = { lane: 'q' };
  const lost = [commit.enqueue(lane, 'a'), commit.enqueue(lane, 'b')];
  for (const p of lost) await assert.rejects(p, /connection lost/);
  fail = false;
  const first = commit.enqueue(lane, 'a');
  await assert.rejects(first, /no result for this batch/);
});

it('gathers the batches of one turn, caps a call by size and runs several calls at once', async () => {
  const calls: string[][] = [];
  const releases: (() => void)[] = [];
  const commit = new GroupCommit<{ lane: string }, string, string>(
    async (_lane, batches) => {
      calls.push([...batches]);
      await new Promise<void>((resolve) => releases.push(resolve));
      return batches.map((b) => `${b} stored`);
    },
    { gather: true, maxInFlight: 2, maxSize: 3, sizeOf: (b) => b.length },
  );
  const lane = { lane: 'q' };
  // One turn: gathered into one call, though the lane was idle.
  const first = [commit.enqueue(lane, 'a'), commit.enqueue(lane, 'b')];
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(calls, [['a', 'b']]);
  // A second call may start while the first is in flight; it carries at most 3 in size,
  // and a batch larger than that alone still goes.
  const second = [
    commit.enqueue(lane, 'cc'),
    commit.enqueue(lane, 'd'),
    commit.enqueue(lane, 'eeee'),
  ];
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(calls, [
    ['a', 'b'],
    ['cc', 'd'],
  ]);
  const third = commit.enqueue(lane, 'f');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(calls.length, 2, 'no third call while two are in flight');
  while (calls.length < 4 || releases.length > 0) {
    releases.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.deepEqual(await Promise.all([...first, ...second, third]), [
    'a stored',
    'b stored',
    'cc stored',
    'd stored',
    'eeee stored',
    'f stored',
  ]);
  assert.deepEqual(calls.slice(2), [['eeee'], ['f']]);
});
