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
/** Edge labels are sized for layout in steps of this many characters (see `placeTopology`). */
const LABEL_STEP = 8;
/** Layouts kept, the least recently used dropped first. */
const LAYOUTS_KEPT = 16;

interface Layout {
  width: number;
  height: number;
  nodes: Map<string, { x: number; y: number; width: number; height: number }>;
  points: Map<string, Array<{ x: number; y: number }>>;
}

const layouts = new Map<string, Layout>();

function nodeSize(node: TopologyNode): { width: number; height: number } {
  const text = Math.max(node.label.length + 2, node.badges.join('  ').length);
  return { width: Math.max(90, text * CHAR_WIDTH + 24), height: node.badges.length > 0 ? 46 : 32 };
}

function labelWidth(edge: TopologyEdge): number {
  return Math.ceil(edge.label.length / LABEL_STEP) * LABEL_STEP * 6;
}

const edgeKey = (edge: TopologyEdge): string => `${edge.from}\n${edge.to}`;

/**
 * Lays the graph out left to right with dagre, on the server: the page gets plain SVG.
 * Laying out is most of a render's time, and the graph keeps its shape from one tick to
 * the next while its figures change: a layout is kept by shape (the nodes with their
 * sizes, the edges with the width of their labels, in steps, so a rate that gains a digit
 * moves nothing) and reused with the new labels and badges.
 */
export function placeTopology(nodes: TopologyNode[], edges: TopologyEdge[]): Placed {
  const shape = JSON.stringify([
    nodes.map((node) => [node.id, nodeSize(node)]),
    edges.map((edge) => [edge.from, edge.to, labelWidth(edge)]),
  ]);
  let placed = layouts.get(shape);
  if (placed === undefined) {
    placed = layOut(nodes, edges);
    if (layouts.size >= LAYOUTS_KEPT) layouts.delete(layouts.keys().next().value!);
  } else {
    layouts.delete(shape);
  }
  layouts.set(shape, placed);
  const at = placed;
  return {
    width: at.width,
    height: at.height,
    nodes: nodes.map((node) => ({ ...node, ...at.nodes.get(node.id)! })),
    edges: edges.map((edge) => ({ ...edge, points: at.points.get(edgeKey(edge)) ?? [] })),
  };
}

function layOut(nodes: TopologyNode[], edges: TopologyEdge[]): Layout {
  const graph = new Graph({ multigraph: false });
  graph.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 110, marginx: 16, marginy: 16 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of nodes) graph.setNode(node.id, nodeSize(node));
  for (const edge of edges) {
    graph.setEdge(edge.from, edge.to, { width: labelWidth(edge), height: 14, labelpos: 'c' });
  }
  layout(graph);
  const label = graph.graph();
  return {
    width: Math.ceil(label.width ?? 400),
    height: Math.ceil(label.height ?? 200),
    nodes: new Map(
      nodes.map((node) => {
        const { x, y, width, height } = graph.node(node.id);
        return [node.id, { x, y, width, height }];
      }),
    ),
    points: new Map(
      edges.map((edge) => [edgeKey(edge), graph.edge(edge.from, edge.to)?.points ?? []]),
    ),
  };
}
