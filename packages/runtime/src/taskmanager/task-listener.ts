/**
 * What a TaskManager keeps per deployed subtask, and the TaskListener that turns the runner's
 * callbacks into calls to the subtask's JobMaster: state changes, collected records and
 * checkpoint acknowledgements, each posted to the TaskManager's mailbox first.
 */
import { serializeError, type SerializedError } from '@sluice/common';
import type { ExecutionState, JobMasterGateway, JobMasterToken, OperatorRecordCounts, TaskDeploymentDescriptor, TaskExecutionState } from '@sluice/protocol';
import type { RunningTask, TaskListener } from './task-runner.js';

export interface TaskEntry {
  readonly tdd: TaskDeploymentDescriptor;
  readonly jobMaster: JobMasterToken;
  readonly jobMasterAddress: string;
  handle?: RunningTask;
  terminal: boolean;
  /** While the artifact is being resolved (no handle yet): its terminal callbacks. */
  listener?: TaskListener | undefined;
}

export interface TaskListenerContext {
  /** Runs an action on the TaskManager's mailbox. */
  post(action: () => void): void;
  /** The subtask ended: the TaskManager forgets it. */
  forget(executionId: string): void;
  send(what: string, call: (jm: JobMasterGateway, token: JobMasterToken) => Promise<unknown>, idempotent?: boolean): void;
}

export function taskListener(entry: TaskEntry, ctx: TaskListenerContext): TaskListener {
  const { tdd } = entry;
  const { post, send } = ctx;
  const terminal = (state: ExecutionState, operators: OperatorRecordCounts[], error?: SerializedError, finalSourceState?: TaskExecutionState['finalSourceState']): void =>
    post(() => {
      if (entry.terminal) return;
      entry.terminal = true;
      ctx.forget(tdd.executionId);
      const update: TaskExecutionState = { jobId: tdd.jobId, executionId: tdd.executionId, state, operators };
      if (error !== undefined) update.error = error;
      if (finalSourceState !== undefined) update.finalSourceState = finalSourceState;
      send(`${state} of ${tdd.executionId}`, (jm, t) => jm.updateTaskExecutionState(t, update));
    });
  return {
    onRunning: () =>
      post(() => {
        if (entry.terminal) return;
        send(`RUNNING of ${tdd.executionId}`, (jm, t) => jm.updateTaskExecutionState(t, { jobId: tdd.jobId, executionId: tdd.executionId, state: 'RUNNING' }));
      }),
    onCollected: (sinkName, records) =>
      post(() => {
        const batch = { jobId: tdd.jobId, executionId: tdd.executionId, sinkName, subtaskIndex: tdd.subtaskIndex, records };
        // Records twice would be counted twice: not retried after a timeout.
        send(`collected records of ${tdd.executionId}`, (jm, t) => jm.reportCollectedRecords(t, batch), false);
      }),
    onFinished: (operators, finalSourceState) => terminal('FINISHED', operators, undefined, finalSourceState),
    onFailed: (error, operators) => terminal('FAILED', operators, error ?? serializeError(new Error('task failed without an error'))),
    onCanceled: (operators) => terminal('CANCELED', operators),
    onCheckpointAck: (checkpointId, operators, stats) =>
      post(() => {
        const ack = { jobId: tdd.jobId, executionId: tdd.executionId, checkpointId, operators, stats };
        send(`ack of checkpoint ${checkpointId} by ${tdd.executionId}`, (jm, t) => jm.acknowledgeCheckpoint(t, ack));
      }),
    onCheckpointDecline: (checkpointId, reason) =>
      post(() => {
        const decline = { jobId: tdd.jobId, executionId: tdd.executionId, checkpointId, reason };
        send(`decline of checkpoint ${checkpointId} by ${tdd.executionId}`, (jm, t) => jm.declineCheckpoint(t, decline));
      }),
  };
}
