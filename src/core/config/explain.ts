import type { ErrorObject } from 'ajv';
import type { PathSegment } from './locate.js';
import { messageOf, shown, words } from './messages.js';

/** A schema violation in plain words, at a key path not yet given a position. */
export interface Explained {
  segments: PathSegment[];
  message: string;
}

function pointerSegments(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

const composite = new Set(['anyOf', 'oneOf']);
const structural = new Set(['required', 'additionalProperties']);

/** What one branch of an anyOf/oneOf expected when the value's type did not fit it. */
function branchSummary(errors: readonly ErrorObject[]): string | undefined {
  for (const e of errors) {
    const params = e.params as Record<string, unknown>;
    if (e.keyword === 'type') return words(params.type);
    if (e.keyword === 'enum') return (params.allowedValues as unknown[]).join(', ');
    if (e.keyword === 'const') return shown(params.allowedValue);
  }
  return undefined;
}

/**
 * For each anyOf/oneOf that failed, keeps the errors of the branch the value's type fits
 * (the one with fewest errors), or else replaces all the branches' errors by one "expected
 * A or B" problem; the raw list would report every branch as if each were wrong.
 */
function collapse(errors: readonly ErrorObject[]): ErrorObject[] {
  let remaining = [...errors];
  const composites = errors
    .filter((e) => composite.has(e.keyword))
    .sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  for (const c of composites) {
    if (!remaining.includes(c)) continue;
    const prefix = `${c.schemaPath}/`;
    const branches = new Map<string, ErrorObject[]>();
    const under = `${c.instancePath}/`;
    for (const e of remaining) {
      if (!e.schemaPath.startsWith(prefix)) continue;
      if (e.instancePath !== c.instancePath && !e.instancePath.startsWith(under)) continue;
      const branch = e.schemaPath.slice(prefix.length).split('/')[0]!;
      branches.set(branch, [...(branches.get(branch) ?? []), e]);
    }
    const inside = new Set([...branches.values()].flat());
    const fitting = [...branches.values()]
      .filter((list) =>
        list.every(
          (e) =>
            e.instancePath !== c.instancePath || !['type', 'enum', 'const'].includes(e.keyword),
        ),
      )
      .sort((a, b) => a.length - b.length)[0];
    const annotated =
      typeof (c.parentSchema as { expected?: unknown } | undefined)?.expected === 'string';
    // The branch's own complaint about the value itself reads worse than the annotation.
    const useFitting =
      fitting !== undefined &&
      !(
        annotated &&
        fitting.some((e) => e.instancePath === c.instancePath && !structural.has(e.keyword))
      );
    remaining = remaining.filter((e) => !inside.has(e) || (useFitting && fitting.includes(e)));
    if (useFitting) {
      remaining = remaining.filter((e) => e !== c);
      continue;
    }
    const summaries = [...new Set([...branches.values()].map(branchSummary))];
    if (summaries.every((s) => s !== undefined) && summaries.length > 0) {
      const index = remaining.indexOf(c);
      remaining[index] = { ...c, message: `expected ${summaries.join(' or ')}` };
    }
  }
  return remaining;
}

export function explain(errors: readonly ErrorObject[]): Explained[] {
  const seen = new Set<string>();
  const out: Explained[] = [];
  for (const error of collapse(errors)) {
    // Each bad key also has its own error, with `propertyName` set, that says why; a failed
    // `if` likewise comes with the errors of its `then` or `else` branch.
    if (error.keyword === 'propertyNames' || error.keyword === 'if') continue;
    const segments = pointerSegments(error.instancePath);
    if (error.propertyName !== undefined) segments.push(error.propertyName);
    if (error.keyword === 'additionalProperties') {
      segments.push(String((error.params as { additionalProperty: unknown }).additionalProperty));
    }
    const message =
      error.propertyName === undefined ? messageOf(error) : `invalid key: ${messageOf(error)}`;
    const key = `${segments.join('\u0000')}\u0001${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ segments, message });
  }
  return out;
}
