import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ConfigProblem, isConfigError, parseConfig } from '../../src/core/index.js';
import { drivers, loadSluiceConfig, sluiceSchema } from '../../src/runtime/config/index.js';

function problems(text: string): ConfigProblem[] {
  try {
    parseConfig(text, { file: 's.yaml', schema: sluiceSchema, env: {} });
  } catch (error) {
    assert.ok(isConfigError(error), String(error));
    return [...error.problems];
  }
  return [];
}

describe('the sluice.yaml schema', () => {
  test('accepts the storefront sketch and returns it as written', async () => {
    const file = fileURLToPath(new URL('./fixtures/valid.yaml', import.meta.url));
    const config = await loadSluiceConfig(file, { env: { SLUICE_DRIVER: 'redis' } });
    assert.equal(config.messaging?.driver, 'redis');
    assert.deepEqual(
      config.gateway?.routes.map((r) => r.path),
      ['/login', '/api/products/*', '/api/orders/*'],
    );
    assert.equal(config.services?.orders?.instances, 2);
    assert.equal(config.services?.fulfillment?.policies?.payment?.breaker?.slowCall, '500ms');
  });

  test('the gateway takes only the policies it implements; sidecars take all', () => {
    const route =
      'gateway: { routes: [{ path: /a, upstream: a, resilience: { retry: { backoff: decorrelated } } }] }';
    const gateway = problems(`version: 1\n${route}\n`);
    assert.equal(gateway.length, 1);
    assert.equal(gateway[0]!.path, 'gateway.routes[0].resilience.retry.backoff');
    const service =
      'services: { a: { command: x, policies: { b: { retry: { backoff: decorrelated } } } } }';
    assert.deepEqual(problems(`version: 1\nmesh: { enabled: true }\n${service}\n`), []);
  });

  test('needs version 1 and nothing else at the top', () => {
    assert.deepEqual(
      problems('version: 1\nextra: true\n').map((p) => [p.line, p.path, p.message]),
      [
        [
          2,
          'extra',
          'unknown key "extra" (allowed: version, messaging, telemetry, control, dashboard, mesh, gateway, services)',
        ],
      ],
    );
    assert.match(
      problems('messaging: { driver: memory }\n')[0]!.message,
      /missing required key "version"/,
    );
    assert.match(problems('version: 2\n')[0]!.message, /expected 1 \(got 2\)/);
  });

  test('dashboard takes false, or a port and a token', () => {
    assert.deepEqual(problems('version: 1\ndashboard: false\n'), []);
    assert.deepEqual(problems('version: 1\ndashboard: { port: 9467, token: s3cret }\n'), []);
    assert.notDeepEqual(problems('version: 1\ndashboard: true\n'), []);
    assert.notDeepEqual(problems('version: 1\ndashboard: { port: 70000 }\n'), []);
    assert.notDeepEqual(problems('version: 1\ndashboard: { listen: 0.0.0.0 }\n'), []);
  });

  test('every messaging driver is accepted and others are named', () => {
    for (const driver of drivers) {
      assert.deepEqual(problems(`version: 1\nmessaging: { driver: ${driver} }\n`), []);
    }
    assert.match(
      problems('version: 1\nmessaging: { driver: kafka }\n')[0]!.message,
      /^expected one of memory, sqlite, nats, redis, rabbitmq, postgres \(got "kafka"\)$/,
    );
  });

  test('service names, commands and policies are checked', () => {
    const text = [
      'version: 1',
      'services:',
      '  Orders:',
      '    command: node a.js',
      '  billing:',
      '    instances: 2',
      '    health: healthz',
      '    policies:',
      '      payment: { retry: { attempts: 3, backoff: linear }, bulkhead: { queue: 5 } }',
    ].join('\n');
    const found = problems(text).map((p) => `${p.line} ${p.path}: ${p.message}`);
    assert.ok(
      found.some((p) => p.startsWith('3 services.Orders: ')),
      found.join('\n'),
    );
    assert.ok(
      found.includes('5 services.billing: missing required key "command"'),
      found.join('\n'),
    );
    assert.ok(
      found.some((p) =>
        p.startsWith('7 services.billing.health: expected a path such as /healthz'),
      ),
    );
    assert.ok(
      found.some((p) =>
        p.startsWith('9 services.billing.policies.payment.retry.backoff: expected one of constant'),
      ),
    );
    assert.ok(
      found.some((p) => p.startsWith('9 services.billing.policies.payment.bulkhead: ')),
      found.join('\n'),
    );
  });

  test('listen takes a port or host:port', () => {
    assert.deepEqual(
      problems(
        'version: 1\ngateway: { listen: 8080, routes: [{ path: /, upstream: "http://127.0.0.1:9000" }] }\n',
      ),
      [],
    );
    assert.deepEqual(
      problems(
        'version: 1\ngateway: { listen: "[::1]:8080", routes: [{ path: /, upstream: "http://127.0.0.1:9000" }] }\n',
      ),
      [],
    );
    assert.match(
      problems(
        'version: 1\ngateway: { listen: everywhere, routes: [{ path: /, upstream: "http://127.0.0.1:9000" }] }\n',
      )[0]!.message,
      /expected a port or host:port/,
    );
  });
});
