import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isConfigError } from '../../src/core/errors.js';
import { Authorizer } from '../../src/mesh/authorization.js';
import { compileSidecarPolicy, DEFAULT_UPSTREAM_POLICY } from '../../src/mesh/policy.js';
import { PeakEwma } from '../../src/mesh/sidecar/peak-ewma.js';
import { parseSpiffeId, spiffeIdOfCertificate } from '../../src/mesh/spiffe.js';

function problemsOf(json: unknown): string[] {
  try {
    compileSidecarPolicy(json);
  } catch (error) {
    assert.ok(isConfigError(error));
    return error.problems.map((p) => `${p.path}: ${p.message}`);
  }
  return [];
}

describe('mesh policy', () => {
  it('resolves units and fills Linkerd defaults', () => {
    const policy = compileSidecarPolicy({
      policies: {
        payment: {
          timeout: '2s',
          retry: { attempts: 3, budget: '10%' },
          breaker: { consecutiveFailures: 5, openFor: '500ms', maxOpenFor: '30s' },
          outlierDetection: { consecutiveErrors: 4, ejectionTime: '5s', maxEjectionPercent: '25%' },
          split: [
            { version: 'v1', weight: 9 },
            { version: 'v2', weight: 1 },
          ],
        },
      },
    });
    const p = policy.upstream('payment');
    assert.equal(p.timeoutMs, 2000);
    assert.deepEqual(p.retry, {
      attempts: 3,
      backoff: 'exponential',
      delayMs: 25,
      maxDelayMs: 1000,
      ratio: 0.1,
      minPerSecond: 10,
      windowMs: 10_000,
    });
    assert.deepEqual(p.breaker, { consecutiveFailures: 5, openForMs: 500, maxOpenForMs: 30_000 });
    assert.deepEqual(p.outlier, { consecutiveErrors: 4, ejectionMs: 5000, maxEjectionRatio: 0.25 });
    assert.equal(policy.upstream('other'), DEFAULT_UPSTREAM_POLICY);
    assert.equal(DEFAULT_UPSTREAM_POLICY.retry.ratio, 0.2);
  });

  it('refuses a bad policy whole, naming every problem', () => {
    const found = problemsOf({
      policies: {
        payment: { timeout: 'soon', retry: { attempts: 0 }, split: [{ version: 'v1', weight: 0 }] },
      },
      authorization: {
        default: 'maybe',
        rules: [{ name: 'x', from: ['a'], action: 'allow', path: 'nope' }],
      },
    });
    assert.ok(
      found.some((p) => p.startsWith('policies.payment.timeout')),
      found.join('\n'),
    );
    assert.ok(
      found.some((p) => p.startsWith('policies.payment.retry.attempts')),
      found.join('\n'),
    );
    assert.ok(
      found.some((p) => p.startsWith('authorization.default')),
      found.join('\n'),
    );
    assert.ok(
      found.some((p) => p.startsWith('authorization.rules[0].path')),
      found.join('\n'),
    );
    assert.deepEqual(problemsOf({ extra: true }), [
      'extra: unknown key "extra" (allowed: policies, authorization)',
    ]);
    const cross = problemsOf({
      policies: { payment: { split: [{ version: 'v1', weight: 0 }] } },
      authorization: {
        rules: [
          { name: 'r', from: ['a'], action: 'allow', path: '/a', pathPrefix: '/a' },
          { name: 'r', from: ['a'], action: 'deny' },
        ],
      },
    });
    assert.deepEqual(cross.sort(), [
      'authorization.rules[0]: give path or pathPrefix, not both',
      'authorization.rules[1].name: the rule name "r" is used twice',
      'policies.payment.split: at least one version needs a weight > 0',
    ]);
  });
});

describe('mesh authorization precedence', () => {
  const authorizer = new Authorizer({
    default: 'deny',
    rules: [
      { name: 'any-read', from: ['*'], action: 'allow', methods: ['GET'] },
      { name: 'web-deny-admin', from: ['web'], action: 'deny', pathPrefix: '/admin' },
      { name: 'web-allow-admin-status', from: ['web'], action: 'allow', path: '/admin/status' },
      { name: 'ops-admin', from: ['ops'], action: 'allow', pathPrefix: '/admin' },
      { name: 'ops-admin-deny', from: ['ops'], action: 'deny', pathPrefix: '/admin' },
      { name: 'ops-keys', from: ['ops'], action: 'allow', pathPrefix: '/admin/keys' },
    ],
  });

  it('prefers an exact caller to a wildcard, an exact path to a prefix, a longer prefix', () => {
    assert.deepEqual(authorizer.decide('web', 'GET', '/admin/x'), {
      allowed: false,
      rule: 'web-deny-admin',
    });
    assert.deepEqual(authorizer.decide('web', 'GET', '/admin/status'), {
      allowed: true,
      rule: 'web-allow-admin-status',
    });
    assert.deepEqual(authorizer.decide('web', 'GET', '/items'), {
      allowed: true,
      rule: 'any-read',
    });
    assert.deepEqual(authorizer.decide('ops', 'POST', '/admin/keys/1'), {
      allowed: true,
      rule: 'ops-keys',
    });
  });

  it('lets a deny win at equal precedence, and falls back to the default', () => {
    assert.deepEqual(authorizer.decide('ops', 'POST', '/admin/x'), {
      allowed: false,
      rule: 'ops-admin-deny',
    });
    assert.deepEqual(authorizer.decide('web', 'POST', '/items'), {
      allowed: false,
      rule: 'default',
    });
    assert.deepEqual(authorizer.decide(undefined, 'GET', '/items'), {
      allowed: true,
      rule: 'any-read',
    });
    assert.deepEqual(new Authorizer({}).decide('x', 'DELETE', '/'), {
      allowed: true,
      rule: 'default',
    });
  });
});

describe('peak-EWMA', () => {
  it('jumps to a slower sample, decays towards faster ones and while idle', () => {
    const ewma = new PeakEwma(30, 10_000, 0);
    ewma.observe(100, 0);
    assert.equal(ewma.value(0), 100);
    ewma.observe(1, 10_000);
    const after = ewma.value(10_000);
    assert.ok(after < 100 * Math.exp(-1) && after > 1, String(after));
    assert.ok(ewma.value(60_000) < after / 100);
  });
});

describe('SPIFFE IDs', () => {
  it('parses by the standard and reads exactly one URI SAN', () => {
    assert.deepEqual(parseSpiffeId('spiffe://mesh.test/svc/payment'), {
      trustDomain: 'mesh.test',
      path: '/svc/payment',
    });
    for (const bad of [
      'spiffe://Mesh/svc',
      'spiffe://m/svc/../x',
      'spiffe://m//x',
      'http://m/x',
      'spiffe://m/a b',
    ]) {
      assert.equal(parseSpiffeId(bad), undefined, bad);
    }
    assert.deepEqual(spiffeIdOfCertificate({ subjectaltname: 'URI:spiffe://m/svc/a' }), {
      id: 'spiffe://m/svc/a',
      parsed: { trustDomain: 'm', path: '/svc/a' },
    });
    assert.ok(
      'reason' in spiffeIdOfCertificate({ subjectaltname: 'URI:spiffe://m/a, URI:spiffe://m/b' }),
    );
    assert.ok('reason' in spiffeIdOfCertificate({ subjectaltname: 'DNS:localhost' }));
    assert.ok(
      'reason' in spiffeIdOfCertificate({ subjectaltname: 'URI:"spiffe://m/a, URI:spiffe://m/b"' }),
    );
    assert.ok('reason' in spiffeIdOfCertificate(undefined));
  });
});
