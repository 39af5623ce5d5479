import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isConfigError } from '../../src/core/errors.js';
import { compile } from '../../src/gateway/compile.js';
import { loadGatewayConfig } from '../../src/gateway/config-file.js';
import { builtinFilters } from '../../src/gateway/filters/builtin.js';

describe('gateway configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-gw-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts the storefront example and compiles it', async () => {
    const config = await loadGatewayConfig(
      new URL('./fixtures/storefront.yaml', import.meta.url).pathname,
    );
    assert.equal(config.routes.length, 3);
    assert.equal(config.listen, '127.0.0.1:8080');
    const runtime = compile(config, builtinFilters());
    try {
      assert.deepEqual(
        runtime.routes.map((r) => r.name),
        ['login', 'products', 'orders'],
      );
      assert.equal(runtime.upstreams.get('catalog')!.targets.length, 2);
      assert.equal(runtime.policies.get('orders')!.breaker!.state, 'closed');
      assert.deepEqual([...runtime.limiters.keys()], ['login#0', 'login#1', 'orders']);
    } finally {
      await runtime.close();
    }
  });

  it('reports every problem with its line and key path', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      [
        'version: 1',
        'gateway:',
        '  routes:',
        '    - path: /a',
        '      upstream: x',
        '      rateLimit: { by: ip, limit: lots }',
        '      auth: password',
        '  auth:',
        '    jwt: { algorithms: [none] }',
        '',
      ].join('\n'),
    );
    await assert.rejects(loadGatewayConfig(file), (error: unknown) => {
      assert.ok(isConfigError(error));
      const paths = error.problems.map((p) => `${p.line} ${p.path}`);
      assert.ok(paths.includes('6 gateway.routes[0].rateLimit.limit'), paths.join('\n'));
      assert.ok(paths.includes('7 gateway.routes[0].auth'), paths.join('\n'));
      assert.ok(
        paths.some((p) => p.startsWith('9 gateway.auth.jwt.algorithms')),
        paths.join('\n'),
      );
      return true;
    });
  });

  it('refuses to compile a JWT setup that mixes HMAC and public-key algorithms', () => {
    assert.throws(
      () =>
        compile(
          {
            auth: { jwt: { algorithms: ['HS256', 'RS256'], jwks: 'http://127.0.0.1:1/jwks' } },
            routes: [{ path: '/a', upstream: 'http://127.0.0.1:1', auth: 'jwt' }],
          },
          builtinFilters(),
        ),
      /must not mix HS\* with public-key/,
    );
  });
});
