/**
 * StreamGraph → JobGraph: operator chaining. Operators joined by a forward edge with equal
 * parallelism fuse into one vertex that runs as plain function calls on one thread; every other
 * edge becomes a JobEdge (a network exchange). Also the lookups the runtime needs to wire a
 * chain: which node an id names, and which outputs of a vertex's operators stay in the chain.
 */
import { JobDefinitionError } from '@sluice/common';
import type { ChainedOperatorInfo, JobEdge, JobGraph, JobVertex } from '@sluice/protocol';
import type { StreamEdge, StreamNode } from './spec.js';
import { operatorStateShapes } from './state-shapes.js';
import { isSinkKind, type StreamGraph } from './streamgraph.js';

/**
 * Whether `edge` is fused into its source's chain: forward, the target's only input, equal
 * parallelism, the target willing to join ('always') and the source willing to be joined.
 * Max parallelism need not match: keyed operators always read a hash edge, so they are always
 * chain heads, and the vertex takes its head's max parallelism (its key-group count).
 */
export function isChainable(graph: StreamGraph, edge: StreamEdge): boolean {
  if (edge.partitioner.kind !== 'forward') return false;
  const source = graph.getNode(edge.sourceId);
  const target = graph.getNode(edge.targetId);
  return (
    graph.inEdges(target.id).length === 1 &&
    source.parallelism === target.parallelism &&
    target.chaining === 'always' &&
    source.chaining !== 'never'
  );
}

export function createJobGraph(graph: StreamGraph): JobGraph {
  // Node ids are topological (inputs are created before their consumers), so one pass in id
  // order sees every chain head before its members, and chains come out in topological order.
  const chainOf = new Map<number, number>();
  const chains: StreamNode[][] = [];
  for (const node of graph.nodes.values()) {
    const inputs = graph.inEdges(node.id);
    const only = inputs.length === 1 ? inputs[0] : undefined;
    const parentChain = only !== undefined && isChainable(graph, only) ? chainOf.get(only.sourceId) : undefined;
    if (parentChain === undefined) {
      chainOf.set(node.id, chains.length);
      chains.push([node]);
    } else {
      chainOf.set(node.id, parentChain);
      chains[parentChain]!.push(node);
    }
  }

  const vertexId = (chainIndex: number): string => `v${chainIndex + 1}`;
  const vertices: JobVertex[] = chains.map((ops, index) => {
    const head = ops[0]!;
    return {
      id: vertexId(index),
      name: ops.map((n) => n.name).join(' -> '),
      parallelism: head.parallelism,
      maxParallelism: head.maxParallelism,
      operators: ops.map(operatorInfo),
      isSource: head.spec.kind === 'source',
      isSink: ops.some((n) => isSinkKind(n.spec.kind)),
    };
  });

  const exchanges: Array<{ edge: JobEdge; from: number; to: number; order: number }> = [];
  graph.edges.forEach((edge, order) => {
    const from = chainOf.get(edge.sourceId)!;
    const to = chainOf.get(edge.targetId)!;
    if (from === to) return;
    const jobEdge: JobEdge = {
      // The StreamEdge id: one exchange per cut edge, and the runtime can map between them directly.
      id: edge.id,
      sourceVertex: vertexId(from),
      targetVertex: vertexId(to),
      sourceNodeId: edge.sourceId,
      targetNodeId: edge.targetId,
      inputIndex: edge.inputIndex,
      partitioner: edge.partitioner.kind,
    };
    if (edge.sideOutputTag !== undefined) jobEdge.sideOutputTag = edge.sideOutputTag;
    exchanges.push({ edge: jobEdge, from, to, order });
  });
  // Grouped by source then target vertex, so plans and logs read in topological order.
  exchanges.sort((a, b) => a.from - b.from || a.to - b.to || a.order - b.order);

  return { jobName: graph.jobName, vertices, edges: exchanges.map((e) => e.edge), config: { ...graph.config } };
}

