// What grew between two V8 heap snapshots (.heapsnapshot files, e.g. from soak.bench.mjs
// --snapshots): objects counted and their own sizes summed by type and constructor name,
// the rows sorted by how much their size grew. A leak shows as a row whose count grows with
// the traffic (Map entries, closures, strings of one kind).
// Usage: node heap-diff.mjs BEFORE.heapsnapshot AFTER.heapsnapshot [rows, default 30]
import { readFileSync } from 'node:fs';

/** Count and self size of every object, by `type name`. */
function census(file) {
  const { snapshot, nodes, strings } = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snapshot.meta.node_fields;
  const types = snapshot.meta.node_types[fields.indexOf('type')];
  const [type, name, size] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const byKey = new Map();
  for (let i = 0; i < nodes.length; i += fields.length) {
    const kind = types[nodes[i + type]];
    // Strings and numbers are keyed by kind alone: their `name` is their value.
    const label =
      kind === 'object' || kind === 'closure' || kind === 'native' ? strings[nodes[i + name]] : '';
    const key = `${kind} ${label}`.slice(0, 90);
    const entry = byKey.get(key) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += nodes[i + size];
    byKey.set(key, entry);
  }
  return byKey;
}

const [before, after, rows = '30'] = process.argv.slice(2);
if (!before || !after) {
  console.error('usage: node heap-diff.mjs BEFORE.heapsnapshot AFTER.heapsnapshot [rows]');
  process.exit(2);
}
const a = census(before);
const b = census(after);
const total = (m) => [...m.values()].reduce((s, e) => s + e.bytes, 0);
const diff = [...new Set([...a.keys(), ...b.keys()])].map((key) => {
  const x = a.get(key) ?? { count: 0, bytes: 0 };
  const y = b.get(key) ?? { count: 0, bytes: 0 };
  return {
    key,
    count: y.count,
    dCount: y.count - x.count,
    bytes: y.bytes,
    dBytes: y.bytes - x.bytes,
  };
});
diff.sort((p, q) => q.dBytes - p.dBytes);
const kb = (n) => `${(n / 1024).toFixed(0)} KB`;
console.log(`heap: ${kb(total(a))} -> ${kb(total(b))} (${kb(total(b) - total(a))})`);
console.log(
  `${'d size'.padStart(10)} ${'d count'.padStart(9)} ${'size'.padStart(10)} ${'count'.padStart(9)}  what`,
);
for (const d of diff.slice(0, Number(rows))) {
  console.log(
    `${kb(d.dBytes).padStart(10)} ${String(d.dCount).padStart(9)} ${kb(d.bytes).padStart(10)} ${String(d.count).padStart(9)}  ${d.key}`,
  );
}
