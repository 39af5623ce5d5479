// The core errors this pattern throws, with their type guards: import them from here.
export {
  InvalidArgumentError,
  isInvalidArgumentError,
  isSluiceError,
  SluiceError,
} from '../core/errors.js';
export { type ActionResult, runAction } from './actions.js';
export { DashboardComponent, type DashboardComponentOptions } from './component.js';
export { escapeHtml, type Fragment, Html, html, raw } from './html.js';
export { type DashboardOptions, DashboardServer, DEFAULT_DASHBOARD_PORT } from './server.js';
export type { DashboardSources } from './sources.js';
export {
  connectOptionsOf,
  lazyBroker,
  type RemoteSourcesOptions,
  remoteSources,
  systemSources,
} from './system-sources.js';
