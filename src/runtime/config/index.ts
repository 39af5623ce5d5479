export { checkSystem, type SystemProblem } from './check.js';
export {
  type DashboardConfig,
  type Duration,
  loadSluiceConfig,
  type PolicyConfig,
  parseSluiceConfig,
  type ServiceConfig,
  type Size,
  type SluiceConfig,
  type TelemetryStoreConfig,
} from './config.js';
export { envName, startOrder } from './order.js';
export { drivers, sluiceSchema } from './schema.js';
