import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

// Imports every subpath through the package's own name, which resolves against the
// export map and the built files in dist/: a broken map or a missing build fails here.
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, unknown>;
};
const subpaths = Object.keys(pkg.exports).filter((p) => !p.endsWith('.json'));

// Every pattern folder with an index.ts is a public subpath, and nothing else is: the map is
// checked against the sources, so a new folder cannot ship unexported or a removed one linger.
// The CLI is reached through `bin`. Besides the folders, single modules meant for
// `node --import` are listed by name.
const preloads = new Set(['./mesh/trace-preload']);
test('the export map lists exactly the source folders that have an index.ts', () => {
  const folders = readdirSync(new URL('../../src/', import.meta.url), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== 'cli')
    .filter((entry) => existsSync(new URL(`../../src/${entry.name}/index.ts`, import.meta.url)))
    .map((entry) => `./${entry.name}`);
  const modules = subpaths.filter((subpath) => !preloads.has(subpath));
  assert.deepEqual([...modules].sort(), folders.sort());
  for (const subpath of subpaths) {
    const target = pkg.exports[subpath] as { types: string; default: string };
    const name = preloads.has(subpath) ? subpath.slice(2) : `${subpath.slice(2)}/index`;
    assert.ok(existsSync(new URL(`../../src/${name}.ts`, import.meta.url)), name);
    assert.deepEqual(target, { types: `./dist/${name}.d.ts`, default: `./dist/${name}.js` });
  }
});

for (const subpath of subpaths) {
  test(`sluice${subpath.slice(1)} imports from the built package`, async () => {
    const specifier = `sluice${subpath.slice(1)}`;
    const mod = (await import(specifier)) as Record<string, unknown>;
    assert.ok(Object.keys(mod).length > 0, `${specifier} exports nothing`);
  });
}

test('sluice/schema.json resolves to the JSON Schema of sluice.yaml', async () => {
  const { default: schema } = (await import('sluice/schema.json', { with: { type: 'json' } })) as {
    default: { title: string; properties: Record<string, unknown> };
  };
  assert.equal(schema.title, 'sluice.yaml');
  assert.ok('gateway' in schema.properties && 'services' in schema.properties);
});
