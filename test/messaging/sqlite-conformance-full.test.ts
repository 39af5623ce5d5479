import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDriver } from '../../src/messaging/drivers/sqlite/driver.js';
import { conformance } from '../conformance/suite.js';

// The default, synchronous: 'full': durable writes resolve after a WAL sync off the main
// thread, so every case also runs with publishes resolving later than their commit.
const dir = mkdtempSync(join(tmpdir(), 'sluice-conformance-full-'));
let n = 0;

conformance({
  name: 'sqlite (synchronous full)',
  open: async () => openSqliteDriver(join(dir, `broker-${++n}.db`), { synchronous: 'full' }),
  teardown: async () => rmSync(dir, { recursive: true, force: true }),
});
