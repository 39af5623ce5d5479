import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { requireEngine } from '../../support/engines.js';
import { twoControlPlanes, uniquePrefix } from './two-planes.js';

const url = process.env.SLUICE_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const prefix = uniquePrefix();

describe('mesh control plane on PostgreSQL', () => {
  before(() => requireEngine('postgres'));
  after(async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP TABLE IF EXISTS ${prefix}_mesh_endpoints, ${prefix}_mesh_policies`);
    await client.end();
  });

  it('two control-plane processes serve one mesh; dead registrations expire', async () => {
    await twoControlPlanes(url, prefix);
  });
});
