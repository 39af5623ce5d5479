export { checkSystem } from './check.js';
export {
  type DashboardConfig,
  type Duration,
  loadSluiceConfig,
  type MeshConfig,
  type PolicyConfig,
  parseSluiceConfig,
  type ServiceConfig,
  type Size,
  type SluiceConfig,
  type TelemetryStoreConfig,
} from './config.js';
export { meshEnabled } from './mesh-check.js';
export { envName, startLevels, startOrder } from './order.js';
export { type DeclaredPort, declaredPorts, defaultMetricsPort, portRange } from './ports.js';
export { drivers, sluiceSchema } from './schema.js';
export { configWarnings } from './warnings.js';
