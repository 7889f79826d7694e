/**
 * The checkpoint coordinator of one job, living in its JobMaster (all calls run on the
 * JobMaster's mailbox). It triggers periodic checkpoints at the source subtasks, one at a time,
 * collects every subtask's acknowledgement, commits the checkpoint's metadata last (the moment
 * the checkpoint exists), tells the subtasks it is complete so sinks commit, and keeps the newest
 * N. Source positions arrive as plain data in the acknowledgements and go into the metadata.
 * A checkpoint that a subtask declines, or that outlives its timeout, is aborted and counted;
 * the next one starts after the usual pause.
 */
import type { CheckpointMetricsSnapshot } from '@sluice/metrics';
import { describeError, SluiceError, type Clock, type Logger } from '@sluice/common';
import type { CheckpointAck, CheckpointDecline, CheckpointFailure, JobConfig, JobGraph, SourcePosition, StopMode } from '@sluice/protocol';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  operatorUid,
  sourcePositionProblem,
  type CheckpointMetadata,
  type CheckpointStorage,
  type OperatorCheckpointState,
  type StoredCheckpoint,
} from '@sluice/checkpoint';

/** What the coordinator needs from its JobMaster. */
export interface CoordinatorHost {
  /** The current attempt's subtasks: id, vertex, subtask index and state. */
  executions(): readonly { executionId: string; vertex: { id: string; isSource: boolean }; subtaskIndex: number; state: string }[];
  /** Whether the job is running normally (not failing, restarting or cancelling). */
  isRunning(): boolean;
  triggerAt(executionId: string, checkpointId: number, timestamp: number, stop?: StopMode): Promise<void>;
  notify(executionId: string, outcome: 'complete' | 'aborted', checkpointId: number): void;
  /** Runs `action` on the JobMaster's mailbox. */
  run(action: () => void): void;
  /** More periodic checkpoints failed in a row than the job tolerates: restart it, or fail it. */
  failOver(reason: string): void;
  /**
   * Records a checkpoint whose metadata is written where a new JobMaster looks for the job's
   * latest checkpoint (the job store). Awaited before the checkpoint counts as complete and
   * before any task hears so (and commits side effects): a JobMaster that dies between the two
   * is replaced by one that restores this checkpoint, not an older one whose successors' Kafka
   * transactions were already committed. A failure aborts the checkpoint.
   */
  recordCheckpoint?(checkpoint: { id: number; location: string }): Promise<void>;
  /**
   * Hands out the next checkpoint id, at least `atLeast`, from a counter every JobMaster of the
   * job shares (the HA store's): a JobMaster that still runs after it was replaced (its leader
   * deposed) never writes into the directory of a checkpoint its successor is taking. Without
   * it ids count up locally from the restored checkpoint's.
   */
  nextCheckpointId?(atLeast: number): Promise<number>;
}

export interface CompletedCheckpoint extends StoredCheckpoint {
  id: number;
}

/** A source subtask of the current attempt that has ended, and its position at the end. */
interface EndedSource {
  vertexId: string;
  subtask: number;
  position: SourcePosition;
}

interface Pending {
  id: number;
  triggeredAt: number;
  awaiting: Set<string>;
  acks: CheckpointAck[];
  finished: { vertexId: string; subtask: number }[];
  timer: NodeJS.Timeout;
  savepoint?: { resolve(c: CompletedCheckpoint): void; reject(err: unknown): void };
}

export interface CheckpointCoordinatorOptions {
  jobId: string;
  jobName: string;
  jobGraph: JobGraph;
  config: JobConfig;
  /** The resolved checkpoint root directory. */
  root: string;
  storage: CheckpointStorage;
  host: CoordinatorHost;
  clock: Clock;
  logger: Logger;
  /** Id of the last checkpoint taken before (a restore continues the numbering). */
  lastId?: number;
}

