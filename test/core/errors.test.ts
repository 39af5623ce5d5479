import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CircuitOpenError,
  ConfigError,
  EngineUnavailableError,
  isCircuitOpenError,
  isConfigError,
  isEngineUnavailableError,
  isSluiceError,
  isTimeoutError,
  retryAfterOf,
  SluiceError,
  TimeoutError,
} from '../../src/core/errors.js';

test('errors carry a stable code, a name, the cause and a retryAfter hint', () => {
  const cause = new Error('socket hang up');
  const error = new CircuitOpenError('payment is open', { cause, retryAfter: 1500 });
  assert.equal(error.code, 'SLUICE_CIRCUIT_OPEN');
  assert.equal(error.name, 'CircuitOpenError');
  assert.equal(error.cause, cause);
  assert.equal(retryAfterOf(error), 1500);
  assert.equal(new TimeoutError(250).message, 'Operation timed out after 250 ms');
  assert.equal(new EngineUnavailableError('down').code, 'SLUICE_ENGINE_UNAVAILABLE');
});

test('type guards check the code, and reject look-alikes that are not ours', () => {
  const timeout = new TimeoutError(10);
  assert.equal(isTimeoutError(timeout), true);
  assert.equal(isCircuitOpenError(timeout), false);
  assert.equal(isSluiceError(timeout), true);
  assert.equal(isSluiceError(timeout, 'SLUICE_TIMEOUT'), true);
  assert.equal(isEngineUnavailableError(new EngineUnavailableError('down')), true);
  const lookAlike = Object.assign(new Error('x'), { code: 'SLUICE_TIMEOUT' });
  assert.equal(isTimeoutError(lookAlike), false);
  assert.equal(isSluiceError(null), false);
  assert.equal(isSluiceError('SLUICE_TIMEOUT'), false);
});

test('type guards hold across two copies of the package', async () => {
  // A second evaluation of the module stands in for a duplicate install.
  const copy = (await import(
    `../../src/core/errors.ts?copy=${Date.now()}`
  )) as typeof import('../../src/core/errors.js');
  assert.notEqual(copy.SluiceError, SluiceError);
  const foreign = new copy.TimeoutError(5);
  assert.equal(foreign instanceof SluiceError, false);
  assert.equal(isTimeoutError(foreign), true);
  assert.equal(copy.isTimeoutError(new TimeoutError(5)), true);
});

test('retryAfterOf ignores hints that are not usable delays', () => {
  assert.equal(retryAfterOf({ retryAfter: -1 }), undefined);
  assert.equal(retryAfterOf({ retryAfter: Number.NaN }), undefined);
  assert.equal(retryAfterOf({ retryAfter: '5' }), undefined);
  assert.equal(retryAfterOf(undefined), undefined);
  assert.equal(retryAfterOf({ retryAfter: 0 }), 0);
});

test('a ConfigError lists every problem with its place', () => {
  const error = new ConfigError([
    { file: 'a.yaml', line: 3, column: 5, path: 'gateway.listen', message: 'expected a port' },
    { file: 'a.yaml', line: 0, column: 0, path: '', message: 'file not found' },
  ]);
  assert.equal(isConfigError(error), true);
  assert.equal(
    error.message,
    'Invalid configuration (2 problems):\n  a.yaml:3:5 gateway.listen: expected a port\n  a.yaml (root): file not found',
  );
});
