import type { Registry as PromRegistry } from 'prom-client';
import { type Clock, systemClock } from '../../core/clock.js';
import type { Logger } from '../../observe/logger.js';
import { defineGauge } from '../../observe/metrics.js';
import type { CertificateAuthority } from './authority.js';
import { expiries } from './verify.js';

const DAY = 24 * 3600_000;
export const EXPIRY_WARNING_MS = 30 * DAY;
const RECHECK_MS = 12 * 3600_000;

export interface ExpiryWatchOptions {
  logger: Logger;
  clock?: Clock;
  /** How long before expiry the log warns (default 30 days). */
  warnBeforeMs?: number;
  registry?: PromRegistry;
}

/**
 * Publishes when the anchors and the issuer expire (`sluice_mesh_ca_expiry_timestamp_seconds`)
 * and logs a warning, now and twice a day, for any that expires within 30 days: the outage
 * users of other meshes hit is the issuer or the anchor running out, not the leaves.
 * `update()` again after a reload or rotation.
 */
export function watchCaExpiry(ca: CertificateAuthority, options: ExpiryWatchOptions) {
  const clock = options.clock ?? systemClock;
  const warnBefore = options.warnBeforeMs ?? EXPIRY_WARNING_MS;
  const gauge = defineGauge({
    name: 'sluice_mesh_ca_expiry_timestamp_seconds',
    help: 'When each trust anchor and the issuer of the mesh CA expire, in Unix seconds.',
    labelNames: ['certificate', 'serial'],
    labelValues: { certificate: ['anchor', 'issuer'] },
    maxSeries: 10,
    ...(options.registry === undefined ? {} : { registry: options.registry }),
  });
  const update = () => {
    gauge.reset();
    for (const e of expiries(ca.anchors, ca.issuer)) {
      gauge.set({ certificate: e.certificate, serial: e.serial }, e.notAfter.getTime() / 1000);
      const left = e.notAfter.getTime() - clock.now();
      if (left < warnBefore) {
        options.logger.warn(
          { certificate: e.certificate, subject: e.subject, notAfter: e.notAfter.toISOString() },
          `the mesh ${e.certificate} expires in ${Math.max(0, Math.floor(left / DAY))} days: rotate it (sluice mesh rotate)`,
        );
      }
    }
  };
  update();
  const timer = setInterval(update, RECHECK_MS).unref();
  return { update, stop: () => clearInterval(timer) };
}
