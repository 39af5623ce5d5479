import type { Lifecycle, StopReport } from './lifecycle.js';

export interface HandleSignalsOptions {
  /** Drain time shared by all components, in ms. Default 30 s. */
  drainTimeout?: number;
  /**
   * Default `process.exit`. Called with 0 once every component stopped in time, 1 if one
   * overran or failed, 128 + signal number on a second signal.
   */
  exit?: (code: number) => void;
  /** Default SIGINT and SIGTERM. */
  signals?: readonly NodeJS.Signals[];
  /** Each signal received; `second` when a drain was already under way. */
  onSignal?: (signal: NodeJS.Signals, second: boolean) => void;
  /** The drain's report, before `exit` is called. */
  onStopped?: (report: StopReport) => void;
}

const exitCodes: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

/**
 * The first SIGINT or SIGTERM drains `lifecycle` and then exits; a second one exits at once
 * (128 + signal number) without waiting for the drain. Listeners are removed once the drain
 * ends, or by calling the returned function.
 */
export function handleSignals(
  lifecycle: Pick<Lifecycle, 'stop'>,
  options: HandleSignalsOptions = {},
): () => void {
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let draining = false;

  const remove = (): void => {
    for (const signal of signals) process.off(signal, onSignal);
  };

  function onSignal(signal: NodeJS.Signals): void {
    options.onSignal?.(signal, draining);
    if (draining) {
      remove();
      exit(exitCodes[signal] ?? 1);
      return;
    }
    draining = true;
    lifecycle.stop({ drainTimeout: options.drainTimeout ?? 30_000 }).then(
      (report) => {
        remove();
        options.onStopped?.(report);
        exit(report.overran.length === 0 && report.failed.length === 0 ? 0 : 1);
      },
      () => {
        remove();
        exit(1);
      },
    );
  }

  for (const signal of signals) process.on(signal, onSignal);
  return remove;
}
