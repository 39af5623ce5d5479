import { after, afterEach, before, describe } from 'node:test';
import { type Broker, connect, type MessagingDriver } from '../../src/messaging/index.js';
import { lifecycle } from './lifecycle.js';
import { queueBasics } from './queue-basics.js';
import { queueFailures } from './queue-failures.js';
import { queueFeatures } from './queue-features.js';
import { streams } from './streams.js';
import { topics } from './topics.js';

/** How the suite gets a driver: each call returns a fresh, connected one. */
export interface DriverHarness {
  readonly name: string;
  open(): Promise<MessagingDriver>;
  /** Runs once after the whole suite (drop databases, close clients). */
  teardown?(): Promise<void>;
}

/** A broker per test, closed after it; handed to every group of cases. */
export interface SuiteContext {
  broker(): Broker;
  /** The driver under the current broker, for tests that play a misbehaving consumer. */
  driver(): MessagingDriver;
  /** Another broker over a fresh driver, for tests that need two. */
  open(): Promise<Broker>;
}

/**
 * The messaging semantics, stated once. Every driver runs this unchanged; where a driver's
 * capabilities leave something out, the case expects SLUICE_UNSUPPORTED instead.
 */
export function conformance(harness: DriverHarness): void {
  describe(`messaging conformance: ${harness.name}`, () => {
    let current: Broker | undefined;
    let currentDriver: MessagingDriver | undefined;
    const fresh = async () => {
      currentDriver = await harness.open();
      current = await connect({ driver: currentDriver });
    };
    const extra: Broker[] = [];
    const context: SuiteContext = {
      broker: () => {
        if (current === undefined) throw new Error('no broker: the suite opens one per test');
        return current;
      },
      driver: () => {
        if (currentDriver === undefined) throw new Error('no driver');
        return currentDriver;
      },
      open: async () => {
        const broker = await connect({ driver: await harness.open() });
        extra.push(broker);
        return broker;
      },
    };
    before(fresh);
    afterEach(async () => {
      await current?.close({ drainTimeout: 1000 });
      for (const broker of extra.splice(0)) await broker.close({ drainTimeout: 1000 });
      await fresh();
    });
    after(async () => {
      await current?.close({ drainTimeout: 1000 });
      await harness.teardown?.();
    });

    queueBasics(context);
    queueFailures(context);
    queueFeatures(context);
    topics(context);
    streams(context);
    lifecycle(context);
  });
}
