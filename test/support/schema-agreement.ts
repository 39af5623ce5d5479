import ts from 'typescript';
import type { SchemaObject } from '../../src/core/config/index.js';

/**
 * The ways a hand-written TypeScript type and the JSON Schema that validates the same
 * values disagree: keys only one of them has, a key required by one and optional in the
 * other, and values of other kinds (text, number, true/false, an enum's members, a
 * mapping, a list). Conditions across keys (if/then, dependencies) are the schema's alone,
 * and a value either side leaves open (`unknown`, an object open to any key) is not compared.
 */
export function disagreements(schema: SchemaObject, type: ts.Type, checker: ts.TypeChecker) {
  const problems: string[] = [];
  compare(schema, type, '', checker, problems);
  return problems;
}

type Form =
  | { kind: 'string' | 'number' | 'boolean' | 'any' }
  | { kind: 'literal'; value: unknown }
  | { kind: 'object'; keys: Map<string, { value: Side; required: boolean }> }
  | { kind: 'map'; values: Side }
  | { kind: 'array'; items: Side };

/** One side of a comparison: a schema, or a type in the program. */
type Side = { schema: SchemaObject } | { type: ts.Type };

const unitTakes: Record<string, Form['kind'][]> = {
  duration: ['string', 'number'],
  size: ['string', 'number'],
  percent: ['string', 'number'],
  rate: ['string'],
};

function schemaForms(s: SchemaObject): Form[] {
  const branches = s.anyOf ?? s.oneOf;
  if (branches) return (branches as SchemaObject[]).flatMap(schemaForms);
  if (s.const !== undefined) return [{ kind: 'literal', value: s.const }];
  if (s.enum) return (s.enum as unknown[]).map((value) => ({ kind: 'literal', value }));
  if (s.unit) return unitTakes[s.unit]!.map((kind) => ({ kind }) as Form);
  if (s.type === undefined) return [{ kind: 'any' }];
  return [s.type].flat().map((t: string): Form => {
    if (t === 'integer' || t === 'number') return { kind: 'number' };
    if (t === 'string' || t === 'boolean') return { kind: t };
    if (t === 'array') return { kind: 'array', items: { schema: s.items ?? {} } };
    const values = s.additionalProperties;
    if (s.properties === undefined && values !== false) {
      return { kind: 'map', values: { schema: typeof values === 'object' ? values : {} } };
    }
    // An object open to other keys (options handed on to a client library) is not checked.
    if (values !== false) return { kind: 'any' };
    const required = new Set<string>(s.required ?? []);
    const keys = new Map(
      Object.entries(s.properties ?? {}).map(([key, sub]) => [
        key,
        { value: { schema: sub as SchemaObject }, required: required.has(key) },
      ]),
    );
    return { kind: 'object', keys };
  });
}

function typeForms(type: ts.Type, checker: ts.TypeChecker): Form[] {
  const members = type.isUnion() ? type.types : [type];
  const forms: Form[] = [];
  for (const t of members) {
    const flags = t.flags;
    if (flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)) continue;
    if (flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) forms.push({ kind: 'any' });
    else if (flags & ts.TypeFlags.String) forms.push({ kind: 'string' });
    else if (flags & ts.TypeFlags.Number) forms.push({ kind: 'number' });
    else if (t.isStringLiteral() || t.isNumberLiteral())
      forms.push({ kind: 'literal', value: t.value });
    else if (flags & ts.TypeFlags.BooleanLiteral) {
      forms.push({ kind: 'literal', value: checker.typeToString(t) === 'true' });
    } else if (checker.isArrayType(t)) {
      forms.push({
        kind: 'array',
        items: { type: checker.getTypeArguments(t as ts.TypeReference)[0]! },
      });
    } else {
      const index = checker.getIndexTypeOfType(t, ts.IndexKind.String);
      const properties = checker.getPropertiesOfType(t);
      if (index !== undefined && properties.length === 0) {
        forms.push({ kind: 'map', values: { type: index } });
        continue;
      }
      const keys = new Map(
        properties.map((p) => [
          p.name,
          {
            value: { type: checker.getNonNullableType(checker.getTypeOfSymbol(p)) },
            required: (p.flags & ts.SymbolFlags.Optional) === 0,
          },
        ]),
      );
      forms.push({ kind: 'object', keys });
    }
  }
  // `boolean` is the union `true | false`.
  const both = [true, false].every((b) => forms.some((f) => f.kind === 'literal' && f.value === b));
  return both
    ? [
        ...forms.filter((f) => f.kind !== 'literal' || typeof f.value !== 'boolean'),
        { kind: 'boolean' },
      ]
    : forms;
}

