/**
 * The handful of typed messages between a TaskManager's main thread and a subtask running on a
 * worker thread. Data never travels here: records move through shared-memory channels. Only
 * control (start, running, collected batches for the collect sink) and the final outcome do.
 */
import type { MessagePort } from 'node:worker_threads';
import type { SerializedError } from '@sluice/common';
import type { CheckpointStats, OperatorRecordCounts, SourcePosition, SubtaskOperatorState, TaskDeploymentDescriptor } from '@sluice/protocol';
import type { ChannelEndpoint } from '../shuffle/channel-endpoint.js';
import type { CustomMetricsUpdate } from '../metrics/custom-metric-group.js';

export interface InputChannels {
  edgeId: string;
  inputIndex: 0 | 1;
  /** One per producer subtask, in producer-subtask order. */
  channels: ChannelEndpoint[];
}

export interface OutputChannels {
  edgeId: string;
  /** One per consumer subtask, in consumer-subtask order. */
  channels: ChannelEndpoint[];
}

export interface SubtaskStart {
  tdd: TaskDeploymentDescriptor;
  inputs: InputChannels[];
  outputs: OutputChannels[];
  /** The task's control block (doorbell, cancel flag). */
  control: SharedArrayBuffer;
  port: MessagePort;
}

export type WorkerMessage =
  | { type: 'running'; operators: { nodeId: number; name: string }[]; metrics: SharedArrayBuffer }
  | { type: 'collected'; sinkName: string; records: unknown[] }
  /** Custom metrics that changed; every ~500 ms while running, and once more before 'done'. */
  | { type: 'custom-metrics'; update: CustomMetricsUpdate }
  | { type: 'checkpoint-ack'; checkpointId: number; operators: SubtaskOperatorState[]; stats: CheckpointStats }
  | { type: 'checkpoint-decline'; checkpointId: number; error: SerializedError }
  /** Always the last message: after every 'collected' batch on the same (ordered) port. */
  | { type: 'done'; outcome: SubtaskOutcome };

/** From the TaskManager to a running subtask (checkpoint triggers go through the control block). */
export type TaskControlMessage = { type: 'checkpoint-complete'; checkpointId: number } | { type: 'checkpoint-aborted'; checkpointId: number };

export interface SubtaskOutcome {
  state: 'FINISHED' | 'FAILED' | 'CANCELED';
  error?: SerializedError;
  operators: OperatorRecordCounts[];
  /** FINISHED source subtasks: the source's final position, plain data as in a checkpoint. */
  finalSourceState?: SourcePosition;
}
