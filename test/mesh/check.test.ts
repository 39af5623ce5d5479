import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { ManualClock } from '../../src/core/clock.js';
import { CertificateAuthority } from '../../src/mesh/identity/authority.js';
import { caFileNames } from '../../src/mesh/identity/ca-files.js';
import { watchCaExpiry } from '../../src/mesh/identity/expiry.js';
import { createLogger } from '../../src/observe/logger.js';
import { tempDir, trustDomain } from './support.js';

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const DAY = 24 * 3600_000;

function sluice(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

describe('CA expiry', () => {
  it('publishes the expiry of the anchor and the issuer, and warns 30 days ahead', async () => {
    const dir = tempDir();
    const clock = new ManualClock(Date.now());
    const ca = await CertificateAuthority.open({ dir, trustDomain, clock });
    const lines: { msg: string; certificate?: string }[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const registry = new Registry();
    const logger = createLogger({ name: 'meshctl-expiry', destination: sink });
    const watch = watchCaExpiry(ca, { logger, clock, registry });
    try {
      const text = await registry.metrics();
      const issuer = new RegExp(
        `certificate="issuer",serial="${ca.issuer.serialNumber}"\\} (\\d+)`,
      ).exec(text);
      assert.equal(Number(issuer?.[1]), Math.floor(ca.issuer.notAfter.getTime() / 1000));
      assert.match(text, /sluice_mesh_ca_expiry_timestamp_seconds\{certificate="anchor"/);
      assert.equal(lines.length, 0, 'no warning for a fresh CA');
      clock.set(ca.issuer.notAfter.getTime() - 29 * DAY);
      watch.update();
      assert.equal(lines.length, 1);
      assert.equal(lines[0]!.certificate, 'issuer');
      assert.match(lines[0]!.msg, /expires in 29 days/);
    } finally {
      watch.stop();
    }
  });
});

describe('sluice mesh check', () => {
  it('passes on a fresh CA and fails when an expiry is within --warn or the files are broken', async () => {
    const dir = tempDir();
    await CertificateAuthority.open({ dir, trustDomain });
    const ok = sluice('mesh', 'check', '--ca-dir', dir, '--trust-domain', trustDomain);
    assert.equal(ok.code, 0, ok.err + ok.out);
    assert.match(ok.out, /issuer .* days/);
    assert.match(ok.out, /^ok$/m);
    const soon = sluice(
      'mesh',
      'check',
      '--ca-dir',
      dir,
      '--trust-domain',
      trustDomain,
      '--warn',
      '400d',
      '--json',
    );
    assert.equal(soon.code, 1);
    const report = JSON.parse(soon.out) as { ok: boolean; problems: string[] };
    assert.equal(report.ok, false);
    assert.match(report.problems.join('\n'), /the issuer .* expires in 36\d days/);
    const wrongDomain = sluice('mesh', 'check', '--ca-dir', dir, '--trust-domain', 'other.test');
    assert.equal(wrongDomain.code, 1);
    assert.match(wrongDomain.out, /not spiffe:\/\/other\.test/);
    writeFileSync(join(dir, caFileNames.issuer), 'garbage');
    const broken = sluice('mesh', 'check', '--ca-dir', dir, '--trust-domain', trustDomain);
    assert.equal(broken.code, 1);
    const missing = sluice('mesh', 'check', '--ca-dir', join(dir, 'nowhere'));
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no CA at/);
  });

  it('is listed by sluice help, and mesh token prints a token the CA accepts', async () => {
    const help = sluice('help', 'mesh');
    assert.equal(help.code, 0);
    assert.match(help.out, /--store URL/);
    assert.match(sluice('--help').out, /mesh control\|check\|token\|rotate/);
    const dir = tempDir();
    const ca = await CertificateAuthority.open({ dir, trustDomain });
    const token = sluice(
      'mesh',
      'token',
      '--ca-dir',
      dir,
      '--trust-domain',
      trustDomain,
      '--service',
      'payment',
      '--ttl',
      '5m',
    );
    assert.equal(token.code, 0, token.err);
    assert.equal((await ca.tokens.verify(token.out.trim())).service, 'payment');
    const rotated = sluice('mesh', 'rotate', '--ca-dir', dir, '--trust-domain', trustDomain);
    assert.equal(rotated.code, 0, rotated.err);
    await ca.reload();
    assert.equal(ca.anchors.length, 2);
    assert.equal(sluice('mesh', 'nonsense').code, 2);
  });
});
