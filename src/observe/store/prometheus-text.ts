import type { SampleInput } from './otlp-records.js';

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+(-?\d+))?\s*$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/y;

/**
 * The samples of a Prometheus text exposition (format 0.0.4). Comments, and lines that do
 * not parse, are skipped: one bad line loses only itself. `extraLabels` (the target's) win;
 * a sample's own label of the same name is kept as `exported_<name>`, as Prometheus does.
 */
export function parsePrometheusText(
  text: string,
  timeMs: number,
  extraLabels: Record<string, string> = {},
): SampleInput[] {
  const out: SampleInput[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (match === null) continue;
    const labels = parseLabels(match[2]);
    if (labels === undefined) continue;
    const value = parseValue(match[3]!);
    if (value === undefined) continue;
    out.push({
      name: match[1]!,
      labels: withTargetLabels(labels, extraLabels),
      timeMs: match[4] === undefined ? timeMs : Number(match[4]),
      value,
    });
  }
  return out;
}

function parseLabels(block: string | undefined): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  if (block === undefined) return labels;
  const inner = block.slice(1, -1);
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < inner.length) {
    const start = LABEL.lastIndex;
    const match = LABEL.exec(inner);
    if (match === null) return inner.slice(start).trim() === '' ? labels : undefined;
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

function withTargetLabels(
  labels: Record<string, string>,
  target: Record<string, string>,
): Record<string, string> {
  const out = { ...labels };
  for (const [name, value] of Object.entries(target)) {
    if (name in labels && labels[name] !== value) out[`exported_${name}`] = labels[name]!;
    out[name] = value;
  }
  return out;
}
