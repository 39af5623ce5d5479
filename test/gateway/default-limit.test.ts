import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, before, describe, it } from 'node:test';
import type { ConcurrencyLimitEvent, ShedEvent } from '../../src/core/diagnostics.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { call, startUpstream, type TestUpstream } from './helpers.js';

const CALLERS = 64;
const CALLS_EACH = 80;

/**
 * Whatever the machine's load, the limit may measure the gateway's CPU wait as latency and
 * fall as low as its floor (16), and the minimum-RTT probe holds it there by design. The
 * callers it then cannot admit wait in its queue (100 long), which refuses them only when
 * no call to the upstream has ended for a second: robust by construction, not by margin.
 */
describe('the default adaptive limit in front of a fast upstream, on a busy machine', () => {
  let upstream: TestUpstream;
  let gw: Gateway;
  let busy: ChildProcess;
  let lowest = Number.POSITIVE_INFINITY;
  const onLimit = (message: unknown): void => {
    const { name, limit } = message as ConcurrencyLimitEvent;
    if (name === 'fast') lowest = Math.min(lowest, limit);
  };
  const shed = new Map<string, number>();
  const onShed = (message: unknown): void => {
    const { name } = message as ShedEvent;
    shed.set(name, (shed.get(name) ?? 0) + 1);
  };

  before(async () => {
    // Another process keeps a core busy, so the gateway waits for its CPU as it would on a
    // shared machine, and every latency it measures carries that wait.
    busy = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    busy.on('error', () => {});
    upstream = await startUpstream((_, respond) => respond(200, {}, 'ok'));
    gw = await Gateway.start({
      listen: 0,
      upstreams: { fast: { targets: [upstream.url] } },
      routes: [{ path: '/*', upstream: 'fast' }],
      // The gateway-wide shedder refuses everything while the event loop lags 500 ms, which
      // a machine loaded enough can cause: that defence is the process's, not the limit's.
      shedding: false,
    });
    subscribe('sluice:concurrency:limit', onLimit);
    subscribe('sluice:shed', onShed);
  });

  after(async () => {
    unsubscribe('sluice:concurrency:limit', onLimit);
    unsubscribe('sluice:shed', onShed);
    busy.kill('SIGKILL');
    await gw.close();
    await upstream.close();
  });

  it(`answers ${CALLERS} concurrent callers without a single 503`, async () => {
    const statuses = new Map<number, number>();
    const caller = async (): Promise<void> => {
      for (let i = 0; i < CALLS_EACH; i++) {
        const reply = await call(`${gw.url}/ping`);
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: CALLERS }, caller));
    assert.deepEqual(
      Object.fromEntries(statuses),
      { 200: CALLERS * CALLS_EACH },
      `the limit fell to ${lowest}; refusals: ${JSON.stringify(Object.fromEntries(shed))}`,
    );
  });
});
