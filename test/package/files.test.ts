import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, root), 'utf8');

test('the licence the package declares is the one it ships', () => {
  const pkg = JSON.parse(read('package.json')) as { license: string };
  assert.equal(pkg.license, 'MIT');
  const license = read('LICENSE');
  assert.match(license, /^MIT License\n\nCopyright \(c\) \d{4} The Sluice authors\n/);
  assert.match(license, /THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND/);
});

test('the changelog names this version, and the package ships both files', () => {
  const pkg = JSON.parse(read('package.json')) as { version: string };
  assert.match(
    read('CHANGELOG.md'),
    new RegExp(`^## ${pkg.version.replaceAll('.', '\\.')}\\b`, 'm'),
  );
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  ) as [{ files: { path: string }[] }];
  const paths = packed.files.map((f) => f.path);
  for (const file of ['LICENSE', 'CHANGELOG.md', 'README.md', 'package.json']) {
    assert.ok(paths.includes(file), `${file} is in the package`);
  }
});
