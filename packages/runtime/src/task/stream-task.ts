/**
 * One subtask on a worker thread: builds the operator chain of its vertex from the rebuilt
 * StreamGraph, connects the chain's inputs and outputs to shared-memory channels, and runs the
 * task loop — read a few batches (or poll the source), fire due processing-time callbacks,
 * flush batches past the buffer timeout, sleep on the doorbell when there is nothing to do.
 */
import { operatorUid } from '@sluice/checkpoint';
import { CancellationError, keyGroupRangeFor, preciseNowMs, serializeError, SluiceError, type KeyGroupRange } from '@sluice/common';
import type { StreamEdge, StreamGraph, StreamNode, TaskInfo } from '@sluice/api';
import type { JobEdge, JobGraph, JobVertex, OperatorRecordCounts, SourcePosition, TaskDeploymentDescriptor } from '@sluice/protocol';
import { isSourceOperator, type OperatorContext, type SourceStreamOperator, type StreamOperator } from '../operators/types.js';
import { createOperator } from '../operators/factory.js';
import { RecordWriter } from '../io/record-writer.js';
import { InputGate, type InputHandler } from '../io/input-gate.js';
import { TaskControl } from '../io/task-control.js';
import { createIoStats, type IoStats } from '../io/stats.js';
import { createRecordSerializer } from '../serialization/index.js';
import { ChainedTarget, OperatorOutput, WriterTarget, wrapUserError, type Target } from './chain-outputs.js';
import { TaskProcessingTimeService } from './processing-time.js';
import { TaskMetricSlot, createTaskMetricsBuffer, writeOperatorCounters, type OperatorCounters } from './task-metrics.js';
import type { SubtaskOutcome, SubtaskStart, TaskControlMessage, WorkerMessage } from './messages.js';
import { SubtaskCheckpointer, loadRestoredState } from './checkpointing.js';
import { SubtaskCustomMetrics } from '../metrics/custom-metric-group.js';
import type { HeapKeyedStateBackend } from '../state/heap-backend.js';
import type { InternalTimerService } from '../state/timer-service.js';
import type { RestoredOperatorState } from '../operators/types.js';

interface ChainMember {
  node: StreamNode;
  op: StreamOperator;
  counters: OperatorCounters;
}

/** Time slices: how long a busy loop runs before yielding to the event loop (control messages, waitAsync wake-ups). */
const YIELD_EVERY_MS = 20;
const PUBLISH_METRICS_EVERY_MS = 100;
/** Custom metrics travel by postMessage, so less often than the shared-memory counters; scrapes are seconds apart. */
const PUBLISH_CUSTOM_METRICS_EVERY_MS = 500;
const MAX_WAIT_MS = 200;
/** At the end of input, how long a task waits at most to hear how its last checkpoints ended. */
const CONFIRMATION_WAIT_MS = 30_000;

export class StreamTask {
  private readonly tdd: TaskDeploymentDescriptor;
  private readonly vertex: JobVertex;
  private readonly control: TaskControl;
  private readonly stats: IoStats = createIoStats();
  private readonly time = new TaskProcessingTimeService();
  private readonly members: ChainMember[] = [];
  private readonly writers: RecordWriter[] = [];
  private readonly metricsView: Float64Array;
  private readonly metricsBuffer: SharedArrayBuffer;
  private readonly outputs = new Map<number, OperatorOutput>();
  /** Chained operators whose records in are another member's records out (derivableInCounts). */
  private derivedIn: { member: ChainMember; from: ChainMember }[] = [];
  private currentWatermark = -Infinity;
  private idleMs = 0;
  private readonly startedAt = preciseNowMs();
  private lastPublish = 0;
  private readonly customMetrics = new SubtaskCustomMetrics();
  private lastCustomPublish = 0;
  private readonly keyedByNode = new Map<number, { backend: HeapKeyedStateBackend; timers?: InternalTimerService }>();
  private restored = new Map<number, RestoredOperatorState>();
  private checkpointer!: SubtaskCheckpointer;
  private readonly onControlMessage = (msg: TaskControlMessage): void => {
    if (this.checkpointer === undefined) return;
    if (msg.type === 'checkpoint-complete') this.checkpointer.notifyComplete(msg.checkpointId);
    else if (msg.type === 'checkpoint-aborted') this.checkpointer.notifyAborted(msg.checkpointId);
  };

