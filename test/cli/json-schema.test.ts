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
