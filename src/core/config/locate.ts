import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
  type Pair,
} from 'yaml';

export type PathSegment = string | number;

export interface Location {
  line: number;
  column: number;
  path: string;
}

const bareKey = /^[A-Za-z_$][\w$-]*$/;

/** `gateway.routes[2].rateLimit.limit`; keys that would read ambiguously are quoted. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (bareKey.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

function keyOf(pair: Pair): string {
  const key = pair.key;
  return isScalar(key) ? String(key.value) : String(key);
}

function startOf(node: unknown, lines: LineCounter): { line: number; column: number } | undefined {
  const range = (node as Partial<Node> | null)?.range;
  if (range === undefined || range === null) return undefined;
  const { line, col } = lines.linePos(range[0]);
  return { line, column: col };
}

/**
 * The position of the node at `segments` (the key's position when the last step is a map
 * key, so a problem points at the line that names it) and its formatted path. Where the
 * document has no such node, the deepest existing ancestor gives the position.
 */
export function locate(
  doc: Document,
  lines: LineCounter,
  segments: readonly PathSegment[],
): Location {
  let node: unknown = doc.contents;
  let position = startOf(node, lines) ?? { line: 1, column: 1 };
  const walked: PathSegment[] = [];
  for (const segment of segments) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => keyOf(p) === String(segment));
      walked.push(String(segment));
      if (pair === undefined) break;
      position = startOf(pair.key, lines) ?? position;
      node = pair.value;
    } else if (isSeq(node)) {
      const index = Number(segment);
      const item: unknown = node.items[index];
      walked.push(index);
      if (item === undefined) break;
      position = startOf(item, lines) ?? position;
      node = item;
    } else {
      walked.push(segment);
      break;
    }
  }
  const rest = segments.slice(walked.length);
  return { ...position, path: formatPath([...walked, ...rest]) };
}

/** The key path of a node reached by `visit`, from the ancestors it was given. */
export function pathFromAncestors(ancestors: readonly unknown[], node: unknown): PathSegment[] {
  const segments: PathSegment[] = [];
  const chain = [...ancestors, node];
  for (let i = 0; i < chain.length - 1; i++) {
    const parent = chain[i];
    const child = chain[i + 1];
    if (isSeq(parent)) segments.push(parent.items.indexOf(child as never));
    else if (isPair(parent) && parent.value === child) segments.push(keyOf(parent));
  }
  return segments;
}

export function positionOf(node: unknown, lines: LineCounter): { line: number; column: number } {
  return startOf(node, lines) ?? { line: 1, column: 1 };
}
