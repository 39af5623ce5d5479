import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

// Imports every subpath through the package's own name, which resolves against the
// export map and the built files in dist/: a broken map or a missing build fails here.
const root = new URL('../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  exports: Record<string, unknown>;
};
const subpaths = Object.keys(pkg.exports).filter((p) => !p.endsWith('.json'));

const load = async (specifier: string): Promise<Record<string, unknown>> =>
  (await import(specifier)) as Record<string, unknown>;

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
    const mod = await load(specifier);
    assert.ok(Object.keys(mod).length > 0, `${specifier} exports nothing`);
  });
}

function sourcesOf(folder: string): string {
  const dir = new URL(`src/${folder}/`, root).pathname;
  const texts: string[] = [];
  const walk = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) texts.push(readFileSync(full, 'utf8'));
    }
  };
  walk(dir);
  return texts.join('\n');
}

/** The core errors a folder's code can throw: those it constructs, and those of the helpers it calls. */
function errorsThrownBy(source: string, coreErrors: ReadonlySet<string>): Set<string> {
  const thrown = new Set<string>(['SluiceError']);
  for (const [, name] of source.matchAll(/new (\w+Error)\(/g)) {
    if (coreErrors.has(name!)) thrown.add(name!);
  }
  if (/\b(loadOptional|requireInstalled)\(/.test(source)) thrown.add('DependencyMissingError');
  if (/\b(loadConfig|parseConfig)\b/.test(source)) thrown.add('ConfigError');
  if (/\babortError\(/.test(source)) thrown.add('AbortedError');
  return thrown;
}

test("each pattern's subpath exports the core errors it throws, with their guards", async () => {
  const core = await load('sluice/core');
  const SluiceError = core.SluiceError as abstract new (...args: never[]) => Error;
  const coreErrors = new Set(
    Object.entries(core)
      .filter(([, value]) => typeof value === 'function' && value.prototype instanceof SluiceError)
      .map(([name]) => name),
  );
  assert.ok(coreErrors.has('CircuitOpenError') && coreErrors.has('QueueFullError'));
  const missing: string[] = [];
  // A pattern's subpath is its folder (`./resilience`), not a file within one.
  const patterns = subpaths.filter((p) => p !== './core' && !p.slice(2).includes('/'));
  for (const subpath of patterns) {
    const folder = subpath.slice(2);
    const mod = await load(`sluice/${folder}`);
    for (const name of errorsThrownBy(sourcesOf(folder), coreErrors)) {
      if (mod[name] !== core[name]) missing.push(`sluice/${folder}: ${name}`);
      const guard = `is${name}`;
      if (typeof mod[guard] !== 'function' || mod[guard] !== core[guard]) {
        missing.push(`sluice/${folder}: ${guard}`);
      }
    }
  }
  assert.deepEqual(missing, []);
});

test('every core error has a type guard', async () => {
  const core = await load('sluice/core');
  const SluiceError = core.SluiceError as abstract new (...args: never[]) => Error;
  const unguarded = Object.entries(core)
    .filter(([, value]) => typeof value === 'function' && value.prototype instanceof SluiceError)
    .map(([name]) => `is${name}`)
    .filter((guard) => typeof core[guard] !== 'function');
  assert.deepEqual(unguarded, []);
});

test("the README's import lines name what each subpath exports", async () => {
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  const blocks = [...readme.matchAll(/```(?:ts|js|typescript|javascript)\n([\s\S]*?)```/g)];
  const imports = blocks.flatMap(([, code]) => [
    ...code!.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'(sluice\/[\w-]+)'/g),
  ]);
  assert.ok(imports.length >= 5, `found ${imports.length} import lines`);
  const wrong: string[] = [];
  for (const [, list, specifier] of imports) {
    const mod = await load(specifier!);
    const names = list!
      .split(',')
      .map((n) => n.trim().replace(/^type\s+/, ''))
      .filter(Boolean)
      .map((n) => n.split(/\s+as\s+/)[0]!);
    for (const name of names) {
      // A type leaves nothing at run time: it must exist in the declarations instead.
      if (name in mod) continue;
      const declared = new RegExp(`export (?:declare )?(?:type|interface) ${name}\\b`);
      if (!declared.test(sourcesOf(specifier!.slice(7)))) wrong.push(`${name} from '${specifier}'`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('sluice/schema.json resolves to the JSON Schema of sluice.yaml', async () => {
  const { default: schema } = (await import('sluice/schema.json', { with: { type: 'json' } })) as {
    default: { title: string; properties: Record<string, unknown> };
  };
  assert.equal(schema.title, 'sluice.yaml');
  assert.ok('gateway' in schema.properties && 'services' in schema.properties);
});
