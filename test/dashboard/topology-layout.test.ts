import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  placeTopology,
  type TopologyEdge,
  type TopologyNode,
} from '../../src/dashboard/topology-layout.js';

const node = (id: string, badges: string[] = []): TopologyNode => ({
  id,
  label: id,
  kind: 'service',
  badges,
  bad: false,
});
const edge = (from: string, to: string, label: string): TopologyEdge => ({
  from,
  to,
  label,
  bad: false,
});

test('a graph of the same shape reuses its layout with the new figures', () => {
  const nodes = [node('gateway'), node('orders'), node('payment')];
  const first = placeTopology(nodes, [
    edge('gateway', 'orders', '1.2/s · 0% err · p95 12ms'),
    edge('orders', 'payment', '1.1/s · 0% err · p95 8ms'),
  ]);
  const next = placeTopology(
    [node('gateway'), node('orders'), node('payment')],
    [
      edge('gateway', 'orders', '1.3/s · 0% err · p95 13ms'),
      edge('orders', 'payment', '1.1/s · 2% err · p95 9ms'),
    ],
  );
  assert.equal(next.edges[0]!.points, first.edges[0]!.points, 'the layout was reused');
  assert.deepEqual(
    next.nodes.map((n) => [n.x, n.y]),
    first.nodes.map((n) => [n.x, n.y]),
  );
  assert.equal(next.edges[1]!.label, '1.1/s · 2% err · p95 9ms', 'with the new labels');

  // A node with a badge is taller, and a new edge changes the shape: laid out again.
  const badged = placeTopology(
    [node('gateway'), node('orders'), node('payment', ['breaker pay open'])],
    [edge('gateway', 'orders', '1.3/s'), edge('orders', 'payment', '1.1/s')],
  );
  assert.equal(badged.nodes[2]!.badges[0], 'breaker pay open');
  assert.ok(badged.nodes[2]!.height > first.nodes[2]!.height);
  const grown = placeTopology(
    [...nodes, node('billing')],
    [
      edge('gateway', 'orders', '1.2/s · 0% err · p95 12ms'),
      edge('orders', 'payment', '1.1/s · 0% err · p95 8ms'),
      edge('orders', 'billing', '1.0/s · 0% err · p95 4ms'),
    ],
  );
  assert.notEqual(grown.edges[0]!.points, first.edges[0]!.points);
  assert.ok(grown.edges[2]!.points.length > 0, 'the new edge is drawn');
  assert.ok(grown.nodes.every((n) => Number.isFinite(n.x) && Number.isFinite(n.y)));
});