const formsOf = (side: Side, checker: ts.TypeChecker) =>
  'schema' in side ? schemaForms(side.schema) : typeForms(side.type, checker);

/** What a form takes, in a word: a literal counts as its primitive. */
function base(form: Form): string {
  return form.kind === 'literal' ? typeof form.value : form.kind;
}

function describe(forms: Form[]): string {
  return forms.map((f) => (f.kind === 'literal' ? JSON.stringify(f.value) : f.kind)).join(' | ');
}

function compare(
  schema: SchemaObject,
  type: ts.Type,
  path: string,
  checker: ts.TypeChecker,
  problems: string[],
): void {
  compareSides({ schema }, { type }, path, checker, problems);
}

function compareSides(a: Side, b: Side, path: string, checker: ts.TypeChecker, problems: string[]) {
  const left = formsOf(a, checker);
  const right = formsOf(b, checker);
  const at = path === '' ? '(top)' : path;
  if (right.some((f) => f.kind === 'any') || left.some((f) => f.kind === 'any')) return;
  const kinds = (forms: Form[]) => [...new Set(forms.map(base))].sort().join(' | ');
  if (kinds(left) !== kinds(right)) {
    problems.push(`${at}: the schema takes ${describe(left)}, the type ${describe(right)}`);
    return;
  }
  for (const primitive of ['string', 'number', 'boolean']) {
    const literals = (forms: Form[]) => {
      const own = forms.filter((f) => base(f) === primitive);
      return own.every((f) => f.kind === 'literal')
        ? own
            .map((f) => JSON.stringify((f as { value: unknown }).value))
            .sort()
            .join(' | ')
        : primitive;
    };
    if (literals(left) !== literals(right)) {
      problems.push(`${at}: the schema takes ${literals(left)}, the type ${literals(right)}`);
    }
  }
  for (const kind of ['object', 'map', 'array'] as const) {
    const l = left.filter((f) => f.kind === kind);
    const r = right.filter((f) => f.kind === kind);
    if (l.length === 0) continue;
    if (l.length > 1 || r.length > 1) {
      problems.push(`${at}: more than one ${kind} form, which this check cannot pair`);
      continue;
    }
    const [x, y] = [l[0]!, r[0]!];
    if (x.kind === 'map' && y.kind === 'map')
      compareSides(x.values, y.values, `${path}.<name>`, checker, problems);
    if (x.kind === 'array' && y.kind === 'array')
      compareSides(x.items, y.items, `${path}[]`, checker, problems);
    if (x.kind === 'object' && y.kind === 'object') {
      for (const key of new Set([...x.keys.keys(), ...y.keys.keys()])) {
        const [k, t] = [x.keys.get(key), y.keys.get(key)];
        const keyPath = path === '' ? key : `${path}.${key}`;
        if (k === undefined) problems.push(`${keyPath}: in the type only`);
        else if (t === undefined) problems.push(`${keyPath}: in the schema only`);
        else {
          if (k.required !== t.required) {
            problems.push(`${keyPath}: required in the ${k.required ? 'schema' : 'type'} only`);
          }
          compareSides(k.value, t.value, keyPath, checker, problems);
        }
      }
    }
  }
}

/** The type a module exports under `name` (an interface or a type alias). */
export function exportedType(program: ts.Program, file: string, name: string): ts.Type {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  if (source === undefined) throw new Error(`${file} is not in the program`);
  const module = checker.getSymbolAtLocation(source)!;
  const symbol = checker.getExportsOfModule(module).find((s) => s.name === name);
  if (symbol === undefined) throw new Error(`${file} exports no ${name}`);
  const resolved = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  return checker.getDeclaredTypeOfSymbol(resolved);
}
