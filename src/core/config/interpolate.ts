import { type Document, type LineCounter, parse, Scalar, visit } from 'yaml';
import type { ConfigProblem } from '../errors.js';
import { formatPath, pathFromAncestors, positionOf } from './locate.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface Interpolated {
  value: string;
  problems: string[];
}

const reference = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

/**
 * Replaces `${NAME}` and `${NAME:-default}` (the default applies when NAME is unset or
 * empty, as in a shell); `$${` stands for a literal `${`. Unresolvable references are
 * returned as problems and replaced by nothing.
 */
export function interpolate(text: string, env: Env): Interpolated {
  const problems: string[] = [];
  let value = '';
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar < 0) {
      value += text.slice(i);
      break;
    }
    value += text.slice(i, dollar);
    if (text.startsWith('$${', dollar)) {
      value += '${';
      i = dollar + 3;
      continue;
    }
    if (!text.startsWith('${', dollar)) {
      value += '$';
      i = dollar + 1;
      continue;
    }
    const close = text.indexOf('}', dollar + 2);
    if (close < 0) {
      problems.push('unclosed "${" (write "$${" for a literal "${")');
      break;
    }
    const expression = text.slice(dollar + 2, close);
    i = close + 1;
    const match = reference.exec(expression);
    if (match === null) {
      problems.push(
        `invalid reference "\${${expression}}": expected \${NAME} or \${NAME:-default}`,
      );
      continue;
    }
    const [, name, fallback] = match;
    const set = env[name!];
    if (set !== undefined && (set !== '' || fallback === undefined)) value += set;
    else if (fallback !== undefined) value += fallback;
    else {
      problems.push(
        `environment variable "${name}" is not set (write \${${name}:-default} to give a default)`,
      );
    }
  }
  return { value, problems };
}

/** A plain (unquoted) scalar that was a reference takes the type its text reads as. */
function resolvePlain(text: string): unknown {
  if (text.trim() === '') return text;
  try {
    const value: unknown = parse(text);
    return typeof value === 'number' || typeof value === 'boolean' || value === null ? value : text;
  } catch {
    return text;
  }
}

/**
 * Interpolates every string value of `doc` in place, so node positions stay those of the
 * file. Keys are left alone. Returns one problem per unresolvable reference.
 */
export function interpolateDocument(
  doc: Document,
  lines: LineCounter,
  file: string,
  env: Env,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  visit(doc, {
    Scalar(key, node, ancestors) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('$')) return;
      const result = interpolate(node.value, env);
      if (result.problems.length > 0) {
        const { line, column } = positionOf(node, lines);
        const path = formatPath(pathFromAncestors(ancestors, node));
        for (const message of result.problems) problems.push({ file, line, column, path, message });
      }
      if (result.value === node.value) return;
      node.value = node.type === Scalar.PLAIN ? resolvePlain(result.value) : result.value;
    },
  });
  return problems;
}