function operatorInfo(node: StreamNode): ChainedOperatorInfo {
  const info: ChainedOperatorInfo = { nodeId: node.id, name: node.name, kind: node.spec.kind };
  if (node.uid !== undefined) info.uid = node.uid;
  const states = operatorStateShapes(node.spec);
  if (states !== undefined) info.states = states;
  return info;
}

/** The StreamNode behind a ChainedOperatorInfo's node id (throws if the rebuilt job differs). */
export function findStreamNode(graph: StreamGraph, nodeId: number): StreamNode {
  return graph.getNode(nodeId);
}

export function outgoingStreamEdges(graph: StreamGraph, nodeId: number): readonly StreamEdge[] {
  return graph.outEdges(nodeId);
}

export function findVertex(jobGraph: JobGraph, vertexId: string): JobVertex {
  const vertex = jobGraph.vertices.find((v) => v.id === vertexId);
  if (vertex === undefined) throw new JobDefinitionError(`job '${jobGraph.jobName}' has no vertex '${vertexId}'`);
  return vertex;
}

/** The vertex whose chain contains the operator with this node id. */
export function findVertexOfNode(jobGraph: JobGraph, nodeId: number): JobVertex {
  const vertex = jobGraph.vertices.find((v) => v.operators.some((o) => o.nodeId === nodeId));
  if (vertex === undefined) throw new JobDefinitionError(`job '${jobGraph.jobName}' has no operator with node id ${nodeId}`);
  return vertex;
}

/** Exchanges reading into a vertex (its network inputs), in JobGraph order. */
export function vertexInputEdges(jobGraph: JobGraph, vertexId: string): JobEdge[] {
  return jobGraph.edges.filter((e) => e.targetVertex === vertexId);
}

export function vertexOutputEdges(jobGraph: JobGraph, vertexId: string): JobEdge[] {
  return jobGraph.edges.filter((e) => e.sourceVertex === vertexId);
}

/** An operator of a chain with its outputs split by where they go. */
export interface ChainedOperatorLayout {
  node: StreamNode;
  /** Edges to operators in the same chain: records pass by direct call. */
  chainedOutputs: StreamEdge[];
  /** Edges that leave the chain, each with the exchange that carries it. */
  networkOutputs: Array<{ streamEdge: StreamEdge; jobEdge: JobEdge }>;
}

/**
 * How to wire one vertex: its operators (head first) and, for each, which outputs stay in the
 * chain and which leave it through which JobEdge. `streamGraph` must be the graph `jobGraph` was
 * made from (or a rebuild of the same job module).
 */
export function chainLayout(streamGraph: StreamGraph, jobGraph: JobGraph, vertexId: string): ChainedOperatorLayout[] {
  const vertex = findVertex(jobGraph, vertexId);
  const members = new Set(vertex.operators.map((o) => o.nodeId));
  const jobEdgesById = new Map<string, JobEdge>();
  for (const e of jobGraph.edges) if (e.sourceVertex === vertexId) jobEdgesById.set(e.id, e);
  return vertex.operators.map((op) => {
    const node = streamGraph.getNode(op.nodeId);
    if (node.spec.kind !== op.kind) {
      throw new JobDefinitionError(
        `node ${op.nodeId} is a '${node.spec.kind}' operator in the rebuilt job but '${op.kind}' in the job graph; ` +
          `the job module must build the same graph every time`,
      );
    }
    const layout: ChainedOperatorLayout = { node, chainedOutputs: [], networkOutputs: [] };
    for (const edge of streamGraph.outEdges(node.id)) {
      if (members.has(edge.targetId)) {
        layout.chainedOutputs.push(edge);
        continue;
      }
      const jobEdge = jobEdgesById.get(edge.id);
      if (jobEdge === undefined) {
        throw new JobDefinitionError(`stream edge ${edge.id} leaves vertex '${vertexId}' but the job graph has no exchange for it`);
      }
      layout.networkOutputs.push({ streamEdge: edge, jobEdge });
    }
    return layout;
  });
}
