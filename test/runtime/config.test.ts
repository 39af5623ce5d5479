import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type ConfigProblem, isConfigError } from '../../src/core/index.js';
import { splitCommand } from '../../src/runtime/command.js';
import {
  envName,
  loadSluiceConfig,
  parseSluiceConfig,
  startLevels,
  startOrder,
} from '../../src/runtime/index.js';
import { planService } from '../../src/runtime/plan.js';
import { tempDir } from './helpers.js';

function problems(text: string): ConfigProblem[] {
  try {
    parseSluiceConfig(text, { file: 's.yaml', env: {} });
  } catch (error) {
    assert.ok(isConfigError(error), String(error));
    return [...error.problems];
  }
  return [];
}

const shown = (found: ConfigProblem[]): string[] =>
  found.map((p) => `${p.line} ${p.path}: ${p.message}`);

describe('sluice.yaml as a whole system', () => {
  test('an unknown upstream is named with its line and path', () => {
    const text = [
      'version: 1',
      'services:',
      '  api:',
      '    command: node api.js',
      '    upstreams: [db, payment]',
      '  db: { command: node db.js }',
    ].join('\n');
    assert.deepEqual(shown(problems(text)), [
      '5 services.api.upstreams[1]: unknown service "payment" (declared: api, db)',
    ]);
  });

  test('a dependency cycle is a problem at the call that closes it', () => {
    const text = [
      'version: 1',
      'services:',
      '  a: { command: x, upstreams: [b] }',
      '  b: { command: x, upstreams: [c] }',
      '  c: { command: x, upstreams: [a] }',
      '  d: { command: x, upstreams: [d] }',
      "  e: { command: 'node \"open' }",
    ].join('\n');
    assert.deepEqual(shown(problems(text)), [
      '5 services.c.upstreams[0]: dependency cycle: a → b → c → a',
      '6 services.d.upstreams[0]: dependency cycle: d → d',
      '7 services.e.command: unterminated " in command: node "open',
    ]);
  });

  test('instance ports may not overlap', () => {
    const text = [
      'version: 1',
      'services:',
      '  a: { command: x, port: 4000, instances: 3 }',
      '  b: { command: x, port: 4002 }',
      '  c: { command: x, port: 65535, instances: 2 }',
    ].join('\n');
    assert.deepEqual(shown(problems(text)), [
      '4 services.b.port: port 4002 already taken by services.a.port (ports 4000-4002)',
      '5 services.c.port: ports 65535-65536 for its instances go past 65535',
    ]);
  });

  test('routes, policies and ports must refer to what the other sections declare', () => {
    const text = [
      'version: 1',
      'telemetry: { metrics: { port: 4001 } }',
      'control: { port: 8080 }',
      'gateway:',
      '  upstreams: { legacy: { targets: ["http://127.0.0.1:9"] } }',
      '  routes:',
      '    - { path: /a, upstream: legacy }',
      '    - { path: /b, upstream: orders }',
      '    - { path: /c, upstream: "http://127.0.0.1:9" }',
      '    - { path: /d, upstream: ordrs }',
      'services:',
      '  orders:',
      '    command: x',
      '    port: 4000',
      '    instances: 2',
      '    upstreams: [payment]',
      '    policies: { payment: { timeout: 1s }, stripe: { timeout: 1s }, billing: { timeout: 1s } }',
      '  payment: { command: x }',
      '  billing: { command: x }',
      // Policies are the sidecars': without the mesh they are refused before anything else.
      'mesh: { enabled: true }',
    ].join('\n');
    assert.deepEqual(shown(problems(text)), [
      // The gateway listens on 8080 by default.
      '3 control.port: port 8080 already taken by gateway (port 8080)',
      '10 gateway.routes[3].upstream: unknown upstream "ordrs" (did you mean "orders"? declared as gateway upstreams or services: legacy, orders, payment, billing); a URL such as http://host:port works too',
      '14 services.orders.port: ports 4000-4001 already taken by telemetry.metrics.port (port 4001)',
      '17 services.orders.policies.stripe: unknown service "stripe" (declared: orders, payment, billing)',
      '17 services.orders.policies.billing: "billing" is not among the upstreams of "orders": policies apply to calls to an upstream (add it to upstreams)',
    ]);
  });

  test('reference problems are reported together with schema problems', () => {
    const text = [
      'version: 1',
      'gateway:',
      '  routes: [{ path: /a, upstream: nowhere, auth: maybe }]',
      'services:',
      '  a: { command: x, instances: 0, upstreams: [ghost] }',
    ].join('\n');
    const found = shown(problems(text));
    assert.equal(found.length, 4, found.join('\n'));
    assert.match(found[0]!, /^3 gateway\.routes\[0\]\.upstream: unknown upstream "nowhere"/);
    assert.match(found[1]!, /^3 gateway\.routes\[0\]\.auth: expected none/);
    assert.match(found[2]!, /^5 services\.a\.instances: expected a number >= 1/);
    assert.match(found[3]!, /^5 services\.a\.upstreams\[0\]: unknown service "ghost"/);
  });

  test('schema problems still come first, with the new health and restart keys', () => {
    const text = [
      'version: 1',
      'services:',
      '  a:',
      '    command: x',
      '    health: { path: /healthz, startTimeout: soon }',
      '    restart: { policy: sometimes }',
    ].join('\n');
    const found = shown(problems(text));
    assert.equal(found.length, 2, found.join('\n'));
    assert.match(found[0]!, /^5 services\.a\.health\.startTimeout: expected a duration/);
    assert.match(
      found[1]!,
      /^6 services\.a\.restart\.policy: expected one of always, on-failure, never/,
    );
  });

  test('policies and authorization without the mesh are refused, not ignored', () => {
    const text = [
      'version: 1',
      'services:',
      '  payment:',
      '    command: node payment.js',
      '    authorization: { default: deny }',
      '  fulfillment:',
      '    command: node fulfillment.js',
      '    upstreams: [payment]',
      '    policies: { payment: { timeout: 1s } }',
    ].join('\n');
    assert.deepEqual(
      shown(problems(text)).map((line) => line.replace(/:.*/s, '')),
      ['5 services.payment.authorization', '9 services.fulfillment.policies'],
    );
    assert.match(problems(text)[0]!.message, /mesh: \{ enabled: true \}/);
    assert.deepEqual(problems(`${text}\nmesh: { enabled: false }`).length, 2);
    const meshed = parseSluiceConfig(
      `${text}\nmesh: { enabled: true, trustDomain: shop.internal }`,
    );
    assert.equal(meshed.mesh?.trustDomain, 'shop.internal');
    assert.match(
      shown(problems(`${text}\nmesh: { trustDomain: Shop }`)).join('\n'),
      /mesh\.trustDomain: expected a trust domain/,
    );
  });

  test('a messaging prefix must be one word every engine accepts as a name', () => {
    const file = (prefix: string) =>
      `version: 1\nmessaging: { driver: postgres, url: "postgres://db/app", prefix: "${prefix}" }\n`;
    assert.deepEqual(problems(file('shop_2')), []);
    for (const bad of ['Shop', 'shop-eu', 'shop.eu', '2shop', '']) {
      const found = shown(problems(file(bad)));
      assert.equal(found.length, 1, found.join('\n'));
      assert.match(found[0]!, /^2 messaging\.prefix: /);
    }
  });

  test('a messaging prefix must fit the name its driver makes of it', () => {
    const file = (driver: string, prefix: string) =>
      `version: 1\nmessaging: { driver: ${driver}, url: "x://h", prefix: ${prefix} }\n`;
    const long = `a${'b'.repeat(40)}`;
    assert.deepEqual(problems(file('redis', long)), []);
    assert.deepEqual(problems(file('nats', 'a'.repeat(32))), []);
    assert.match(
      shown(problems(file('nats', 'a'.repeat(33)))).join('\n'),
      /^2 messaging\.prefix: the nats driver's prefix: /,
    );
    assert.match(
      shown(problems(file('postgres', long))).join('\n'),
      /^2 messaging\.prefix: the postgres driver's schema: /,
    );
  });

  test('loadSluiceConfig names the file in system problems', async () => {
    const file = join(tempDir(), 'sluice.yaml');
    writeFileSync(file, 'version: 1\nservices:\n  a: { command: x, upstreams: [nope] }\n');
    await assert.rejects(loadSluiceConfig(file), (error: unknown) => {
      assert.ok(isConfigError(error));
      assert.equal(error.problems[0]!.file, file);
      assert.equal(error.problems[0]!.line, 3);
      assert.match(
        error.message,
        /sluice\.yaml:3:\d+ services\.a\.upstreams\[0\]: unknown service "nope"/,
      );
      return true;
    });
  });

  test('services start after what they call, in declaration order otherwise', () => {
    const services = {
      web: { upstreams: ['api', 'auth'] },
      api: { upstreams: ['db'] },
      auth: {},
      db: {},
      lone: {},
    };
    assert.deepEqual(startOrder(services), ['db', 'api', 'auth', 'web', 'lone']);
  });

  test('services that call none of each other share a start level', () => {
    const services = {
      web: { upstreams: ['api', 'auth'] },
      api: { upstreams: ['db'] },
      auth: {},
      db: {},
      lone: {},
      report: { upstreams: ['db'] },
    };
    assert.deepEqual(startLevels(services), [['db', 'auth', 'lone'], ['api', 'report'], ['web']]);
  });

  test('callers find an upstream in <NAME>_URL', () => {
    assert.equal(envName('payment'), 'PAYMENT_URL');
    assert.equal(envName('payment-eu'), 'PAYMENT_EU_URL');
  });

  test('a service plan applies defaults and turns units into milliseconds', () => {
    const plan = planService('a', {
      command: 'x',
      health: { path: '/h', interval: '2s', startTimeout: '1m' },
      restart: { policy: 'always', backoff: '250ms', maxBackoff: '5s' },
      env: { N: 3, B: true },
    });
    assert.equal(plan.instances, 1);
    assert.deepEqual(plan.health, {
      path: '/h',
      intervalMs: 2000,
      timeoutMs: 2000,
      unhealthyThreshold: 3,
    });
    assert.equal(plan.startTimeoutMs, 60_000);
    assert.deepEqual(plan.restart, { policy: 'always', initialDelayMs: 250, maxDelayMs: 5000 });
    assert.deepEqual(plan.env, { N: '3', B: 'true' });
    assert.equal(planService('b', { command: 'x' }).restart.policy, 'on-failure');
  });

  test('a command splits into words as a shell would, without running one', () => {
    assert.deepEqual(splitCommand(`node  "my app.js" --name='a b' x\\ y`), [
      'node',
      'my app.js',
      '--name=a b',
      'x y',
    ]);
    assert.deepEqual(splitCommand(`echo "" 'it''s'`), ['echo', '', 'its']);
    assert.throws(() => splitCommand('node "open'), /unterminated "/);
  });
});
