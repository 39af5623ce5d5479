// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config text with ${VAR} references
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  type ConfigError,
  isAbortedError,
  isConfigError,
  loadConfig,
} from '../../src/core/index.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: { listen: { type: 'string' }, timeout: { unit: 'duration' } },
};

function configError(error: unknown): ConfigError {
  assert.ok(isConfigError(error), String(error));
  return error;
}

describe('loadConfig', () => {
  test('reads, interpolates and validates a file', async () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'listen: ${LISTEN:-127.0.0.1:8080}\ntimeout: 2s\n');
    const value = await loadConfig<{ listen: string }>(file, { schema, env: {} });
    assert.deepEqual(value, { listen: '127.0.0.1:8080', timeout: '2s' });
  });

  test('names the file in every problem', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'listen: 8080\ntimeout: later\n');
    await assert.rejects(loadConfig(file, { schema, env: {} }), (error: unknown) => {
      const { problems, message } = configError(error);
      assert.deepEqual(
        problems.map((p) => [p.file, p.line, p.path]),
        [
          [file, 1, 'listen'],
          [file, 2, 'timeout'],
        ],
      );
      assert.match(message, new RegExp(`${file}:2:1 timeout: expected a duration`));
      return true;
    });
  });

  test('a missing file is one problem without a position', async () => {
    const file = join(dir, 'absent.yaml');
    await assert.rejects(loadConfig(file), (error: unknown) => {
      const { problems, message } = configError(error);
      assert.deepEqual(problems, [
        { file, line: 0, column: 0, path: '', message: 'file not found' },
      ]);
      assert.equal(message, `Invalid configuration (1 problem):\n  ${file} (root): file not found`);
      return true;
    });
  });

  test('a directory is not a file', async () => {
    await assert.rejects(loadConfig(dir), (error: unknown) => {
      assert.equal(configError(error).problems[0]!.message, 'is a directory, not a file');
      return true;
    });
  });

  test('an aborted signal rejects with AbortedError', async () => {
    const file = join(dir, 'ok.yaml');
    await assert.rejects(loadConfig(file, { signal: AbortSignal.abort() }), (e) =>
      isAbortedError(e),
    );
  });
});
