import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Gateway } from '../../../src/gateway/gateway.js';
import { requireEngine } from '../../support/engines.js';
import { call, startUpstream, type TestUpstream } from '../helpers.js';

describe('gateway rate limits shared through Redis', () => {
  let upstream: TestUpstream;
  const gateways: Gateway[] = [];

  before(async () => {
    await requireEngine('redis');
    upstream = await startUpstream();
    const name = `login-${randomUUID()}`;
    for (let i = 0; i < 2; i++) {
      gateways.push(
        await Gateway.start({
          listen: 0,
          metrics: false,
          routes: [
            {
              name,
              path: '/login',
              upstream: upstream.url,
              rateLimit: {
                by: 'ip',
                limit: '4/min',
                store: 'redis://127.0.0.1:6379',
                // A loaded test machine can be slow; the default would fail open early.
                storeTimeout: '5s',
              },
            },
          ],
        }),
      );
    }
  });

  after(async () => {
    for (const gw of gateways) await gw.close();
    await upstream?.close();
  });

  it('counts requests to every gateway instance against one allowance', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await call(`${gateways[i % 2]!.url}/login`)).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
    const refused = await call(`${gateways[0]!.url}/login`);
    assert.ok(Number(refused.headers['retry-after']) >= 1);
  });
});