export class CheckpointCoordinator {
  private nextId: number;
  /** An id from the host's counter, fetched for the next trigger. */
  private reservedId: number | undefined;
  private reserving = false;
  private pending: Pending | undefined;
  private periodic: NodeJS.Timeout | undefined;
  private lastEnd = 0;
  private stopped = false;
  /** The periodic timer fired while a checkpoint was in progress. */
  private overdue = false;
  private latest: CompletedCheckpoint | undefined;
  private readonly waitingSavepoints: (NonNullable<Pending['savepoint']> & { stop?: StopMode })[] = [];
  /** What the job's metrics export (the one definition lives with them). */
  readonly stats: CheckpointMetricsSnapshot = { completed: 0, failed: 0, inProgress: 0, lastCompletedId: 0, lastDurationMs: 0, lastSizeBytes: 0, lastAlignmentMs: 0, lastSyncMs: 0, lastMaxPauseMs: 0 };
  /** The most recent failed checkpoint, for the job's result and the REST API. */
  lastFailure: CheckpointFailure | undefined;
  /** Periodic checkpoints failed since the last one completed (savepoints do not count). */
  private failuresInARow = 0;
  /** By execution id; a checkpoint the subtask did not acknowledge carries this position instead. */
  private readonly endedSources = new Map<string, EndedSource>();

  constructor(private readonly options: CheckpointCoordinatorOptions) {
    this.nextId = (options.lastId ?? 0) + 1;
  }

  get periodicEnabled(): boolean {
    return this.options.config.checkpointIntervalMs > 0;
  }

  /** The newest completed checkpoint of this run (or the one restored from). */
  latestCompleted(): CompletedCheckpoint | undefined {
    return this.latest;
  }

  setLatest(c: CompletedCheckpoint): void {
    this.latest = c;
    if (c.id >= this.nextId) this.nextId = c.id + 1;
    this.stats.lastCompletedId = c.id;
  }

  /** Every subtask runs: start the periodic schedule (again, after a restart). */
  start(): void {
    this.stopped = false;
    this.overdue = false;
    if (this.periodicEnabled) this.schedule(this.options.config.checkpointIntervalMs);
  }

  /** Stops triggering and aborts the checkpoint in progress (job failing, restarting or ending). */
  stop(reason: string): void {
    this.stopped = true;
    if (this.periodic !== undefined) clearTimeout(this.periodic);
    this.periodic = undefined;
    if (this.pending !== undefined) this.abort(this.pending, reason, false);
    for (const s of this.waitingSavepoints.splice(0)) s.reject(new SluiceError('SAVEPOINT_FAILED', `savepoint not taken: ${reason}`));
  }

  /**
   * Takes a checkpoint now (after the one in progress) and resolves when it is complete. With
   * `stop`, the sources end their input right after it and no further checkpoint is taken.
   */
  triggerNow(stop?: StopMode): Promise<CompletedCheckpoint> {
    return new Promise((resolve, reject) => {
      if (this.stopped) {
        reject(new SluiceError('CHECKPOINT_NOT_POSSIBLE', 'the job is not running (or already stopping)'));
        return;
      }
      this.waitingSavepoints.push({ resolve, reject, ...(stop === undefined ? {} : { stop }) });
      if (this.pending === undefined) this.trigger();
    });
  }

  receiveAck(ack: CheckpointAck): void {
    const p = this.pending;
    if (p === undefined || ack.checkpointId !== p.id || !p.awaiting.delete(ack.executionId)) return;
    const bad = this.badSourcePosition(ack);
    if (bad !== undefined) {
      this.abort(p, bad, true);
      return;
    }
    p.acks.push(ack);
    this.maybeComplete(p);
  }

  /** Why a source position in `ack` cannot go into the metadata (it must be plain JSON data), naming the source. */
  private badSourcePosition(ack: CheckpointAck): string | undefined {
    for (const s of ack.operators) {
      if (s.source === undefined) continue;
      const problem = sourcePositionProblem(s.source, 'position');
      if (problem === undefined) continue;
      const e = this.options.host.executions().find((x) => x.executionId === ack.executionId);
      const info = this.options.jobGraph.vertices.flatMap((v) => v.operators).find((o) => o.nodeId === s.nodeId);
      const who = `source '${info?.name ?? s.uid}' (uid '${s.uid}'${e === undefined ? '' : `, subtask ${e.subtaskIndex}`})`;
      return `${who} reported a position that is not plain JSON data: ${problem}`;
    }
    return undefined;
  }

  receiveDecline(decline: CheckpointDecline): void {
    const p = this.pending;
    if (p === undefined || decline.checkpointId !== p.id) return;
    this.abort(p, `subtask ${decline.executionId} declined: ${decline.reason.message}`, true);
  }

