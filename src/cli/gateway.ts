import { runGateway } from '../gateway/cli.js';
import { tracesSchema } from '../runtime/config/schema.js';
import { TracingComponent } from '../runtime/tracing.js';

/** `sluice gateway`: the gateway alone, `telemetry.traces` applied as `sluice up` applies it. */
export function runGatewayCommand(args: string[]): Promise<number> {
  return runGateway(args, {
    schema: tracesSchema,
    component: (traces: ConstructorParameters<typeof TracingComponent>[0]) =>
      new TracingComponent(traces),
  });
}
