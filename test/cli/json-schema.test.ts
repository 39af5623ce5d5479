// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config text with ${VAR} references
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { parse } from 'yaml';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

// What an editor's language server does with the shipped schema: a plain draft-07 validator
// that knows none of our keywords.
const validate = new Ajv({ allErrors: true, strict: false }).compile(
  JSON.parse(read('schema.json')),
);

describe('schema.json, the JSON Schema editors read', () => {
  test('is current with the schema sluice validate uses, and so is docs/configuration.md', () => {
    execFileSync(process.execPath, ['scripts/config-docs.mjs', '--check'], {
      cwd: new URL('../../', import.meta.url),
    });
  });

  test('describes every key it lists (config-docs refuses to write a key without one)', () => {
    const rows = read('docs/configuration.md')
      .split('\n')
      .filter((line) => line.startsWith('| `'));
    assert.ok(rows.length > 250, `only ${rows.length} rows`);
    for (const row of rows) {
      const notes = row.split(' | ').at(-1)!.replace(/ ?\|$/, '');
      assert.ok(notes.trim().length > 0, row);
    }
  });

  test('gives the defaults the code applies, in the form a user writes', () => {
    const reference = read('docs/configuration.md');
    const row = (key: string) =>
      reference.split('\n').find((line) => line.startsWith(`| \`${key}\` |`)) ?? '';
    const defaultOf = (key: string) => row(key).split(' | ')[3];
    assert.equal(defaultOf('gateway.limits.headersTimeout'), '`"10s"`');
    assert.equal(defaultOf('gateway.limits.maxBodySize'), '`"10mb"`');
    assert.equal(defaultOf('services.<name>.instances'), '`1`');
    assert.equal(defaultOf('telemetry.metrics.port'), '`9464`');
    assert.equal(defaultOf('dashboard.port'), '`9467`');
    assert.match(row('gateway.upstreams.<name>.targets'), /`\["http:\/\/127\.0\.0\.1:3001"\]`/);
  });

  test('takes every default and example it shows', () => {
    const check = new Ajv({ strict: false });
    let checked = 0;
    const walk = (schema: unknown, path: string, isMap = false): void => {
      if (schema === null || typeof schema !== 'object') return;
      const node = schema as Record<string, unknown>;
      for (const key of isMap ? [] : (['default', 'examples'] as const)) {
        if (node[key] === undefined) continue;
        const values = key === 'default' ? [node.default] : (node.examples as unknown[]);
        const valid = check.compile({ ...node, default: undefined, examples: undefined });
        for (const value of values) {
          assert.ok(valid(value), `${path} ${key} ${JSON.stringify(value)}`);
          checked++;
        }
      }
      for (const [key, sub] of Object.entries(node)) {
        if (isMap || (key !== 'default' && key !== 'examples')) {
          walk(sub, `${path}/${key}`, !isMap && key === 'properties');
        }
      }
    };
    walk(JSON.parse(read('schema.json')), '');
    assert.ok(checked > 100, `only ${checked} defaults and examples found`);
  });

  test('accepts the storefront and the example files', () => {
    for (const file of ['examples/storefront/sluice.yaml', 'test/cli/fixtures/valid.yaml']) {
      assert.ok(validate(parse(read(file))), `${file}: ${JSON.stringify(validate.errors)}`);
    }
  });

  test('flags what sluice validate refuses: unknown keys, bad enums, units that do not parse', () => {
    const cases = [
      'version: 1\nmessaging: { driver: sqlit }',
      'version: 1\ngateway: { lisen: 8080, routes: [] }',
      'version: 1\ngateway: { routes: [], limits: { headersTimeout: 10 seconds } }',
      'version: 1\ngateway: { routes: [], limits: { maxBodySize: 1 megabyte } }',
    ];
    for (const text of cases) assert.equal(validate(parse(text)), false, text);
  });

  test('lets any value be a ${VAR} reference, as the loader does', () => {
    assert.ok(validate(parse('version: 1\nmessaging: { driver: "${DRIVER:-sqlite}" }')));
    assert.equal(validate(parse('version: 1\nmessaging: { driver: "$DRIVER" }')), false);
  });

  test('takes every unit form the loader takes', () => {
    const ok =
      'version: 1\ngateway:\n  routes: [{ path: /a, upstream: a }]\n  upstreams: { a: { targets: [http://127.0.0.1:1] } }\n  limits: { headersTimeout: 1h30m, requestTimeout: 2500, maxBodySize: 64KiB, maxHeaderSize: 16kb }';
    assert.ok(validate(parse(ok)), JSON.stringify(validate.errors));
  });
});
