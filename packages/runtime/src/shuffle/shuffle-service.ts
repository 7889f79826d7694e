/**
 * The shuffle seam: how a TaskManager gives its tasks the channels of their exchanges. A task
 * always gets a shared-memory ring (a ChannelEndpoint), whatever is on the other side; where
 * that side runs decides what fills or drains the ring:
 *
 *   same TaskManager       the other task, through the same ring (LocalShuffleService)
 *   another TaskManager    this TaskManager's main thread, which moves the ring's buffers over
 *                          one TCP connection per TaskManager pair (NetworkShuffleService)
 *
 * Channels are addressed like Flink's: a result partition (job, attempt, edge, producer
 * subtask) and the consumer subtask reading one subpartition of it.
 */
import type { TaskManagerLocation } from '@sluice/protocol';
import type { ChannelEndpoint } from './channel-endpoint.js';

export type { DataAddress, TaskManagerLocation } from '@sluice/protocol';

/** One producer subtask's output on one exchange, in one attempt of a job. */
export interface ResultPartitionId {
  jobId: string;
  attempt: number;
  /** The exchange (JobGraph edge) the partition feeds. */
  edgeId: string;
  producerVertexId: string;
  producerSubtask: number;
}

/** One channel, flat: its result partition's fields and the consuming subtask (keys, wire frames). */
export interface ChannelAddress extends ResultPartitionId {
  consumerVertexId: string;
  consumerSubtask: number;
}

export interface ChannelSizes {
  bufferSizeBytes: number;
  /** Buffers in the ring: the channel's credits. */
  buffers: number;
}

/** The channel a producer subtask writes for one consumer subtask. */
export interface OutputChannelRequest extends ChannelSizes {
  partition: ResultPartitionId;
  consumerVertexId: string;
  consumerSubtask: number;
  /** Where the consumer runs; absent: in this TaskManager. */
  consumerLocation?: TaskManagerLocation;
}

/** The channel a consumer subtask reads from one producer subtask. */
export interface InputChannelRequest extends ChannelSizes {
  partition: ResultPartitionId;
  consumerVertexId: string;
  consumerSubtask: number;
  /** Where the producer runs; absent: in this TaskManager. */
  producerLocation?: TaskManagerLocation;
}

/** One TaskManager's channels and task control blocks. Used on the main thread only. */
export interface ShuffleService {
  /** The control block of one subtask (created on first request). */
  taskControl(jobId: string, attempt: number, vertexId: string, subtaskIndex: number): SharedArrayBuffer;
  outputChannel(req: OutputChannelRequest): ChannelEndpoint;
  inputChannel(req: InputChannelRequest): ChannelEndpoint;
  /** Sets a subtask's cancel flag and wakes it; false when it has no control block here. */
  cancel(jobId: string, attempt: number, vertexId: string, subtaskIndex: number): boolean;
  /** Cancels every subtask of one job attempt that has a control block here. */
  cancelJob(jobId: string, attempt: number): void;
  isCancelled(jobId: string, attempt: number, vertexId: string, subtaskIndex: number): boolean;
  /** Releases the channels and memory of one job attempt (of every attempt, without `attempt`). */
  releaseJob(jobId: string, attempt?: number): void;
  /** Releases the attempts of a job older than `attempt` (their tasks have all ended). */
  releaseAttemptsBefore(jobId: string, attempt: number): void;
}

/**
 * Which transport a channel between subtasks at these two locations takes: 'local' (one
 * shared-memory ring between the two tasks) when both run in the same TaskManager, 'remote'
 * (rings on both sides, TCP between the TaskManagers' main threads) otherwise.
 */
export function channelKind(producer: TaskManagerLocation, consumer: TaskManagerLocation): 'local' | 'remote' {
  return producer.resourceId === consumer.resourceId ? 'local' : 'remote';
}