  constructor(private readonly start: SubtaskStart, private readonly streamGraph: StreamGraph, private readonly jobGraph: JobGraph) {
    this.tdd = start.tdd;
    const vertex = jobGraph.vertices.find((v) => v.id === this.tdd.vertexId);
    if (vertex === undefined) throw new Error(`vertex ${this.tdd.vertexId} is not in the rebuilt job graph; was the job module changed after submission?`);
    this.vertex = vertex;
    this.control = new TaskControl(start.control);
    this.metricsBuffer = createTaskMetricsBuffer(vertex.operators.length);
    this.metricsView = new Float64Array(this.metricsBuffer);
    this.buildChain();
  }

  private post(msg: WorkerMessage): void {
    this.start.port.postMessage(msg);
  }

  private taskInfo(): TaskInfo {
    return {
      taskName: this.vertex.name,
      jobName: this.tdd.jobName,
      jobId: this.tdd.jobId,
      subtaskIndex: this.tdd.subtaskIndex,
      parallelism: this.tdd.parallelism,
      maxParallelism: this.tdd.maxParallelism,
      attempt: this.tdd.attempt,
    };
  }

  private buildChain(): void {
    const jobGraph = this.jobGraph;
    const inChain = new Set(this.vertex.operators.map((o) => o.nodeId));
    for (const info of this.vertex.operators) {
      const node = this.streamGraph.getNode(info.nodeId);
      this.members.push({ node, op: createOperator(node.spec, node.name), counters: { recordsIn: 0, recordsOut: 0, lateRecordsDropped: 0 } });
    }
    const byNode = new Map(this.members.map((m) => [m.node.id, m] as const));
    const outEdges = jobGraph.edges.filter((e) => e.sourceVertex === this.vertex.id);
    const writerByEdge = new Map<string, RecordWriter>();
    for (const je of outEdges) writerByEdge.set(je.id, this.createWriter(je));
    this.derivedIn = this.derivableInCounts(inChain, byNode);
    for (const m of this.members) {
      const main: Target[] = [];
      const side = new Map<string, Target[]>();
      for (const se of this.streamGraph.outEdges(m.node.id)) {
        const target = inChain.has(se.targetId) ? this.chainedTarget(byNode.get(se.targetId)!, se) : new WriterTarget(this.writerFor(se, writerByEdge));
        if (se.sideOutputTag === undefined) main.push(target);
        else {
          const list = side.get(se.sideOutputTag) ?? [];
          list.push(target);
          side.set(se.sideOutputTag, list);
        }
      }
      // A source chain has no input gate: its head's own watermarks are the task's watermark.
      const track = m === this.members[0] && m.node.spec.kind === 'source' ? (wm: number) => this.observeWatermark(wm) : undefined;
      this.outputs.set(m.node.id, new OperatorOutput(main, side, m.counters, track));
    }
    this.writers.push(...writerByEdge.values());
  }

  private chainedTarget(member: ChainMember, se: StreamEdge): Target {
    const derived = this.derivedIn.some((d) => d.member === member);
    return new ChainedTarget(member.op, se.inputIndex, member.counters, member.node.name, this.tdd.subtaskIndex, !derived);
  }

  /**
   * The chained operators whose records in equal another member's records out: those fed by
   * one edge, a main one, from a member with no side outputs, whose every collect reaches them.
   * Their hop then counts once (out) instead of twice; syncDerivedCounts copies the count over
   * before anyone reads it.
   */
  private derivableInCounts(inChain: ReadonlySet<number>, byNode: ReadonlyMap<number, ChainMember>): { member: ChainMember; from: ChainMember }[] {
    const derived: { member: ChainMember; from: ChainMember }[] = [];
    for (const m of this.members.slice(1)) {
      const inEdges = this.streamGraph.inEdges(m.node.id);
      if (inEdges.length !== 1) continue;
      const edge = inEdges[0]!;
      if (edge.sideOutputTag !== undefined || !inChain.has(edge.sourceId)) continue;
      if (this.streamGraph.outEdges(edge.sourceId).some((e) => e.sideOutputTag !== undefined)) continue;
      derived.push({ member: m, from: byNode.get(edge.sourceId)! });
    }
    return derived;
  }

