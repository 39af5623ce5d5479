import { Ajv, type ErrorObject, type SchemaObject, type ValidateFunction } from 'ajv';
import { isUnit, type UnitKind, unitExamples } from '../units.js';

const unitKinds = Object.keys(unitExamples) as UnitKind[];

/**
 * One Ajv for every config schema. Beside standard JSON Schema, schemas may use:
 * - `format: duration | size | rate | percent` on strings;
 * - `unit: duration | size | rate | percent`, which also accepts plain numbers where the
 *   unit does (durations in ms, sizes in bytes, fractions in [0, 1]);
 * - `expected: "…"`, an annotation that words the problem reported when the value at that
 *   schema fails ("expected a path starting with /").
 */
function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, verbose: true, allowUnionTypes: true });
  for (const kind of unitKinds) {
    ajv.addFormat(kind, { type: 'string', validate: (value: string) => isUnit(kind, value) });
  }
  ajv.addKeyword({
    keyword: 'unit',
    schemaType: 'string',
    metaSchema: { enum: unitKinds },
    validate: (kind: UnitKind, data: unknown) => isUnit(kind, data),
  });
  ajv.addKeyword({ keyword: 'expected', schemaType: 'string' });
  return ajv;
}

let shared: Ajv | undefined;
const compiled = new WeakMap<SchemaObject, ValidateFunction>();

/** Compiles once per schema object; an invalid schema is a programming error and throws. */
export function validatorFor(schema: SchemaObject): ValidateFunction {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    shared ??= createAjv();
    validate = shared.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

export type { ErrorObject, SchemaObject };
