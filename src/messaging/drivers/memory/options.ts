import { checkOptions } from '../../../core/config/options.js';
import { closed } from '../../../core/config/schema-parts.js';
import type { SchemaObject } from '../../../core/config/validator.js';

/** The memory driver takes no options: any key given is a mistake worth naming. */
export const memoryOptionsSchema: SchemaObject = closed({});

export function resolveMemoryOptions(options: object = {}): void {
  checkOptions('memory driver options', memoryOptionsSchema, options);
}