  private syncDerivedCounts(): void {
    for (const d of this.derivedIn) d.member.counters.recordsIn = d.from.counters.recordsOut;
  }

  /** JobEdge ids are the ids of the StreamEdges they realise. */
  private writerFor(se: StreamEdge, writers: Map<string, RecordWriter>): RecordWriter {
    const w = writers.get(se.id);
    if (w === undefined) throw new Error(`no exchange for stream edge ${se.id} leaving vertex ${this.vertex.id}`);
    return w;
  }

  private createWriter(je: JobEdge): RecordWriter {
    const jobGraph = this.jobGraph;
    const out = this.start.outputs.find((o) => o.edgeId === je.id);
    if (out === undefined) throw new Error(`no channels were deployed for exchange ${je.id}`);
    const consumer = jobGraph.vertices.find((v) => v.id === je.targetVertex)!;
    const se = this.streamGraph.outEdges(je.sourceNodeId).find((e) => e.id === je.id);
    if (se === undefined) throw new Error(`exchange ${je.id} has no stream edge in the rebuilt graph`);
    const source = this.streamGraph.getNode(je.sourceNodeId);
    return new RecordWriter({
      channels: out.channels,
      partitioner: se.partitioner,
      consumerMaxParallelism: consumer.maxParallelism,
      producerSubtask: this.tdd.subtaskIndex,
      producerParallelism: this.tdd.parallelism,
      createSerializer: () => (source.serializer ?? createRecordSerializer()),
      bufferTimeoutMs: this.tdd.config.bufferTimeoutMs,
      control: this.control,
      stats: this.stats,
    });
  }

  private operatorContext(member: ChainMember, range: KeyGroupRange): OperatorContext {
    return {
      operatorName: member.node.name,
      nodeId: member.node.id,
      taskInfo: this.taskInfo(),
      params: this.tdd.artifact.params,
      config: this.tdd.config,
      keyGroupRange: range,
      processingTime: this.time,
      metrics: member.counters,
      customMetrics: this.customMetrics.group(member.node.id, member.node.name),
      collectToClient: (sinkName, records) => this.post({ type: 'collected', sinkName, records }),
      ...(this.restored.has(member.node.id) ? { restored: this.restored.get(member.node.id)! } : {}),
      registerKeyedState: (backend, timers) => {
        const known = this.keyedByNode.get(member.node.id);
        this.keyedByNode.set(member.node.id, { backend, ...(timers !== undefined ? { timers } : known?.timers !== undefined ? { timers: known.timers } : {}) });
      },
    };
  }

