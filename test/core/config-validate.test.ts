// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config text with ${VAR} references
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type ConfigError,
  type ConfigProblem,
  isConfigError,
  parseConfig,
  type SchemaObject,
} from '../../src/core/index.js';

const schema: SchemaObject = {
  type: 'object',
  additionalProperties: false,
  required: ['version'],
  properties: {
    version: { const: 1 },
    messaging: {
      type: 'object',
      additionalProperties: false,
      properties: {
        driver: { enum: ['memory', 'sqlite', 'nats', 'redis', 'rabbitmq', 'postgres'] },
        url: { type: 'string' },
      },
    },
    gateway: {
      type: 'object',
      additionalProperties: false,
      properties: {
        listen: { type: 'string' },
        routes: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['path'],
            properties: {
              path: { type: 'string', pattern: '^/', expected: 'a path starting with /' },
              timeout: { unit: 'duration' },
              maxBytes: { type: 'string', format: 'size' },
              auth: {
                anyOf: [
                  { enum: ['none', 'jwt'] },
                  {
                    type: 'object',
                    additionalProperties: false,
                    properties: { jwt: { type: 'object' } },
                  },
                ],
              },
              rateLimit: {
                type: 'object',
                additionalProperties: false,
                properties: { limit: { unit: 'rate' }, burst: { type: 'integer', minimum: 1 } },
              },
              breaker: {
                type: 'object',
                properties: { failureRate: { unit: 'percent' } },
              },
            },
          },
        },
      },
    },
  },
};

function problemsOf(text: string): ConfigProblem[] {
  try {
    parseConfig(text, { file: 'sluice.yaml', schema, env: {} });
  } catch (error) {
    assert.ok(isConfigError(error), String(error));
    return [...(error as ConfigError).problems];
  }
  assert.fail('expected a ConfigError');
}

const brief = (p: ConfigProblem): string => `${p.line}:${p.column} ${p.path}: ${p.message}`;

describe('schema problems', () => {
  test('a valid file returns the plain object', () => {
    const value = parseConfig<{ gateway: { routes: { timeout: string }[] } }>(
      'version: 1\ngateway:\n  routes:\n    - { path: /a, timeout: 2s, rateLimit: { limit: 20/s } }\n',
      { schema },
    );
    assert.equal(value.gateway.routes[0]!.timeout, '2s');
  });

  test('every problem is listed at once, in file order, with its line and key path', () => {
    const text = [
      'version: 2', // 1
      'messaging:', // 2
      '  driver: kafka', // 3
      'gateway:', // 4
      '  lisen: 0.0.0.0:8080', // 5
      '  routes:', // 6
      '    - path: api', // 7
      '      timeout: 2 secs', // 8
      '    - path: /b', // 9
      '      maxBytes: huge', // 10
      '      rateLimit:', // 11
      '        limit: 20/x', // 12
      '        burst: 0', // 13
      '      breaker: { failureRate: 150% }', // 14
      '    - timeout: 1s', // 15
    ].join('\n');
    assert.deepEqual(problemsOf(text).map(brief), [
      '1:1 version: expected 1 (got 2)',
      '3:3 messaging.driver: expected one of memory, sqlite, nats, redis, rabbitmq, postgres (got "kafka")',
      '5:3 gateway.lisen: unknown key "lisen" (did you mean "listen"?)',
      '7:7 gateway.routes[0].path: expected a path starting with / (got "api")',
      '8:7 gateway.routes[0].timeout: expected a duration such as 2s or 250ms (got "2 secs")',
      '10:7 gateway.routes[1].maxBytes: expected a size such as 64kb or 1mb (got "huge")',
      '12:9 gateway.routes[1].rateLimit.limit: expected a rate such as 20/s or 5/min (got "20/x")',
      '13:9 gateway.routes[1].rateLimit.burst: expected a number >= 1 (got 0)',
      '14:18 gateway.routes[1].breaker.failureRate: expected a percentage such as 50% (got "150%")',
      '15:7 gateway.routes[2]: missing required key "path"',
    ]);
  });

  test('a missing top-level key points at the document start', () => {
    assert.deepEqual(problemsOf('messaging: { driver: memory }\n').map(brief), [
      '1:1 : missing required key "version"',
    ]);
  });

  test('an empty file is not a mapping', () => {
    assert.deepEqual(problemsOf('').map(brief), ['1:1 : expected a mapping (got null)']);
    assert.deepEqual(problemsOf('# only a comment\n').map(brief), [
      '1:1 : expected a mapping (got null)',
    ]);
  });

  test('wrong types are named in plain words', () => {
    const problems = problemsOf('version: 1\ngateway:\n  routes: { path: /a }\n');
    assert.deepEqual(problems.map(brief), ['3:3 gateway.routes: expected a list (got a mapping)']);
    assert.deepEqual(problemsOf('[1, 2]\n').map(brief), ['1:1 : expected a mapping (got a list)']);
  });

  test('anyOf reports the branch the value fits, or what any branch would take', () => {
    const text = [
      'version: 1',
      'gateway:',
      '  routes:',
      '    - { path: /a, auth: basic }',
      '    - { path: /b, auth: { jwt: {}, roles: [x] } }',
      '    - { path: /c, auth: 7 }',
    ].join('\n');
    assert.deepEqual(problemsOf(text).map(brief), [
      '4:19 gateway.routes[0].auth: expected none, jwt or a mapping (got "basic")',
      '5:36 gateway.routes[1].auth.roles: unknown key "roles" (allowed: jwt)',
      '6:19 gateway.routes[2].auth: expected none, jwt or a mapping (got 7)',
    ]);
  });

  test('keys that are not identifiers are quoted in paths', () => {
    const problems = problemsOf('version: 1\n"my.key": 1\n');
    assert.equal(problems[0]!.path, '["my.key"]');
  });

  test('an invalid schema is a programming error, not a config problem', () => {
    assert.throws(
      () => parseConfig('a: 1', { schema: { type: 'object', unit: 'furlongs' } }),
      (e) => !isConfigError(e),
    );
  });
});

