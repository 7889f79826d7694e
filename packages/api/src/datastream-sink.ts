/**
 * DataStreamSink: the handle a sink call returns. It ends a pipeline, so it offers only the
 * knobs of the sink operator itself (no further transformations).
 */
import type { GraphBuilder, NodeDraft } from './graph-builder.js';

export class DataStreamSink<T> {
  declare readonly __type?: T;
  /** @internal */
  readonly builder: GraphBuilder;
  /** @internal */
  readonly node: NodeDraft;

  /** @internal */
  constructor(builder: GraphBuilder, node: NodeDraft) {
    this.builder = builder;
    this.node = node;
  }

  get nodeId(): number {
    return this.node.id;
  }

  name(name: string): this {
    this.builder.setName(this.node, name);
    return this;
  }

  uid(uid: string): this {
    this.builder.setUid(this.node, uid);
    return this;
  }

  setParallelism(parallelism: number): this {
    this.builder.setParallelism(this.node, parallelism);
    return this;
  }

  setMaxParallelism(maxParallelism: number): this {
    this.builder.setMaxParallelism(this.node, maxParallelism);
    return this;
  }

  disableChaining(): this {
    this.node.chaining = 'never';
    return this;
  }
}