  /** Runs the subtask to its end; never throws. */
  async run(): Promise<SubtaskOutcome> {
    let opened = 0;
    this.start.port.on('message', this.onControlMessage);
    try {
      const range = keyGroupRangeFor(this.tdd.maxParallelism, this.tdd.parallelism, this.tdd.subtaskIndex);
      this.restored = await loadRestoredState(this.tdd.restore, this.members[0]!.node.id);
      // Open tail first, so every operator's downstream is ready before it can emit.
      for (let i = this.members.length - 1; i >= 0; i--) {
        const m = this.members[i]!;
        try {
          await m.op.open(this.operatorContext(m, range), this.outputs.get(m.node.id)!);
        } catch (err) {
          throw wrapUserError(err, m.node.name, this.tdd.subtaskIndex, undefined, false);
        }
        opened++;
      }
      this.checkpointer = new SubtaskCheckpointer(
        this.tdd,
        this.members.map((m) => {
          const keyed = this.keyedByNode.get(m.node.id);
          return { nodeId: m.node.id, uid: operatorUid(m.node.uid, m.node.id), name: m.node.name, op: m.op, ...(keyed === undefined ? {} : { keyed }) };
        }),
        this.writers,
        (msg) => this.post(msg),
      );
      this.restored.clear();
      this.post({ type: 'running', operators: this.vertex.operators.map((o) => ({ nodeId: o.nodeId, name: o.name })), metrics: this.metricsBuffer });
      const head = this.members[0]!;
      let finalSourceState: SourcePosition | undefined;
      if (isSourceOperator(head.op)) {
        await this.runSource(head.op, head);
        finalSourceState = this.finalSourceState(head, head.op);
      } else await this.runInputs(head);
      for (const m of this.members) {
        try {
          await m.op.finish();
        } catch (err) {
          throw wrapUserError(err, m.node.name, this.tdd.subtaskIndex, undefined, false);
        }
      }
      for (const w of this.writers) w.finish();
      // Checkpoints taken before the end are written, acknowledged and confirmed (so sinks
      // commit what they covered) before FINISHED.
      await this.checkpointer.drain();
      await this.checkpointer.awaitConfirmations(Math.min(this.tdd.config.checkpointTimeoutMs, CONFIRMATION_WAIT_MS), () => this.control.cancelled());
      await this.closeAll(opened);
      this.publishMetrics();
      this.publishCustomMetrics();
      return { state: 'FINISHED', operators: this.operatorCounts(), ...(finalSourceState === undefined ? {} : { finalSourceState }) };
    } catch (err) {
      await this.closeAll(opened);
      this.publishMetrics();
      this.publishCustomMetrics();
      if (err instanceof CancellationError || this.control.cancelled()) return { state: 'CANCELED', operators: this.operatorCounts() };
      return { state: 'FAILED', error: serializeError(err), operators: this.operatorCounts() };
    } finally {
      this.start.port.off('message', this.onControlMessage);
    }
  }

  private async closeAll(opened: number): Promise<void> {
    // Operators open tail first, so the opened ones are the last `opened` members; never throws.
    for (let i = this.members.length - 1; i >= this.members.length - opened && i >= 0; i--) {
      try {
        await this.members[i]!.op.close();
      } catch {
        // A failing close must not hide the original outcome.
      }
    }
  }

  private operatorCounts(): OperatorRecordCounts[] {
    this.syncDerivedCounts();
    return this.members.map((m) => ({ nodeId: m.node.id, name: m.node.name, vertexId: this.vertex.id, recordsIn: m.counters.recordsIn, recordsOut: m.counters.recordsOut }));
  }

  private checkCancelled(): void {
    if (this.control.cancelled()) throw new CancellationError(`subtask ${this.vertex.name} (${this.tdd.subtaskIndex + 1}/${this.tdd.parallelism}) was cancelled`);
  }

  /** Processing-time callbacks and batch flushes due now; returns the next deadline. */
  private housekeeping(now: number): number {
    this.time.fireDue(now);
    let next = this.time.nextDeadline();
    const cp = this.checkpointer;
    if (cp.busy) {
      cp.progress();
      // Key groups still to capture: come back at once rather than sleep.
      if (cp.capturing) next = now;
    }
    for (const w of this.writers) {
      const d = w.flushDue(now);
      if (d < next) next = d;
    }
    if (now - this.lastPublish >= PUBLISH_METRICS_EVERY_MS) this.publishMetrics();
    return next;
  }

  /**
   * Sleeps until the doorbell rings after `seenBell` (read before the last poll, so a ring in
   * between is not missed), `extra` settles, or the next deadline; the time counts as idle.
   */
  private async idleWait(seenBell: number, now: number, deadline: number, extra?: Promise<void>): Promise<void> {
    const timeout = Math.max(0, Math.min(MAX_WAIT_MS, deadline - now));
    if (timeout === 0) return;
    const t0 = preciseNowMs();
    const bell = this.control.waitForSignal(seenBell, timeout);
    await (extra === undefined ? bell : Promise.race([bell, extra]));
    this.idleMs += preciseNowMs() - t0;
  }

