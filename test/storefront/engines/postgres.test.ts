import { test } from 'node:test';
import pg from 'pg';
import { requireEngine } from '../../support/engines.js';
import { orderFlowOn, runPrefix } from './flow.js';

await requireEngine('postgres');

const url = process.env.SLUICE_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

test('the storefront flow passes on PostgreSQL with only the messaging section changed', {
  timeout: 180_000,
}, async () => {
  const schema = runPrefix();
  try {
    await orderFlowOn({ driver: 'postgres', url }, schema);
  } finally {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
});
