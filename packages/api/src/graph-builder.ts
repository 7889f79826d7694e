/**
 * The mutable graph under construction behind one StreamExecutionEnvironment (internal). Stream
 * objects append nodes and edges here as job code runs; `build` resolves defaults that depend on
 * the final environment settings (parallelism, default partitioners) and yields a StreamGraph.
 * Resolution is lazy because Flink lets `env.setParallelism()` come after operators are defined.
 */
import { JobDefinitionError } from '@sluice/common';
import type { JobConfig } from '@sluice/protocol';
import { checkMaxParallelism, checkPositiveInteger } from './job-config.js';
import type { TypeSerializer } from './serializer.js';
import type { ChainingStrategy, OperatorSpec, PartitionerSpec, StreamEdge, StreamNode } from './spec.js';
import { StreamGraph } from './streamgraph.js';

/**
 * One logical input of a stream: an operator's output, possibly a side output, possibly with a
 * partitioner the user chose. A stream made by `union` has several; partitioning calls rewrite them.
 */
export interface StreamInput {
  readonly nodeId: number;
  readonly partitioner?: PartitionerSpec;
  readonly sideOutputTag?: string;
}

export interface NodeDraft {
  readonly id: number;
  name: string;
  uid?: string;
  /** Explicit parallelism; unset nodes follow the environment's default at build time. */
  parallelism?: number;
  maxParallelism?: number;
  readonly spec: OperatorSpec;
  chaining: ChainingStrategy;
  serializer?: TypeSerializer<unknown>;
  /** Set for operators that can only run as one subtask, saying why (used in error messages). */
  readonly nonParallelReason?: string;
}

export interface NodeInit {
  name: string;
  spec: OperatorSpec;
  chaining?: ChainingStrategy;
  nonParallelReason?: string;
}

export interface InputGroup {
  readonly inputs: readonly StreamInput[];
  readonly inputIndex: 0 | 1;
}

interface EdgeDraft {
  readonly id: string;
  readonly sourceId: number;
  readonly targetId: number;
  readonly inputIndex: 0 | 1;
  readonly partitioner?: PartitionerSpec;
  readonly sideOutputTag?: string;
}

export class GraphBuilder {
  private readonly nodes: NodeDraft[] = [];
  private readonly edges: EdgeDraft[] = [];
  private readonly uids = new Map<string, NodeDraft>();
  private readonly collectNames = new Set<string>();

  addNode(init: NodeInit, inputGroups: readonly InputGroup[]): NodeDraft {
    const node: NodeDraft = {
      id: this.nodes.length + 1,
      name: init.name,
      spec: init.spec,
      chaining: init.chaining ?? 'always',
      ...(init.nonParallelReason === undefined ? {} : { nonParallelReason: init.nonParallelReason }),
    };
    this.nodes.push(node);
    for (const group of inputGroups) {
      for (const input of group.inputs) {
        const edge: EdgeDraft = {
          id: `e${this.edges.length + 1}`,
          sourceId: input.nodeId,
          targetId: node.id,
          inputIndex: group.inputIndex,
          ...(input.partitioner === undefined ? {} : { partitioner: input.partitioner }),
          ...(input.sideOutputTag === undefined ? {} : { sideOutputTag: input.sideOutputTag }),
        };
        this.edges.push(edge);
      }
    }
    return node;
  }

  setName(node: NodeDraft, name: string): void {
    if (typeof name !== 'string' || name.trim().length === 0) {
      throw new JobDefinitionError(`operator name must be a non-empty string (node ${node.id}, now '${node.name}')`);
    }
    node.name = name;
  }

  setUid(node: NodeDraft, uid: string): void {
    if (typeof uid !== 'string' || uid.length === 0) {
      throw new JobDefinitionError(`uid of '${node.name}' (node ${node.id}) must be a non-empty string`);
    }
    const other = this.uids.get(uid);
    if (other !== undefined && other !== node) {
      throw new JobDefinitionError(
        `uid '${uid}' is already used by '${other.name}' (node ${other.id}); uids must be unique within a job, ` +
          `give '${node.name}' (node ${node.id}) another one`,
      );
    }
    if (node.uid !== undefined) this.uids.delete(node.uid);
    node.uid = uid;
    this.uids.set(uid, node);
  }

  setParallelism(node: NodeDraft, parallelism: number): void {
    checkPositiveInteger(`parallelism of '${node.name}'`, parallelism);
    if (node.nonParallelReason !== undefined && parallelism !== 1) {
      throw new JobDefinitionError(
        `'${node.name}' (node ${node.id}) cannot run with parallelism ${parallelism}: ${node.nonParallelReason}; ` +
          `leave its parallelism at 1`,
      );
    }
    node.parallelism = parallelism;
  }

  setMaxParallelism(node: NodeDraft, maxParallelism: number): void {
    node.maxParallelism = checkMaxParallelism(`max parallelism of '${node.name}'`, maxParallelism);
  }

  registerCollectName(name: string): void {
    if (typeof name !== 'string' || name.length === 0) {
      throw new JobDefinitionError('collect(name) needs a non-empty name; results are returned to the client under it');
    }
    if (this.collectNames.has(name)) {
      throw new JobDefinitionError(`collect name '${name}' is already used in this job; give each collect sink its own name`);
    }
    this.collectNames.add(name);
  }

  build(jobName: string, config: JobConfig): StreamGraph {
    const nodes: StreamNode[] = this.nodes.map((d) => {
      const fixed = d.nonParallelReason !== undefined;
      const node: StreamNode = {
        id: d.id,
        name: d.name,
        parallelism: d.parallelism ?? (fixed ? 1 : config.defaultParallelism),
        maxParallelism: d.maxParallelism ?? config.maxParallelism,
        spec: d.spec,
        chaining: d.chaining,
        parallelismSet: d.parallelism !== undefined || fixed,
      };
      if (d.uid !== undefined) node.uid = d.uid;
      if (d.serializer !== undefined) node.serializer = d.serializer;
      return node;
    });
    const parallelismOf = (id: number): number => nodes[id - 1]?.parallelism ?? 0;
    const edges: StreamEdge[] = this.edges.map((d) => {
      const partitioner: PartitionerSpec =
        d.partitioner ?? { kind: parallelismOf(d.sourceId) === parallelismOf(d.targetId) ? 'forward' : 'rebalance' };
      const edge: StreamEdge = { id: d.id, sourceId: d.sourceId, targetId: d.targetId, inputIndex: d.inputIndex, partitioner };
      if (d.sideOutputTag !== undefined) edge.sideOutputTag = d.sideOutputTag;
      return edge;
    });
    return new StreamGraph({ jobName, config, nodes, edges });
  }
}
