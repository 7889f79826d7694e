/**
 * The StreamGraph: one node per operator the job code created, in creation order, and the edges
 * between them with resolved partitioners. Construction validates the whole graph, so a
 * StreamGraph that exists is one the runtime can execute. Node ids follow creation order,
 * which is what lets every worker rebuild the same job module and find an operator by id.
 */
import { JobDefinitionError } from '@sluice/common';
import type { JobConfig } from '@sluice/protocol';
import type { OperatorKind, StreamEdge, StreamNode } from './spec.js';

const SINK_KINDS: ReadonlySet<OperatorKind> = new Set<OperatorKind>(['sink', 'print', 'file', 'collect']);
const TWO_INPUT_KINDS: ReadonlySet<OperatorKind> = new Set<OperatorKind>(['coProcess', 'keyedCoProcess']);

/** Whether operators of this kind end a pipeline (write records out of the job). */
export function isSinkKind(kind: OperatorKind): boolean {
  return SINK_KINDS.has(kind);
}

/** `'Map' (node 3)`: how error messages and plans name an operator. */
export function describeNode(node: StreamNode): string {
  return `'${node.name}' (node ${node.id}${node.uid === undefined ? '' : `, uid '${node.uid}'`})`;
}

export interface StreamGraphInit {
  jobName: string;
  config: JobConfig;
  /** In creation order; ids must increase, and every edge must go from a lower id to a higher one. */
  nodes: readonly StreamNode[];
  edges: readonly StreamEdge[];
}

const NO_EDGES: readonly StreamEdge[] = Object.freeze([]);

export class StreamGraph {
  readonly jobName: string;
  readonly config: JobConfig;
  /** By id, iterating in creation order (which is also a topological order). */
  readonly nodes: ReadonlyMap<number, StreamNode>;
  readonly edges: readonly StreamEdge[];
  private readonly outgoing = new Map<number, StreamEdge[]>();
  private readonly incoming = new Map<number, StreamEdge[]>();

  constructor(init: StreamGraphInit) {
    this.jobName = init.jobName;
    this.config = init.config;
    const nodes = new Map<number, StreamNode>();
    let lastId = 0;
    for (const node of init.nodes) {
      if (node.id <= lastId) {
        throw new JobDefinitionError(`stream node ids must be positive and increase in creation order; node ${node.id} follows node ${lastId}`);
      }
      lastId = node.id;
      nodes.set(node.id, node);
    }
    this.nodes = nodes;
    this.edges = init.edges;
    for (const edge of init.edges) {
      const source = nodes.get(edge.sourceId);
      const target = nodes.get(edge.targetId);
      if (source === undefined || target === undefined) {
        throw new JobDefinitionError(`edge ${edge.id} connects node ${edge.sourceId} to node ${edge.targetId}, but one of them does not exist`);
      }
      if (edge.sourceId >= edge.targetId) {
        throw new JobDefinitionError(`edge ${edge.id} goes from node ${edge.sourceId} back to node ${edge.targetId}; stream graphs must be acyclic`);
      }
      push(this.outgoing, edge.sourceId, edge);
      push(this.incoming, edge.targetId, edge);
    }
    this.validate();
  }

  /** The node with this id; a missing id means the job module built a different graph. */
  getNode(id: number): StreamNode {
    const node = this.nodes.get(id);
    if (node === undefined) {
      throw new JobDefinitionError(
        `job '${this.jobName}' has no operator with node id ${id}; the job module must build the same graph on every rebuild ` +
          `(do not make the topology depend on time, randomness or the environment)`,
      );
    }
    return node;
  }

  outEdges(nodeId: number): readonly StreamEdge[] {
    return this.outgoing.get(nodeId) ?? NO_EDGES;
  }

  /** Input edges of a node in creation order (for two-input operators, both inputs interleaved). */
  inEdges(nodeId: number): readonly StreamEdge[] {
    return this.incoming.get(nodeId) ?? NO_EDGES;
  }

  sources(): StreamNode[] {
    return [...this.nodes.values()].filter((n) => n.spec.kind === 'source');
  }

  sinks(): StreamNode[] {
    return [...this.nodes.values()].filter((n) => isSinkKind(n.spec.kind));
  }

  private validate(): void {
    if (this.sinks().length === 0) {
      throw new JobDefinitionError(
        `the job defines no sink (job '${this.jobName}'); add .print(), .collect(name), .sinkTo(sink) or ` +
          `.writeAsJsonLines(dir) to the stream whose results you want`,
      );
    }
    const uids = new Map<string, StreamNode>();
    const collectNames = new Map<string, StreamNode>();
    for (const node of this.nodes.values()) {
      this.validateNode(node);
      if (node.uid !== undefined) {
        const other = uids.get(node.uid);
        if (other !== undefined) {
          throw new JobDefinitionError(
            `uid '${node.uid}' is given to both '${other.name}' (node ${other.id}) and '${node.name}' (node ${node.id}); ` +
              `uids must be unique within a job, give one of them another uid`,
          );
        }
        uids.set(node.uid, node);
      }
      if (node.spec.kind === 'collect') {
        const other = collectNames.get(node.spec.name);
        if (other !== undefined) {
          throw new JobDefinitionError(
            `collect name '${node.spec.name}' is used by node ${other.id} and node ${node.id}; ` +
              `collect sinks need unique names because results are returned by name`,
          );
        }
        collectNames.set(node.spec.name, node);
      }
    }
    for (const edge of this.edges) {
      if (edge.partitioner.kind !== 'forward') continue;
      const source = this.getNode(edge.sourceId);
      const target = this.getNode(edge.targetId);
      if (source.parallelism !== target.parallelism) {
        throw new JobDefinitionError(
          `forward edge from ${describeNode(source)} with parallelism ${source.parallelism} to ${describeNode(target)} ` +
            `with parallelism ${target.parallelism}: forward needs equal parallelism; set the same parallelism on both ` +
            `or use rebalance() / rescale() instead of forward()`,
        );
      }
    }
  }

  private validateNode(node: StreamNode): void {
    if (!Number.isInteger(node.parallelism) || node.parallelism <= 0) {
      throw new JobDefinitionError(`operator ${describeNode(node)} has parallelism ${node.parallelism}; it must be a positive integer`);
    }
    if (node.parallelism > node.maxParallelism) {
      throw new JobDefinitionError(
        `operator ${describeNode(node)} has parallelism ${node.parallelism} above its max parallelism ${node.maxParallelism}; ` +
          `lower the parallelism or raise the max parallelism (setMaxParallelism)`,
      );
    }
    const inputs = this.inEdges(node.id);
    const kind = node.spec.kind;
    if (kind === 'source') {
      if (inputs.length > 0) throw new JobDefinitionError(`source ${describeNode(node)} cannot have inputs`);
      return;
    }
    if (inputs.length === 0) throw new JobDefinitionError(`operator ${describeNode(node)} has no input`);
    const twoInput = TWO_INPUT_KINDS.has(kind);
    const hasSecond = inputs.some((e) => e.inputIndex === 1);
    if (twoInput && (!hasSecond || !inputs.some((e) => e.inputIndex === 0))) {
      throw new JobDefinitionError(`two-input operator ${describeNode(node)} needs edges into both of its inputs`);
    }
    if (!twoInput && hasSecond) {
      throw new JobDefinitionError(`one-input operator ${describeNode(node)} has an edge into a second input`);
    }
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
