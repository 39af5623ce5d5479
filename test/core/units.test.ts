import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  isSluiceError,
  isUnit,
  parseDuration,
  parsePercent,
  parseRate,
  parseSize,
} from '../../src/core/index.js';

function rejects(fn: () => unknown, expected: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isSluiceError(error, 'SLUICE_INVALID_ARGUMENT'));
    assert.match(error.message, expected);
    return true;
  });
}

describe('parseDuration', () => {
  test('reads each unit, decimals, compounds and plain ms', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('2s'), 2000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('1m'), 60_000);
    assert.equal(parseDuration('5min'), 300_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('2d'), 172_800_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration(' 2S '), 2000);
    assert.equal(parseDuration('750'), 750);
    assert.equal(parseDuration(40), 40);
    assert.equal(parseDuration(0), 0);
  });

  test('rejects what is not a duration, saying what was expected', () => {
    for (const bad of ['', 'fast', '2 secs', '2sx', 's', '-1s', '1..5s', '2s3']) {
      rejects(() => parseDuration(bad), /expected a duration such as 2s or 250ms/);
    }
    rejects(() => parseDuration(-5), /got -5/);
    rejects(() => parseDuration(Number.NaN), /duration/);
    rejects(() => parseDuration(Number.POSITIVE_INFINITY), /duration/);
  });
});

describe('parseSize', () => {
  test('reads bytes and binary multiples', () => {
    assert.equal(parseSize('512b'), 512);
    assert.equal(parseSize('64kb'), 65_536);
    assert.equal(parseSize('1mb'), 1_048_576);
    assert.equal(parseSize('1MiB'), 1_048_576);
    assert.equal(parseSize('2gb'), 2 * 1024 ** 3);
    assert.equal(parseSize('1.5kb'), 1536);
    assert.equal(parseSize('100'), 100);
    assert.equal(parseSize(100), 100);
  });

  test('rejects unknown units, negatives and fractions of a byte count', () => {
    for (const bad of ['', 'big', '64 kilobytes', '1tb', '-1kb']) {
      rejects(() => parseSize(bad), /expected a size such as 64kb or 1mb/);
    }
    rejects(() => parseSize(1.5), /got 1.5/);
    rejects(() => parseSize(-1), /size/);
  });
});

describe('parseRate', () => {
  test('reads a count per unit or per duration', () => {
    assert.deepEqual(parseRate('20/s'), { limit: 20, periodMs: 1000 });
    assert.deepEqual(parseRate('5/min'), { limit: 5, periodMs: 60_000 });
    assert.deepEqual(parseRate('5/m'), { limit: 5, periodMs: 60_000 });
    assert.deepEqual(parseRate('100/h'), { limit: 100, periodMs: 3_600_000 });
    assert.deepEqual(parseRate('1000 / day'), { limit: 1000, periodMs: 86_400_000 });
    assert.deepEqual(parseRate('100/10s'), { limit: 100, periodMs: 10_000 });
  });

  test('rejects zero, fractions, unknown periods and numbers', () => {
    for (const bad of ['20', '20/x', '0/s', '1.5/s', '/s', '20/0s', '20/', 'ten/s']) {
      rejects(() => parseRate(bad), /expected a rate such as 20\/s or 5\/min/);
    }
    rejects(() => parseRate(20 as unknown as string), /rate/);
  });
});

describe('parsePercent', () => {
  test('reads percentages and fractions', () => {
    assert.equal(parsePercent('50%'), 0.5);
    assert.equal(parsePercent('12.5%'), 0.125);
    assert.equal(parsePercent('0%'), 0);
    assert.equal(parsePercent('100%'), 1);
    assert.equal(parsePercent(0.1), 0.1);
  });

  test('rejects out-of-range values and missing signs', () => {
    for (const bad of ['50', '150%', '-5%', 'half', '%']) {
      rejects(() => parsePercent(bad), /expected a percentage such as 50%/);
    }
    rejects(() => parsePercent(1.5), /got 1.5/);
  });
});

test('isUnit answers without throwing, and rates are never plain numbers', () => {
  assert.equal(isUnit('duration', '2s'), true);
  assert.equal(isUnit('duration', 'soon'), false);
  assert.equal(isUnit('duration', 5), true);
  assert.equal(isUnit('size', {}), false);
  assert.equal(isUnit('rate', 20), false);
  assert.equal(isUnit('percent', 0.5), true);
  assert.equal(isUnit('percent', true), false);
});