  private async runSource(source: SourceStreamOperator, member: ChainMember): Promise<void> {
    source.addSplits(this.tdd.splits);
    source.noMoreSplits();
    let sliceStart = preciseNowMs();
    const control = this.control;
    for (;;) {
      this.checkCancelled();
      const bell = control.doorbell();
      // Stop-with-savepoint: the input ends at the barrier.
      if (this.checkpointIfRequested(source) === 'stop') return;
      let status;
      try {
        status = source.emitNext();
      } catch (err) {
        throw wrapUserError(err, member.node.name, this.tdd.subtaskIndex, undefined, false);
      }
      const now = preciseNowMs();
      const deadline = this.housekeeping(now);
      if (status === 'end') {
        if (this.tdd.config.checkpointIntervalMs > 0) await this.awaitFinalCheckpoint(source);
        return;
      }
      // A sink chained to the source asked to be left alone: emit no more until it is ready.
      const pending = this.pendingBackpressure();
      if (pending !== undefined) {
        await pending;
        sliceStart = preciseNowMs();
      } else if (status === 'nothing') {
        await this.idleWait(bell, now, deadline, source.isAvailable());
        sliceStart = preciseNowMs();
      } else if (now - sliceStart >= YIELD_EVERY_MS) {
        await yieldToEventLoop();
        sliceStart = preciseNowMs();
      }
    }
  }

  /**
   * The source's position once its input has ended: its splits at their final positions. The
   * JobMaster puts it into every checkpoint taken after this subtask finished, so a restore
   * gives it back its splits (read to the end) instead of none. Snapshot under the id of the
   * last checkpoint taken, whose state it equals when that was the final checkpoint.
   */
  private finalSourceState(head: ChainMember, source: SourceStreamOperator): SourcePosition {
    try {
      return source.snapshotPosition(this.checkpointer.lastCheckpointId);
    } catch (err) {
      // Splits JSON cannot hold keep their own code: no restart cures them.
      if (err instanceof SluiceError && err.code === 'SOURCE_POSITION_NOT_PLAIN') throw err;
      throw wrapUserError(err, head.node.name, this.tdd.subtaskIndex, undefined, false);
    }
  }

  /**
   * A checkpointed source at the end of its input takes part in one more checkpoint before it
   * ends (Flink's final checkpoint): its barrier follows the last records and the final
   * watermark, so the checkpoint covers all output — a two-phase-commit sink commits everything
   * through it — and a restart after it replays nothing.
   */
  private async awaitFinalCheckpoint(source: SourceStreamOperator): Promise<void> {
    const control = this.control;
    for (;;) {
      this.checkCancelled();
      const bell = control.doorbell();
      if (this.checkpointIfRequested(source) !== 'none') return;
      const now = preciseNowMs();
      await this.idleWait(bell, now, this.housekeeping(now));
    }
  }

  /**
   * Takes the checkpoint the TaskManager asked this source task for, if there is a new one;
   * 'stop' when it came with a stop-with-savepoint, after which the input must end.
   */
  private checkpointIfRequested(source: SourceStreamOperator): 'none' | 'taken' | 'stop' {
    const control = this.control;
    const requested = control.requestedCheckpoint();
    if (requested <= this.checkpointer.lastCheckpointId) return 'none';
    const stop = control.requestedStop();
    // Drain: the final watermark goes before the barrier, so the savepoint holds what the
    // timers it fires produced, not timers that will never fire.
    if (stop === 'drain') source.emitFinalWatermark();
    this.checkpointer.perform(requested, 0);
    return stop === undefined ? 'taken' : 'stop';
  }

