import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDriver } from '../../src/messaging/drivers/sqlite/driver.js';
import { conformance } from './suite.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-conformance-'));
let n = 0;

conformance({
  name: 'sqlite',
  open: async () => openSqliteDriver(join(dir, `broker-${++n}.db`), { synchronous: 'normal' }),
  teardown: async () => rmSync(dir, { recursive: true, force: true }),
});