  /**
   * A subtask finished: it owes no acknowledgement (its inputs ended before any barrier could
   * reach it). A source subtask's final state goes into every later checkpoint of this attempt:
   * without it a restore would hand its splits to nobody, and a source that discovers its
   * splits (Kafka partitions) would read them again from the start.
   */
  executionFinished(executionId: string, vertexId: string, subtask: number, finalSourceState?: SourcePosition): void {
    if (finalSourceState !== undefined) this.endedSources.set(executionId, { vertexId, subtask, position: finalSourceState });
    const p = this.pending;
    if (p === undefined || !p.awaiting.delete(executionId)) return;
    p.finished.push({ vertexId, subtask });
    this.maybeComplete(p);
  }

  private schedule(delayMs: number): void {
    if (this.periodic !== undefined) clearTimeout(this.periodic);
    this.periodic = setTimeout(() => this.options.host.run(() => this.onTimer()), Math.max(0, delayMs));
    this.periodic.unref();
  }

  private onTimer(): void {
    this.periodic = undefined;
    if (this.stopped) return;
    if (this.pending !== undefined) {
      // One at a time: the next one starts when this one ends (after the minimum pause).
      this.overdue = true;
      return;
    }
    const { checkpointIntervalMs, minPauseBetweenCheckpointsMs } = this.options.config;
    const now = this.options.clock.nowMs();
    const pauseLeft = this.lastEnd + minPauseBetweenCheckpointsMs - now;
    if (pauseLeft > 0) {
      this.schedule(pauseLeft);
      return;
    }
    this.trigger();
    if (this.periodicEnabled) this.schedule(checkpointIntervalMs);
  }

  private trigger(): void {
    const host = this.options.host;
    const executions = host.executions();
    const now = this.options.clock.nowMs();
    const running = executions.filter((e) => e.state === 'RUNNING');
    const notReady = executions.filter((e) => e.state !== 'RUNNING' && e.state !== 'FINISHED');
    const sources = running.filter((e) => e.vertex.isSource);
    if (!host.isRunning() || notReady.length > 0 || sources.length === 0) {
      // Not every subtask is up yet (or all sources have ended): try again next round.
      this.options.logger.debug('checkpoint not triggered: subtasks not all running', { notReady: notReady.length, sources: sources.length });
      if (this.waitingSavepoints.length > 0 && sources.length === 0 && notReady.length === 0) {
        for (const s of this.waitingSavepoints.splice(0)) s.reject(new SluiceError('CHECKPOINT_NOT_POSSIBLE', 'every source has finished; there is nothing left to checkpoint'));
      } else if (this.waitingSavepoints.length > 0) this.schedule(100);
      return;
    }
    let id: number;
    if (host.nextCheckpointId === undefined) id = this.nextId++;
    else if (this.reservedId === undefined) {
      this.reserve();
      return;
    } else {
      id = this.reservedId;
      this.reservedId = undefined;
    }
    const timeoutMs = this.options.config.checkpointTimeoutMs;
    const p: Pending = {
      id,
      triggeredAt: now,
      awaiting: new Set(running.map((e) => e.executionId)),
      acks: [],
      finished: executions.filter((e) => e.state === 'FINISHED').map((e) => ({ vertexId: e.vertex.id, subtask: e.subtaskIndex })),
      timer: setTimeout(() => host.run(() => this.pending === p && this.abort(p, `not complete after ${timeoutMs} ms (checkpoint timeout)`, true)), timeoutMs),
    };
    p.timer.unref();
    const savepoints = this.waitingSavepoints.splice(0);
    const stop = savepoints.find((x) => x.stop !== undefined)?.stop;
    if (stop !== undefined) {
      // The sources end after this one: nothing further to checkpoint.
      this.stopped = true;
      if (this.periodic !== undefined) clearTimeout(this.periodic);
      this.periodic = undefined;
    }
    if (savepoints.length > 0) {
      p.savepoint = {
        resolve: (c) => savepoints.forEach((s) => s.resolve(c)),
        reject: (err) => savepoints.forEach((s) => s.reject(err)),
      };
    }
    this.pending = p;
    this.stats.inProgress = 1;
    this.options.logger.debug('triggering checkpoint', { checkpointId: id, subtasks: p.awaiting.size });
    for (const e of sources) {
      host.triggerAt(e.executionId, id, now, stop).catch((err: unknown) =>
        // A source that ended just now is no failure of checkpointing (Flink does not count it either).
        host.run(() => this.pending === p && this.abort(p, `could not trigger it at ${e.executionId}: ${describeError(err)}`, (err as { code?: unknown }).code !== 'TASK_NOT_RUNNING')),
      );
    }
  }

