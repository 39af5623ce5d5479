// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config text with ${VAR} references
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ConfigError, interpolate, isConfigError, parseConfig } from '../../src/core/index.js';

describe('interpolate', () => {
  const env = { HOST: 'db.local', PORT: '5432', EMPTY: '' };

  test('replaces references, anywhere in the text', () => {
    assert.deepEqual(interpolate('postgres://${HOST}:${PORT}/app', env), {
      value: 'postgres://db.local:5432/app',
      problems: [],
    });
  });

  test('uses the default when the variable is unset or empty', () => {
    assert.equal(interpolate('${MISSING:-fallback}', env).value, 'fallback');
    assert.equal(interpolate('${EMPTY:-fallback}', env).value, 'fallback');
    assert.equal(interpolate('${HOST:-fallback}', env).value, 'db.local');
    assert.equal(interpolate('${MISSING:-}', env).value, '');
    assert.equal(interpolate('${MISSING:-a:b-c}', env).value, 'a:b-c');
  });

  test('an empty variable without a default is kept empty', () => {
    assert.deepEqual(interpolate('[${EMPTY}]', env), { value: '[]', problems: [] });
  });

  test('$${ is a literal ${, and a lone $ stays', () => {
    assert.equal(interpolate('$${HOST} costs $5', env).value, '${HOST} costs $5');
    assert.equal(interpolate('$$${HOST}', env).value, '$${HOST}');
  });

  test('reports a missing variable, a bad name and an unclosed reference', () => {
    assert.match(
      interpolate('${NOPE}', env).problems[0]!,
      /environment variable "NOPE" is not set/,
    );
    assert.match(interpolate('${1BAD}', env).problems[0]!, /invalid reference "\$\{1BAD\}"/);
    assert.match(interpolate('${HOST', env).problems[0]!, /unclosed "\$\{"/);
    assert.equal(interpolate('${A} ${B}', {}).problems.length, 2);
  });
});

describe('interpolation in a document', () => {
  const text = [
    'url: ${URL}', // 1
    'port: ${PORT:-8080}', // 2
    'quoted: "${PORT:-8080}"', // 3
    'flag: ${FLAG:-true}', // 4
    'literal: $${NOT_A_VAR}', // 5
    '${KEY}: keys are left alone', // 6
    'list:', // 7
    '  - ${ITEM:-first}', // 8
    '  - nested:', // 9
    '      deep: ${DEEP}', // 10
  ].join('\n');

  test('plain values take the type their text reads as; quoted values stay strings', () => {
    const value = parseConfig(text, { env: { URL: 'http://x', DEEP: 'd' } });
    assert.deepEqual(value, {
      url: 'http://x',
      port: 8080,
      quoted: '8080',
      flag: true,
      literal: '${NOT_A_VAR}',
      '${KEY}': 'keys are left alone',
      list: ['first', { nested: { deep: 'd' } }],
    });
  });

  test('each missing variable is a problem at its own line and path', () => {
    assert.throws(
      () => parseConfig(text, { file: 'app.yaml', env: {} }),
      (error: unknown) => {
        assert.ok(isConfigError(error));
        const problems = (error as ConfigError).problems.map((p) => [p.line, p.column, p.path]);
        assert.deepEqual(problems, [
          [1, 6, 'url'],
          [10, 13, 'list[1].nested.deep'],
        ]);
        assert.ok(error.problems.every((p) => p.file === 'app.yaml'));
        assert.match(error.message, /app\.yaml:1:6 url: environment variable "URL" is not set/);
        return true;
      },
    );
  });

  test('reads process.env by default', () => {
    process.env.SLUICE_TEST_INTERPOLATION = 'from-env';
    try {
      assert.deepEqual(parseConfig('a: ${SLUICE_TEST_INTERPOLATION}'), { a: 'from-env' });
    } finally {
      delete process.env.SLUICE_TEST_INTERPOLATION;
    }
  });
});
