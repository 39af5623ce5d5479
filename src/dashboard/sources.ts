import type { Broker } from '../messaging/index.js';
import type { TelemetryQuery } from '../observe/store/index.js';
import type { SluiceConfig } from '../runtime/config/index.js';
import type { KilledInstance, SystemStatus } from '../runtime/control-server.js';

/**
 * Everything the dashboard reads and acts through. In `sluice up` these are the supervisor's
 * own objects; for `sluice dashboard` they are the same store file, the control API and the
 * messaging engine the file declares.
 */
export interface DashboardSources {
  readonly config: SluiceConfig;
  /** The telemetry store; undefined when the file turns it off. */
  telemetry(): TelemetryQuery | undefined;
  /** Every service and instance; undefined when the supervisor does not answer. */
  status(): Promise<SystemStatus | undefined>;
  /** SIGKILLs one instance, which its restart policy brings back. */
  kill(service: string, index: number): Promise<KilledInstance>;
  /** The system's messaging engine, opened on first use; undefined when none is declared. */
  broker(): Promise<Broker | undefined>;
}
