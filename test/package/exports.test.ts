import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

// Imports every subpath through the package's own name, which resolves against the
// export map and the built files in dist/: a broken map or a missing build fails here.
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, unknown>;
};
const subpaths = Object.keys(pkg.exports).filter((p) => p !== './package.json');

test('the export map lists the subpaths', () => {
  assert.deepEqual(
    subpaths.sort(),
    [
      './core',
      './flow',
      './gateway',
      './mesh',
      './mesh/trace-preload',
      './messaging',
      './observe',
      './resilience',
      './runtime',
    ].sort(),
  );
});

for (const subpath of subpaths) {
  test(`sluice${subpath.slice(1)} imports from the built package`, async () => {
    const specifier = `sluice${subpath.slice(1)}`;
    const mod = (await import(specifier)) as Record<string, unknown>;
    assert.ok(Object.keys(mod).length > 0, `${specifier} exports nothing`);
  });
}
