import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { request } from 'undici';
import type { WorkloadIdentity } from '../../src/mesh/contract.js';
import { MeshControlClient } from '../../src/mesh/control/client.js';
import { ControlPlane } from '../../src/mesh/control/control-plane.js';
import { CertificateAuthority } from '../../src/mesh/identity/authority.js';
import { Sidecar } from '../../src/mesh/sidecar/sidecar.js';
import { waitFor } from '../support/wait-for.js';
import { startApp } from './helpers.js';
import { quiet, tempDir, trustDomain } from './support.js';

const certificates = (pem: string): X509Certificate[] =>
  (pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map(
    (block) => new X509Certificate(block),
  );

/** True when the leaf (then its issuer) of `certPem` chains to `root`. */
function chainsTo(certPem: string, root: X509Certificate): boolean {
  const [leaf, issuer] = certificates(certPem);
  return (
    leaf !== undefined &&
    issuer !== undefined &&
    leaf.verify(issuer.publicKey) &&
    issuer.checkIssued(root) &&
    issuer.verify(root.publicKey)
  );
}

/** One HTTPS request straight to a sidecar's mTLS port, on a fresh connection. */
function callInbound(port: number, client: WorkloadIdentity, trust: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/direct',
        key: client.keyPem,
        cert: client.certPem,
        ca: trust,
        checkServerIdentity: () => undefined,
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('anchor rotation under steady traffic', () => {
  it('loses no request while the anchor rotates, both sides renew, and the old root is dropped', {
    timeout: 120_000,
  }, async (t) => {
    const dir = tempDir();
    const caDir = join(dir, 'ca');
    const plane = await ControlPlane.start({
      store: join(dir, 'mesh.db'),
      caDir,
      trustDomain,
      logger: quiet,
    });
    const connect = async (service: string, instance: string) =>
      MeshControlClient.connect({
        url: plane.url,
        token: await plane.ca.tokens.bootstrap(service, { instance }),
        service,
        trustDomain,
      });
    const cliCa = () => CertificateAuthority.open({ dir: caDir, trustDomain });
    const stops: (() => Promise<void>)[] = [() => plane.close()];
    /** One payment instance (app, control client, sidecar); `app.seen` counts what reached it. */
    const startPayment = async (instance: string) => {
      const app = await startApp();
      stops.unshift(() => app.close());
      const control = await connect('payment', instance);
      stops.unshift(() => control.close());
      const sidecar = new Sidecar({
        service: 'payment',
        instance,
        control,
        appPort: app.port,
        listen: { host: '127.0.0.1', port: 0 },
        registry: new Registry(),
      });
      stops.unshift(() => sidecar.stop());
      await sidecar.start();
      return { app, control, sidecar };
    };
    try {
      const oldRoot = new X509Certificate(readFileSync(join(caDir, 'root.pem')));
      const { control: serverControl, sidecar: server } = await startPayment('payment-0');
      const inboundPort = server.addresses.inbound;
      const clientControl = await connect('fulfillment', 'fulfillment-0');
      stops.unshift(() => clientControl.close());
      const client = new Sidecar({
        service: 'fulfillment',
        instance: 'fulfillment-0',
        control: clientControl,
        appPort: 1,
        listen: { host: '127.0.0.1', port: 0 },
        upstreams: [{ name: 'payment', port: 0 }],
        registry: new Registry(),
      });
      stops.unshift(() => client.stop());
      const url = `http://127.0.0.1:${(await client.start()).upstreams.payment}/charge`;
      await waitFor('the caller to see payment', async () => {
        const answer = await request(url).catch(() => undefined);
        await answer?.body.dump();
        return answer?.statusCode === 200;
      });

      // A peer that will keep a certificate from the old root only (it never renews).
      const stale = await connect('fulfillment', 'fulfillment-stale');
      const staleIdentity = stale.identity();
      await stale.close();

      let ok = 0;
      let stop = false;
      const failures: string[] = [];
      const loops = Array.from({ length: 4 }, async () => {
        while (!stop) {
          try {
            const answer = await request(url);
            const body = await answer.body.text();
            if (answer.statusCode === 200) ok++;
            else failures.push(`${answer.statusCode} ${body}`);
          } catch (error) {
            failures.push(String(error));
          }
        }
      });
      /** Each phase must carry traffic, so no step happens between two idle moments. */
      const moreTraffic = async (what: string) => {
        const mark = ok;
        await waitFor(`traffic ${what}`, () => ok >= mark + 25 || failures.length > 0);
      };
      /**
       * The caller's pool keeps its open connections across renewals, so each phase also
       * brings a new payment instance: the caller must handshake with it in that phase's state.
       */
      const joins = async (instance: string) => {
        const { app } = await startPayment(instance);
        await waitFor(`traffic to ${instance}`, () => app.seen.length >= 10 || failures.length > 0);
      };
      const bundleOf = (sidecar: Sidecar) => certificates(sidecar.identity!.trustBundlePem);
      const bothHold = (roots: number) =>
        bundleOf(server).length === roots && bundleOf(client).length === roots;

      try {
        await moreTraffic('before the rotation');

        // As `sluice mesh rotate` does it: another process rotates the files, the running
        // control plane reloads them (its timer or SIGHUP) and pushes the bundle.
        await (await cliCa()).rotateAnchor();
        await plane.reloadCa();
        const newRoot = new X509Certificate(readFileSync(join(caDir, 'root.pem')));
        assert.notEqual(newRoot.fingerprint256, oldRoot.fingerprint256);
        await waitFor('both sidecars to hold the two-root bundle', () => bothHold(2));
        await moreTraffic('with two roots');
        // Old certificates on one side, new ones on the other, both ways.
        await joins('payment-rotated');
        const renewedElsewhere = await connect('fulfillment', 'fulfillment-new');
        assert.equal(
          await callInbound(inboundPort, renewedElsewhere.identity(), oldRoot.toString()),
          200,
        );
        await renewedElsewhere.close();

        await Promise.all([serverControl.renew(), clientControl.renew()]);
        for (const sidecar of [server, client]) {
          assert.ok(chainsTo(sidecar.identity!.certPem, newRoot), 'renewed under the new root');
        }
        await moreTraffic('after the first renewal');
        await joins('payment-renewed');
        // Until the finish, a certificate of the old root is still let in.
        assert.equal(
          await callInbound(inboundPort, staleIdentity, server.identity!.trustBundlePem),
          200,
        );

        await (await cliCa()).finishRotation();
        await plane.reloadCa();
        await waitFor('both sidecars to hold the new root alone', () => bothHold(1));
        await moreTraffic('after the finish');

        await Promise.all([serverControl.renew(), clientControl.renew()]);
        await moreTraffic('after the second renewal');
        await joins('payment-finished');
        stop = true;
        await Promise.all(loops);
        assert.deepEqual(failures, []);

        for (const sidecar of [server, client]) {
          const identity = sidecar.identity!;
          assert.deepEqual(
            certificates(identity.trustBundlePem).map((c) => c.fingerprint256),
            [newRoot.fingerprint256],
          );
          assert.ok(chainsTo(identity.certPem, newRoot));
          assert.ok(!chainsTo(identity.certPem, oldRoot));
        }
        const trust = newRoot.toString();
        // A fresh connection with the client's final identity gets in ...
        assert.equal(await callInbound(inboundPort, client.identity!, trust), 200);
        // ... and one holding only the old root's certificate is refused.
        await assert.rejects(callInbound(inboundPort, staleIdentity, trust));
        t.diagnostic(`${ok} requests, none failed`);
      } finally {
        stop = true;
        await Promise.all(loops);
      }
    } finally {
      for (const close of stops) await close().catch(() => {});
    }
  });
});
