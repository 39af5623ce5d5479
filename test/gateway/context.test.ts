import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FilterFactory } from '../../src/gateway/compile.js';
import { Gateway } from '../../src/gateway/gateway.js';
import type { Exchange } from '../../src/gateway/handle.js';
import { call, startUpstream } from './helpers.js';

describe('the request context', () => {
  it('is one: identity written after a policy reaches the access log', async () => {
    const upstream = await startUpstream();
    let exchanged: (e: Exchange) => void = () => {};
    const exchange = new Promise<Exchange>((resolve) => {
      exchanged = resolve;
    });
    // Stands in for an auth filter a user orders after resilience, whose timeout hands the
    // filters after it a view of the context with the attempt's own signal.
    const identify: FilterFactory = () => (next) => (request, context) => {
      context.subject = 'late-alice';
      context.credential = 'apiKey';
      return next(request, context);
    };
    const gw = await Gateway.start(
      {
        listen: 0,
        metrics: false,
        routes: [
          {
            path: '/*',
            upstream: upstream.url,
            resilience: { timeout: '5s' },
            filters: ['resilience', 'headers'],
          },
        ],
      },
      { filters: { headers: identify }, onExchange: (e) => exchanged(e) },
    );
    try {
      assert.equal((await call(`${gw.url}/x`)).status, 200);
      assert.equal((await exchange).subject, 'late-alice');
    } finally {
      await gw.close();
      await upstream.close();
    }
  });
});
