export { type Env, type Interpolated, interpolate } from './interpolate.js';
export {
  type ConfigCheck,
  type LoadConfigOptions,
  loadConfig,
  type ParseConfigOptions,
  type PathProblem,
  parseConfig,
} from './load.js';
export { formatPath, type PathSegment } from './locate.js';
export { closestName } from './messages.js';
export type { SchemaObject } from './validator.js';
