// Runs every *.bench.mjs in this folder, each in its own process (so one benchmark's heap
// and JIT state do not colour the next), with GC exposed for the heap figures.
// Usage: npm run bench [-- name-filter]
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const filter = process.argv[2];
const files = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.bench.mjs') && (!filter || f.includes(filter)))
  .sort();
let failed = 0;
for (const file of files) {
  console.log(`\n# ${file}  (node --expose-gc bench/${file})`);
  const r = spawnSync(process.execPath, ['--expose-gc', file], {
    stdio: 'inherit',
    cwd: new URL('.', import.meta.url),
  });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
