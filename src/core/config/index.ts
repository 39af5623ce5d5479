export { type Env, type Interpolated, interpolate } from './interpolate.js';
export {
  type LoadConfigOptions,
  loadConfig,
  type ParseConfigOptions,
  parseConfig,
} from './load.js';
export { formatPath, type PathSegment } from './locate.js';
export type { SchemaObject } from './validator.js';
