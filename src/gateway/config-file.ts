import { loadConfig } from '../core/config/index.js';
import type { GatewayConfig } from './config.js';
import { gatewayConfigSchema } from './config-schema.js';

// The rest of the file is checked by `sluice validate`; here only the gateway section.
const gatewayOnly = {
  type: 'object',
  properties: { gateway: gatewayConfigSchema },
  required: ['gateway'],
};

/**
 * The `gateway:` section of a file, validated, as `sluice gateway` runs it: with the
 * access log on unless the file turns it off.
 */
export async function loadGatewayConfig(file: string): Promise<GatewayConfig> {
  const whole = await loadConfig<{ gateway: GatewayConfig }>(file, { schema: gatewayOnly });
  return { accessLog: true, ...whole.gateway };
}