  /** Fetches the next id from the host's counter, then triggers (savepoints waiting, or a periodic one). */
  private reserve(): void {
    const host = this.options.host;
    if (this.reserving || host.nextCheckpointId === undefined) return;
    this.reserving = true;
    host.nextCheckpointId(this.nextId).then(
      (id) =>
        host.run(() => {
          this.reserving = false;
          this.reservedId = id;
          this.nextId = id + 1;
          if (!this.stopped && this.pending === undefined) this.trigger();
        }),
      (err: unknown) =>
        host.run(() => {
          this.reserving = false;
          const reason = `no checkpoint id could be had from the job's checkpoint counter: ${describeError(err)}`;
          this.options.logger.warn(`checkpoint not triggered: ${reason}`);
          this.stats.failed++;
          for (const s of this.waitingSavepoints.splice(0)) s.reject(new SluiceError('CHECKPOINT_NOT_POSSIBLE', reason, { cause: err }));
        }),
    );
  }

  private maybeComplete(p: Pending): void {
    if (p.awaiting.size > 0) return;
    const { jobId, jobName, root, logger, storage } = this.options;
    let location: string;
    try {
      location = storage.checkpointLocation(root, jobId, p.id);
    } catch (err) {
      this.abort(p, `it has no location: ${describeError(err)}`, true);
      return;
    }
    const meta = this.buildMetadata(p);
    const host = this.options.host;
    storage.commit(location, meta).then(
      () =>
        Promise.resolve(host.recordCheckpoint?.({ id: p.id, location })).then(
          () => host.run(() => this.completed(p, location, meta)),
          (err: unknown) => host.run(() => this.pending === p && this.abort(p, `could not record it for recovery: ${describeError(err)}`, true)),
        ),
      (err: unknown) => host.run(() => this.pending === p && this.abort(p, `could not write its metadata: ${describeError(err)}`, true)),
    );
    logger.debug('all subtasks acknowledged; writing metadata', { checkpointId: p.id, jobName });
  }

  private completed(p: Pending, location: string, meta: CheckpointMetadata): void {
    if (this.pending !== p) return;
    clearTimeout(p.timer);
    this.pending = undefined;
    const now = this.options.clock.nowMs();
    this.lastEnd = now;
    const c: CompletedCheckpoint = { id: p.id, location, meta };
    this.setLatest(c);
    this.failuresInARow = 0;
    const s = this.stats;
    s.completed++;
    s.inProgress = 0;
    s.lastDurationMs = now - p.triggeredAt;
    s.lastSizeBytes = p.acks.reduce((n, a) => n + a.stats.bytes, 0);
    s.lastAlignmentMs = p.acks.reduce((m, a) => Math.max(m, a.stats.alignmentMs), 0);
    s.lastSyncMs = p.acks.reduce((m, a) => Math.max(m, a.stats.syncMs), 0);
    s.lastMaxPauseMs = p.acks.reduce((m, a) => Math.max(m, a.stats.maxPauseMs), 0);
    this.options.logger.info('checkpoint complete', { checkpointId: p.id, durationMs: Math.round(s.lastDurationMs), bytes: s.lastSizeBytes });
    for (const e of this.options.host.executions()) if (e.state === 'RUNNING') this.options.host.notify(e.executionId, 'complete', p.id);
    p.savepoint?.resolve(c);
    void this.options.storage.prune(this.options.root, this.options.jobId, this.options.config.retainedCheckpoints, this.options.logger).catch((err: unknown) =>
      this.options.logger.warn('could not prune old checkpoints', { error: describeError(err) }),
    );
    if (this.waitingSavepoints.length > 0) this.trigger();
    else this.resumeSchedule();
  }

  /** After a checkpoint ends: one the periodic timer skipped meanwhile starts after the minimum pause. */
  private resumeSchedule(): void {
    if (this.stopped || !this.overdue) return;
    this.overdue = false;
    this.schedule(0);
  }

  private abort(p: Pending, reason: string, countAsFailure: boolean): void {
    if (this.pending !== p) return;
    clearTimeout(p.timer);
    this.pending = undefined;
    this.lastEnd = this.options.clock.nowMs();
    this.stats.inProgress = 0;
    if (countAsFailure) {
      this.stats.failed++;
      this.lastFailure = { checkpointId: p.id, timestamp: this.lastEnd, reason };
      this.options.logger.warn(`checkpoint ${p.id} aborted: ${reason}`, { checkpointId: p.id });
    }
    for (const e of this.options.host.executions()) if (e.state === 'RUNNING') this.options.host.notify(e.executionId, 'aborted', p.id);
    p.savepoint?.reject(new SluiceError('SAVEPOINT_FAILED', `savepoint (checkpoint ${p.id}) failed: ${reason}`));
    if (!this.stopped && this.waitingSavepoints.length > 0) this.schedule(0);
    else this.resumeSchedule();
    // A savepoint's failure is its caller's answer; only periodic checkpoints count, as in Flink.
    if (countAsFailure && p.savepoint === undefined) this.countFailure(p.id, reason);
  }

