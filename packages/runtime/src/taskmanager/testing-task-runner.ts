/**
 * TestingTaskRunner: a hand-written TaskRunner fake for control-plane tests. Tasks do nothing on
 * their own; a test (or a `behaviour` callback run on start) tells each one to report running,
 * emit collected records, finish, fail or hang. Cancellation is honoured unless the task was told
 * to ignore it, which lets tests exercise cancel timeouts.
 */
import { serializeError, SluiceError } from '@sluice/common';
import type { OperatorMetricsSnapshot, SubtaskMetricsSnapshot, WorkerPoolSnapshot } from '@sluice/metrics';
import type { OperatorRecordCounts, SourcePosition, TaskDeploymentDescriptor } from '@sluice/protocol';
import type { RunningTask, TaskListener, TaskRunner } from './task-runner.js';

export type TestingTaskStatus = 'started' | 'running' | 'finished' | 'failed' | 'canceled';

export class TestingTask implements RunningTask {
  status: TestingTaskStatus = 'started';
  ignoreCancel = false;
  cancelRequested = false;
  /** Checkpoints this task was asked to trigger, and notifications it received, in order. */
  readonly checkpointCalls: string[] = [];
  /** What the runner's live metrics show for this task while it runs (set by the test). */
  live: { operators: OperatorMetricsSnapshot[]; busyMs: number; backpressuredMs: number; idleMs: number } = { operators: [], busyMs: 0, backpressuredMs: 0, idleMs: 0 };

  constructor(
    readonly tdd: TaskDeploymentDescriptor,
    private readonly listener: TaskListener,
  ) {}

  get executionId(): string {
    return this.tdd.executionId;
  }

  get terminal(): boolean {
    return this.status === 'finished' || this.status === 'failed' || this.status === 'canceled';
  }

  /** Sets what the task's live counters show: per operator of its chain, and its time so far. */
  count(operators: { nodeId: number; recordsIn: number; recordsOut: number }[], time: { busyMs?: number; backpressuredMs?: number; idleMs?: number } = {}): void {
    this.live = {
      operators: operators.map((o) => ({ ...o, operator: this.tdd.vertexName, lateRecordsDropped: 0 })),
      busyMs: time.busyMs ?? this.live.busyMs,
      backpressuredMs: time.backpressuredMs ?? this.live.backpressuredMs,
      idleMs: time.idleMs ?? this.live.idleMs,
    };
  }

  /** One record count per chained operator: `records` in and out. */
  operatorCounts(records = 0): OperatorRecordCounts[] {
    return [{ nodeId: 0, name: this.tdd.vertexName, vertexId: this.tdd.vertexId, recordsIn: records, recordsOut: records }];
  }

  running(): void {
    if (this.terminal || this.status === 'running') return;
    this.status = 'running';
    this.listener.onRunning();
  }

  emit(sinkName: string, records: unknown[]): void {
    if (this.terminal) throw new SluiceError('ILLEGAL_STATE', `testing task ${this.executionId} is ${this.status}; it cannot emit`);
    this.listener.onCollected(sinkName, records);
  }

  /** `finalSourceState`: what a source subtask reports as its position at the end. */
  finish(operators: OperatorRecordCounts[] = this.operatorCounts(), finalSourceState?: SourcePosition): void {
    if (this.terminal) return;
    this.status = 'finished';
    this.listener.onFinished(operators, finalSourceState);
  }

  fail(error: unknown, operators: OperatorRecordCounts[] = this.operatorCounts()): void {
    if (this.terminal) return;
    this.status = 'failed';
    this.listener.onFailed(serializeError(error), operators);
  }

  triggerCheckpoint(checkpointId: number, stop?: 'terminate' | 'drain'): void {
    this.checkpointCalls.push(`trigger ${checkpointId}${stop === undefined ? '' : ` ${stop}`}`);
  }

  notifyCheckpoint(outcome: 'complete' | 'aborted', checkpointId: number): void {
    this.checkpointCalls.push(`${outcome} ${checkpointId}`);
  }

  /** Acknowledges a checkpoint with no state, as a stateless subtask would. */
  ack(checkpointId: number): void {
    this.listener.onCheckpointAck(checkpointId, [], { bytes: 0, syncMs: 0, asyncMs: 0, alignmentMs: 0, maxPauseMs: 0 });
  }

  decline(checkpointId: number, error: unknown): void {
    this.listener.onCheckpointDecline(checkpointId, serializeError(error));
  }

  cancel(): void {
    this.cancelRequested = true;
    if (this.ignoreCancel || this.terminal) return;
    // Like a real runner, the terminal callback comes later, never from inside cancel().
    queueMicrotask(() => {
      if (this.terminal) return;
      this.status = 'canceled';
      this.listener.onCanceled(this.operatorCounts());
    });
  }
}

export interface TestingTaskRunnerOptions {
  /** Runs right after a task starts (in a microtask); decides what the task does. Default: report running, then hang. */
  behaviour?: (task: TestingTask) => void;
}

export class TestingTaskRunner implements TaskRunner {
  readonly tasks: TestingTask[] = [];
  closed = false;
  private readonly waiters: { predicate: () => boolean; resolve: () => void }[] = [];

  constructor(private readonly options: TestingTaskRunnerOptions = {}) {}

  start(tdd: TaskDeploymentDescriptor, listener: TaskListener): RunningTask {
    if (this.closed) throw new SluiceError('ILLEGAL_STATE', 'TestingTaskRunner is closed');
    const task = new TestingTask(tdd, listener);
    this.tasks.push(task);
    const behaviour = this.options.behaviour ?? ((t: TestingTask) => t.running());
    queueMicrotask(() => {
      behaviour(task);
      this.wake();
    });
    return task;
  }

  task(executionId: string): TestingTask {
    const t = this.tasks.find((x) => x.executionId === executionId);
    if (t === undefined) throw new SluiceError('NOT_FOUND', `TestingTaskRunner never started execution ${executionId}`);
    return t;
  }

  /**
   * Resolves once at least `n` tasks have been started. The default bound is generous: it only
   * has to fail a deployment that never comes, on however busy a machine.
   */
  async waitForTasks(n: number, timeoutMs = 30_000): Promise<TestingTask[]> {
    if (this.tasks.length < n) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${this.tasks.length} of ${n} tasks started within ${timeoutMs} ms`)), timeoutMs);
        this.waiters.push({ predicate: () => this.tasks.length >= n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    }
    return this.tasks.slice();
  }

  metrics(): { subtasks: SubtaskMetricsSnapshot[]; pool: WorkerPoolSnapshot } {
    const subtasks = this.tasks
      .filter((t) => !t.terminal)
      .map((t) => ({
        executionId: t.executionId,
        jobId: t.tdd.jobId,
        jobName: t.tdd.jobName,
        vertexId: t.tdd.vertexId,
        vertexName: t.tdd.vertexName,
        subtask: t.tdd.subtaskIndex,
        ...t.live,
        currentWatermark: Number.NEGATIVE_INFINITY,
        bytesIn: 0,
        bytesOut: 0,
        buffersOut: 0,
      }));
    return { subtasks, pool: { threads: 0, utilization: 0, queueSize: 0, completedTasks: this.tasks.filter((t) => t.terminal).length } };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.tasks) if (!t.terminal) t.cancel();
    await Promise.resolve();
  }

  private wake(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.predicate()) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }
}
