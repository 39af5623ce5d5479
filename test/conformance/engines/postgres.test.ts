import pg from 'pg';
import { openPostgresDriver } from '../../../src/messaging/drivers/postgres/driver.js';
import { requireEngine } from '../../support/engines.js';
import { conformance } from '../suite.js';

await requireEngine('postgres');

const url = process.env.SLUICE_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `sluice_conf_${process.pid}_${Date.now().toString(36)}`;

conformance({
  name: 'postgres',
  open: () => openPostgresDriver(url, { schema, poolSize: 4 }),
  async teardown() {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  },
});