  /** Last in `abort`: failing over stops this coordinator. */
  private countFailure(id: number, reason: string): void {
    this.failuresInARow++;
    const tolerable = this.options.config.tolerableFailedCheckpoints;
    if (this.failuresInARow <= tolerable) return;
    const inARow = this.failuresInARow;
    this.failuresInARow = 0;
    this.options.host.failOver(
      `${inARow === 1 ? 'a checkpoint failed' : `${inARow} checkpoints failed in a row`}, more than the ${tolerable} tolerated (tolerable-failed-checkpoints); ` +
        `checkpoint ${id}: ${reason}`,
    );
  }

  /** Ended source subtasks of the current attempt that checkpoint `p` has no acknowledgement from. */
  private endedSourcesOf(p: Pending): EndedSource[] {
    const current = new Set(this.options.host.executions().map((e) => e.executionId));
    const acked = new Set(p.acks.map((a) => a.executionId));
    const out: EndedSource[] = [];
    for (const [executionId, s] of this.endedSources) {
      if (!current.has(executionId)) {
        // An earlier attempt's: its restart began from a checkpoint that carries what it needs.
        this.endedSources.delete(executionId);
        continue;
      }
      if (!acked.has(executionId)) out.push(s);
    }
    return out;
  }

  private buildMetadata(p: Pending): CheckpointMetadata {
    const graph = this.options.jobGraph;
    const byUid = new Map<string, OperatorCheckpointState>();
    const byNode = new Map<number, OperatorCheckpointState>();
    for (const v of graph.vertices) {
      for (const [index, info] of v.operators.entries()) {
        const op: OperatorCheckpointState = {
          uid: operatorUid(info.uid, info.nodeId),
          name: info.name,
          kind: info.kind,
          parallelism: v.parallelism,
          maxParallelism: v.maxParallelism,
          keyed: [],
          operator: [],
          finishedSubtasks: p.finished.filter((f) => f.vertexId === v.id).map((f) => f.subtask).sort((a, b) => a - b),
          // What the job's definition says; the subtasks add the keyed states they declared.
          states: [...(info.states ?? [])],
        };
        if (index === 0 && v.isSource) op.positions = [];
        byUid.set(op.uid, op);
        byNode.set(info.nodeId, op);
      }
    }
    const subtaskOf = new Map(this.options.host.executions().map((e) => [e.executionId, e.subtaskIndex] as const));
    for (const ack of p.acks) {
      const subtask = subtaskOf.get(ack.executionId)!;
      for (const s of ack.operators) {
        const op = byNode.get(s.nodeId);
        if (op === undefined) continue;
        if (s.keyed !== undefined) op.keyed.push({ ...s.keyed, subtask });
        if (s.operator !== undefined) op.operator.push({ ...s.operator, subtask });
        if (s.source !== undefined) op.positions?.push({ ...s.source, subtask });
        for (const shape of s.states ?? []) if (!op.states!.some((x) => x.name === shape.name && x.kind === shape.kind)) op.states!.push(shape);
      }
    }
    // Source subtasks that ended before this checkpoint: their final positions, so a restore
    // gives them their splits (read to the end) back instead of to nobody.
    for (const e of this.endedSourcesOf(p)) {
      const head = graph.vertices.find((v) => v.id === e.vertexId)?.operators[0];
      if (head !== undefined) byNode.get(head.nodeId)?.positions?.push({ ...e.position, subtask: e.subtask });
    }
    for (const op of byUid.values()) {
      op.keyed.sort((a, b) => a.subtask - b.subtask);
      op.operator.sort((a, b) => a.subtask - b.subtask);
      op.positions?.sort((a, b) => a.subtask - b.subtask);
    }
    return {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_FORMAT_VERSION,
      jobId: this.options.jobId,
      jobName: this.options.jobName,
      checkpointId: p.id,
      kind: 'checkpoint',
      triggeredAt: p.triggeredAt,
      completedAt: this.options.clock.nowMs(),
      operators: [...byUid.values()],
    };
  }
}
