import { Graph, layout } from '@dagrejs/dagre';

export interface TopologyNode {
  /** Unique in the graph: a queue's is `queue:NAME`, as a queue may share a service's name. */
  id: string;
  label: string;
  kind: 'gateway' | 'service' | 'queue';
  badges: string[];
  /** Draw it as in trouble (an open breaker, a restart, a certificate close to expiry). */
  bad: boolean;
}

export interface TopologyEdge {
  from: string;
  to: string;
  label: string;
  bad: boolean;
}

export interface PlacedNode extends TopologyNode {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PlacedEdge extends TopologyEdge {
  points: Array<{ x: number; y: number }>;
}

export interface Placed {
  width: number;
  height: number;
  nodes: PlacedNode[];
  edges: PlacedEdge[];
}

const CHAR_WIDTH = 7;

/** Lays the graph out left to right with dagre, on the server: the page gets plain SVG. */
export function placeTopology(nodes: TopologyNode[], edges: TopologyEdge[]): Placed {
  const graph = new Graph({ multigraph: false });
  graph.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 110, marginx: 16, marginy: 16 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of nodes) {
    const text = Math.max(node.label.length + 2, node.badges.join('  ').length);
    graph.setNode(node.id, {
      width: Math.max(90, text * CHAR_WIDTH + 24),
      height: node.badges.length > 0 ? 46 : 32,
    });
  }
  for (const edge of edges) {
    graph.setEdge(edge.from, edge.to, { width: edge.label.length * 6, height: 14, labelpos: 'c' });
  }
  layout(graph);
  const label = graph.graph();
  return {
    width: Math.ceil(label.width ?? 400),
    height: Math.ceil(label.height ?? 200),
    nodes: nodes.map((node) => {
      const placed = graph.node(node.id);
      return { ...node, x: placed.x, y: placed.y, width: placed.width, height: placed.height };
    }),
    edges: edges.map((edge) => ({ ...edge, points: graph.edge(edge.from, edge.to)?.points ?? [] })),
  };
}
