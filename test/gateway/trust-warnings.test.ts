import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runValidate } from '../../src/cli/validate.js';
import type { GatewayConfig } from '../../src/gateway/config.js';
import { trustedProxyWarnings } from '../../src/gateway/trust-warnings.js';

const routes: GatewayConfig['routes'] = [{ path: '/', upstream: 'http://127.0.0.1:1' }];
const warned = (listen: string | number | undefined, trustedProxies: string[]): string[] =>
  trustedProxyWarnings({ ...(listen === undefined ? {} : { listen }), trustedProxies, routes }).map(
    (w) => String(w.segments[1]),
  );

describe('trustedProxyWarnings', () => {
  it('reports loopback entries when the listener is on loopback', () => {
    assert.deepEqual(warned('127.0.0.1:8080', ['127.0.0.1', '10.0.0.7']), ['0']);
    assert.deepEqual(warned(8080, ['127.0.0.0/8']), ['0']);
    assert.deepEqual(warned('[::1]:8080', ['::1', '203.0.113.9']), ['0']);
    assert.deepEqual(warned('localhost:8080', ['0.0.0.0/0']), ['0']);
  });

  it('reports loopback and private ranges when the listener is on every interface', () => {
    assert.deepEqual(
      warned('0.0.0.0:8080', ['203.0.113.9', '10.1.2.3', '172.16.0.0/12', '127.0.0.1', 'fd00::1']),
      ['1', '2', '3', '4'],
    );
    assert.deepEqual(warned('[::]:8080', ['192.168.1.0/24']), ['0']);
  });

  it('on one address, reports the entry that covers that address', () => {
    assert.deepEqual(warned('10.0.0.5:8080', ['10.0.0.2', '10.0.0.0/24', '127.0.0.1']), ['1']);
  });

  it('reports nothing without trusted proxies', () => {
    assert.deepEqual(warned('0.0.0.0:8080', []), []);
  });
});

describe('sluice validate with warnings', () => {
  it('prints each warning with its line and path, and still passes the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gwhard-validate-'));
    try {
      const file = join(dir, 'sluice.yaml');
      writeFileSync(
        file,
        [
          'version: 1',
          'gateway:',
          '  listen: 127.0.0.1:8080',
          '  trustedProxies: [10.0.0.2, 127.0.0.1]',
          '  routes: [{ path: /, upstream: "http://127.0.0.1:3001" }]',
          '',
        ].join('\n'),
      );
      const out: string[] = [];
      const err: string[] = [];
      const code = await runValidate([file], { out: (l) => out.push(l), err: (l) => err.push(l) });
      assert.equal(code, 0);
      assert.deepEqual(out, [`${file}: valid, 1 warning`]);
      assert.equal(err.length, 1);
      assert.ok(err[0]!.startsWith(`  ${file}:4:`), err[0]);
      assert.match(err[0]!, /gateway\.trustedProxies\[1\]: warning: 127\.0\.0\.1 is trusted/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has nothing to say about the storefront', async () => {
    const file = fileURLToPath(new URL('../../examples/storefront/sluice.yaml', import.meta.url));
    const out: string[] = [];
    const err: string[] = [];
    const code = await runValidate([file], { out: (l) => out.push(l), err: (l) => err.push(l) });
    assert.equal(code, 0);
    assert.deepEqual(err, []);
    assert.deepEqual(out, [`${file}: valid`]);
  });
});
