import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = `${root}dist/cli/main.js`;
const fixture = (name: string): string => `test/cli/fixtures/${name}`;

function sluice(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env.SLUICE_TEST_UNSET_URL;
  const result = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', env });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

before(() => {
  assert.ok(existsSync(bin), `${bin} is missing: run "npm run build" first`);
});

describe('sluice (built)', () => {
  test('--help lists every command', () => {
    for (const args of [['--help'], ['-h'], ['help'], []]) {
      const { code, stdout } = sluice(...args);
      assert.equal(code, 0);
      assert.match(stdout, /Usage: sluice <command>/);
      assert.match(stdout, /^ {2}validate \[FILE\.\.\.\] +check/m);
      assert.doesNotMatch(stdout, /validate .*\(coming\)/);
      assert.match(stdout, /^ {2}sidecar --service NAME/m);
      assert.doesNotMatch(stdout, /\(coming\)/);
      assert.match(stdout, /^ {2}demo\b/m);
    }
  });

  test('--version prints the package version', () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string };
    const { code, stdout } = sluice('--version');
    assert.equal(code, 0);
    assert.equal(stdout.trim(), pkg.version);
  });

  test('help COMMAND shows that command', () => {
    const { code, stdout } = sluice('help', 'validate');
    assert.equal(code, 0);
    assert.match(stdout, /Usage: sluice validate \[FILE\.\.\.\]/);
    assert.match(stdout, /default: sluice\.yaml/);
  });

  test('help COMMAND lists every option the command itself names in its usage', () => {
    const usages: Record<string, string> = {
      up: sluice('up', 'a', 'b').stderr,
      gateway: sluice('gateway', '--nope').stderr,
      fault: sluice('fault').stderr,
      load: sluice('load', 'extra').stderr,
    };
    for (const [command, usage] of Object.entries(usages)) {
      const flags = usage.match(/--[a-z-]+/g) ?? [];
      assert.ok(flags.length > 1, `${command}'s usage names its options: ${usage}`);
      const { code, stdout } = sluice('help', command);
      assert.equal(code, 0);
      assert.match(stdout, /Options:/);
      for (const flag of flags.filter((f) => f !== '--nope' && f !== '--help')) {
        assert.ok(stdout.includes(flag), `help ${command} explains ${flag}`);
      }
    }
  });

  test('an unknown command or option is a usage error, exit 2', () => {
    const unknown = sluice('frobnicate');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    assert.match(unknown.stderr, /sluice --help/);
    const option = sluice('--frobnicate');
    assert.equal(option.code, 2);
    assert.match(option.stderr, /--frobnicate/);
  });

  test('sidecar without its required options is a usage error, exit 2', () => {
    const { code, stderr } = sluice('sidecar');
    assert.equal(code, 2);
    assert.match(stderr, /--service NAME is required/);
  });

  test('validate accepts the storefront file', () => {
    const { code, stdout, stderr } = sluice('validate', fixture('valid.yaml'));
    assert.equal(stderr, '');
    assert.equal(stdout, `${fixture('valid.yaml')}: valid\n`);
    assert.equal(code, 0);
  });

  test('validate lists every problem with its file, line and path, exit 1', () => {
    const file = fixture('invalid.yaml');
    const { code, stdout, stderr } = sluice('validate', file);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    const expected: [number, string, RegExp][] = [
      [3, 'messaging.driver', /expected one of memory, sqlite, nats, redis, rabbitmq, postgres/],
      [4, 'messaging.url', /environment variable "SLUICE_TEST_UNSET_URL" is not set/],
      [6, 'telemetry.traces.sample', /expected a percentage/],
      [8, 'gateway.lisen', /unknown key "lisen" \(did you mean "listen"\?\)/],
      [11, 'gateway.routes[0].upstream', /unknown upstream "ordrs" \(did you mean "orders"\?/],
      [12, 'gateway.routes[0].rateLimit.limit', /expected a rate such as 20\/s or 5\/min/],
      [13, 'gateway.routes[0].resilience.timeout', /expected a duration such as 2s or 250ms/],
      [14, 'gateway.routes[1]', /missing required key "upstream"/],
      [17, 'services.orders.instances', /expected a number >= 1/],
      [21, 'services.payment.policies', /add `mesh: \{ enabled: true \}`/],
      [22, 'services.payment.policies.stripe', /unknown service "stripe"/],
      [22, 'services.payment.policies.stripe.breaker.failureRate', /expected a percentage/],
      [23, 'services.payment.port', /port 8080 already taken by gateway \(port 8080\)/],
    ];
    assert.match(stderr, new RegExp(`^Invalid configuration \\(${expected.length} problems\\):`));
    const lines = stderr.trim().split('\n').slice(1);
    assert.equal(lines.length, expected.length, stderr);
    expected.forEach(([line, path, message], i) => {
      const shown = lines[i]!;
      assert.ok(shown.startsWith(`  ${file}:${line}:`), shown);
      assert.ok(shown.includes(` ${path}: `), `${shown} should name ${path}`);
      assert.match(shown, message);
    });
  });

  test('validate without a file reads sluice.yaml, as up and fault do; a missing file', () => {
    const none = spawnSync(process.execPath, [bin, 'validate'], {
      cwd: `${root}test/cli/fixtures/default`,
      encoding: 'utf8',
    });
    assert.equal(none.stderr, '');
    assert.equal(none.stdout, 'sluice.yaml: valid\n');
    assert.equal(none.status, 0);
    const missing = sluice('validate', 'no/such.yaml');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no\/such\.yaml \(root\): file not found/);
  });

  test('validate checks every file it is given and fails if any is invalid', () => {
    const { code, stdout, stderr } = sluice(
      'validate',
      fixture('valid.yaml'),
      fixture('invalid.yaml'),
    );
    assert.equal(code, 1);
    assert.match(stdout, /valid\.yaml: valid/);
    assert.match(stderr, /invalid\.yaml:3:/);
  });
});
