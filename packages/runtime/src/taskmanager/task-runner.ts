/**
 * The boundary between the TaskManager's control logic (slots, gateways, task states) and the
 * thing that actually executes subtasks. The production runner executes subtasks on a Piscina
 * worker pool; tests may use a Testing runner. The TaskManager never knows which it has.
 */
import type { SerializedError } from '@sluice/common';
import type { SubtaskCustomMetricsSnapshot, SubtaskMetricsSnapshot, WorkerPoolSnapshot } from '@sluice/metrics';
import type { CheckpointStats, OperatorRecordCounts, SourcePosition, SubtaskOperatorState, TaskDeploymentDescriptor } from '@sluice/protocol';

export interface TaskListener {
  /** The subtask has opened its operators and processes input. */
  onRunning(): void;
  /** A collect sink shipped a batch of records. */
  onCollected(sinkName: string, records: unknown[]): void;
  /** `finalSourceState`: a source subtask's position at its end, plain data as in a checkpoint. */
  onFinished(operators: OperatorRecordCounts[], finalSourceState?: SourcePosition): void;
  onFailed(error: SerializedError, operators: OperatorRecordCounts[]): void;
  onCanceled(operators: OperatorRecordCounts[]): void;
  /** The subtask wrote its state for a checkpoint. */
  onCheckpointAck(checkpointId: number, operators: SubtaskOperatorState[], stats: CheckpointStats): void;
  /** The subtask could not take part in a checkpoint. */
  onCheckpointDecline(checkpointId: number, error: SerializedError): void;
}

export interface RunningTask {
  readonly executionId: string;
  /** Asks the subtask to stop; the listener's onCanceled (or onFailed/onFinished) follows. */
  cancel(): void;
  /** Asks a source subtask to take a checkpoint (it then sends barriers downstream), and to end its input after it when `stop` is set. */
  triggerCheckpoint(checkpointId: number, stop?: 'terminate' | 'drain'): void;
  /** Tells the subtask a checkpoint completed or was aborted. */
  notifyCheckpoint(outcome: 'complete' | 'aborted', checkpointId: number): void;
}

export interface TaskRunner {
  /** Starts a subtask. Exactly one terminal listener callback follows, always. */
  start(tdd: TaskDeploymentDescriptor, listener: TaskListener): RunningTask;
  /**
   * Live metrics of the running subtasks, and the custom metrics (defined by sources, sinks and
   * user functions) of running and recently ended ones.
   */
  metrics(): { subtasks: SubtaskMetricsSnapshot[]; pool: WorkerPoolSnapshot; custom?: SubtaskCustomMetricsSnapshot[] };
  /** Cancels everything still running and stops all worker threads. */
  close(): Promise<void>;
}