describe('YAML problems', () => {
  test('a syntax error is reported at its line, without schema noise', () => {
    const problems = problemsOf('version: 1\ngateway:\n  routes: [\n    { path: /a\n');
    assert.ok(problems.length >= 1);
    assert.ok(problems.every((p) => p.message.startsWith('YAML syntax:')));
    assert.ok(
      problems.every((p) => p.line >= 3),
      problems.map(brief).join('\n'),
    );
  });

  test('an unquoted ${VAR} inside { } or [ ] gets a hint, a quoted one parses', () => {
    const problems = problemsOf('version: 1\nmessaging: { driver: sqlite, url: ${DATA}/db }\n');
    assert.ok(problems.length >= 1);
    assert.equal(problems[0]!.line, 2);
    assert.match(
      problems[0]!.message,
      /^YAML syntax: .*\(an unquoted \$\{DATA\} inside \{ \} or \[ \] opens a mapping: quote the value, as in "\$\{DATA\}"\)$/,
    );
    const list = problemsOf('version: 1\ngateway: { trustedProxies: [${PROXY}] }\n');
    assert.match(list[0]!.message, /an unquoted \$\{PROXY\} inside/);
    const other = problemsOf('version: 1\ngateway:\n  routes: [\n    { path: /a\n');
    assert.ok(
      other.every((p) => !p.message.includes('unquoted')),
      'no hint without ${',
    );
  });

  test('a duplicate key is reported at the duplicate', () => {
    const problems = problemsOf('version: 1\nmessaging:\n  driver: memory\n  driver: sqlite\n');
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.line, 4);
    assert.match(problems[0]!.message, /unique/);
  });

  test('a missing variable is reported once, not again as a schema problem', () => {
    const problems = problemsOf('version: 1\nmessaging:\n  driver: ${DRIVER}\n');
    assert.deepEqual(problems.map(brief), [
      '3:11 messaging.driver: environment variable "DRIVER" is not set (write ${DRIVER:-default} to give a default)',
    ]);
  });

  test('an interpolated value is validated as its final value', () => {
    const problems = problemsOf('version: 1\nmessaging:\n  driver: ${DRIVER:-kafka}\n');
    assert.match(problems[0]!.message, /expected one of memory.*\(got "kafka"\)/);
    assert.equal(problems[0]!.line, 3);
  });
});