  private async runInputs(head: ChainMember): Promise<void> {
    const inputs = this.start.inputs.map((i) => {
      // The reading side must decode with the serializer the producing operator wrote with.
      const producer = this.streamGraph.getNode(this.jobGraph.edges.find((e) => e.id === i.edgeId)!.sourceNodeId);
      return { inputIndex: i.inputIndex, channels: i.channels, createSerializer: () => producer.serializer ?? createRecordSerializer() };
    });
    const gate = new InputGate({ inputs, control: this.control, stats: this.stats });
    const op = head.op;
    const counters = head.counters;
    const name = head.node.name;
    const subtask = this.tdd.subtaskIndex;
    const handler: InputHandler = {
      onRecord: (value, timestamp, inputIndex) => {
        counters.recordsIn++;
        try {
          op.processElement(value, timestamp, inputIndex);
        } catch (err) {
          throw wrapUserError(err, name, subtask, value, true);
        }
      },
      onWatermark: (watermark, inputIndex) => {
        this.observeWatermark(watermark);
        try {
          op.processWatermark(watermark, inputIndex);
        } catch (err) {
          throw wrapUserError(err, name, subtask, undefined, false);
        }
      },
      onWatermarkStatus: (idle, inputIndex) => op.processWatermarkStatus(idle, inputIndex),
      onEndOfInput: () => {},
      onBarrier: (checkpointId, alignmentMs) => this.checkpointer.perform(checkpointId, alignmentMs),
      onBarrierAbandoned: () => {},
    };
    let sliceStart = preciseNowMs();
    while (!gate.isFinished()) {
      this.checkCancelled();
      const bell = this.control.doorbell();
      // One input batch at a time, up to 16, so that a sink that asked to be left alone (a
      // backpressure promise) is fed no more than the batch it asked in.
      let n = 0;
      let pending: Promise<void> | undefined;
      for (let i = 0; i < 16; i++) {
        const k = gate.poll(handler, 1);
        n += k;
        pending = this.pendingBackpressure();
        if (k === 0 || pending !== undefined) break;
      }
      if (pending !== undefined) {
        await pending;
        sliceStart = preciseNowMs();
      }
      const now = preciseNowMs();
      const deadline = this.housekeeping(now);
      if (n === 0 && !gate.isFinished()) {
        await this.idleWait(bell, now, deadline);
        sliceStart = preciseNowMs();
      } else if (now - sliceStart >= YIELD_EVERY_MS) {
        await yieldToEventLoop();
        sliceStart = preciseNowMs();
      }
    }
  }

  /** Latest finite watermark, for the watermark-lag metric (+Infinity only marks end of input). */
  private observeWatermark(watermark: number): void {
    if (watermark > this.currentWatermark && watermark !== Infinity) this.currentWatermark = watermark;
  }

  private pendingBackpressure(): Promise<void> | undefined {
    for (const m of this.members) {
      const p = m.op.backpressure?.();
      if (p !== undefined) return p;
    }
    return undefined;
  }

  private publishMetrics(): void {
    const now = preciseNowMs();
    this.lastPublish = now;
    const v = this.metricsView;
    const total = now - this.startedAt;
    v[TaskMetricSlot.IdleMs] = this.idleMs;
    v[TaskMetricSlot.BackpressuredMs] = this.stats.backpressuredMs;
    v[TaskMetricSlot.BusyMs] = Math.max(0, total - this.idleMs - this.stats.backpressuredMs);
    v[TaskMetricSlot.CurrentWatermark] = this.currentWatermark;
    v[TaskMetricSlot.BytesIn] = this.stats.bytesIn;
    v[TaskMetricSlot.BytesOut] = this.stats.bytesOut;
    v[TaskMetricSlot.BuffersOut] = this.stats.buffersOut;
    this.syncDerivedCounts();
    this.members.forEach((m, i) => writeOperatorCounters(v, i, m.counters));
    if (now - this.lastCustomPublish >= PUBLISH_CUSTOM_METRICS_EVERY_MS) this.publishCustomMetrics();
  }

  /** What changed in the custom metrics, to the TaskManager; the values' buffer is transferred. */
  private publishCustomMetrics(): void {
    this.lastCustomPublish = preciseNowMs();
    const update = this.customMetrics.takeUpdate();
    if (update !== undefined) this.start.port.postMessage({ type: 'custom-metrics', update } satisfies WorkerMessage, [update.values.buffer]);
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
