/**
 * The boundary between the TaskManager's control logic (slots, gateways, task states) and the
 * thing that actually executes subtasks. The production runner executes subtasks on a Piscina
 * worker pool; tests may use a Testing runner. The TaskManager never knows which it has.
 */
import type { SerializedError } from '@sluice/common';
import type { SubtaskMetricsSnapshot, WorkerPoolSnapshot } from '@sluice/metrics';
import type { OperatorRecordCounts, TaskDeploymentDescriptor } from '@sluice/protocol';

export interface TaskListener {
  /** The subtask has opened its operators and processes input. */
  onRunning(): void;
  /** A collect sink shipped a batch of records. */
  onCollected(sinkName: string, records: unknown[]): void;
  onFinished(operators: OperatorRecordCounts[]): void;
  onFailed(error: SerializedError, operators: OperatorRecordCounts[]): void;
  onCanceled(operators: OperatorRecordCounts[]): void;
}

export interface RunningTask {
  readonly executionId: string;
  /** Asks the subtask to stop; the listener's onCanceled (or onFailed/onFinished) follows. */
  cancel(): void;
}

export interface TaskRunner {
  /** Starts a subtask. Exactly one terminal listener callback follows, always. */
  start(tdd: TaskDeploymentDescriptor, listener: TaskListener): RunningTask;
  /** Live metrics of the running subtasks. */
  metrics(): { subtasks: SubtaskMetricsSnapshot[]; pool: WorkerPoolSnapshot };
  /** Cancels everything still running and stops all worker threads. */
  close(): Promise<void>;
}
