/**
 * The TaskManager's registry of shared memory for data exchange between its worker threads,
 * used on the main thread only. It hands out, by key and idempotently, each task's control
 * block and each channel's ring, so producer and consumer deployed in any order get the same
 * memory. It owns nothing else: rings are read and written by the tasks themselves.
 *
 *   control block  (jobId, attempt, vertexId, subtaskIndex)
 *   channel ring   (jobId, attempt, edgeId, producerSubtask, consumerSubtask), carved from
 *                  the attempt's slabs (see ring-slabs.ts)
 *
 * The attempt is part of every key: a restarted job gets fresh rings and never sees bytes or
 * a cancel flag of the attempt it replaces.
 *
 * As a ShuffleService it treats every channel as local, whatever the locations in the request
 * say: that is right for one TaskManager, and for the embedded cluster, whose TaskManagers share
 * one instance in one process. NetworkShuffleService builds on it for channels between
 * TaskManager processes.
 */
import { SluiceError } from '@sluice/common';
import { checkRingSizes, initChannelRing } from '../io/channel-ring.js';
import { CONTROL_CANCEL, createTaskControlBuffer, ringDoorbell } from '../io/task-control.js';
import type { ChannelEndpoint } from './channel-endpoint.js';
import { RingSlabs } from './ring-slabs.js';
import type { ChannelAddress, ChannelSizes, InputChannelRequest, OutputChannelRequest, ShuffleService } from './shuffle-service.js';

/** A ring whose two ends are woken through the given control blocks (see ring()). */
export interface RingRequest {
  jobId: string;
  attempt: number;
  /** Unique within the attempt; channel() uses (edgeId, producerSubtask, consumerSubtask). */
  key: (string | number)[];
  bufferSizeBytes: number;
  buffers: number;
  producerControl: SharedArrayBuffer;
  consumerControl: SharedArrayBuffer;
}

export interface ChannelRequest extends ChannelAddress, ChannelSizes {}

interface JobMemory {
  controls: Map<string, SharedArrayBuffer>;
  channels: Map<string, ChannelEndpoint>;
  /** The attempt's rings live in its own slabs, freed with it. */
  slabs: RingSlabs;
}

// Ids are user-visible strings; JSON keeps composite keys unambiguous whatever they contain.
const key = (...parts: (string | number)[]): string => JSON.stringify(parts);

export class LocalShuffleService implements ShuffleService {
  private readonly jobs = new Map<string, JobMemory>();

  private job(jobId: string, attempt: number): JobMemory {
    const k = key(jobId, attempt);
    let m = this.jobs.get(k);
    if (m === undefined) {
      m = { controls: new Map(), channels: new Map(), slabs: new RingSlabs() };
      this.jobs.set(k, m);
    }
    return m;
  }

  /** The control block of one subtask (created on first request). */
  taskControl(jobId: string, attempt: number, vertexId: string, subtaskIndex: number): SharedArrayBuffer {
    const controls = this.job(jobId, attempt).controls;
    const k = key(vertexId, subtaskIndex);
    let sab = controls.get(k);
    if (sab === undefined) {
      sab = createTaskControlBuffer();
      controls.set(k, sab);
    }
    return sab;
  }

  /** The channel from producer subtask to consumer subtask of one exchange (created on first request). */
  channel(req: ChannelRequest): ChannelEndpoint {
    return this.ring({
      jobId: req.jobId,
      attempt: req.attempt,
      key: [req.edgeId, req.producerSubtask, req.consumerSubtask],
      bufferSizeBytes: req.bufferSizeBytes,
      buffers: req.buffers,
      producerControl: this.taskControl(req.jobId, req.attempt, req.producerVertexId, req.producerSubtask),
      consumerControl: this.taskControl(req.jobId, req.attempt, req.consumerVertexId, req.consumerSubtask),
    });
  }

  outputChannel(req: OutputChannelRequest): ChannelEndpoint {
    return this.channel(toChannelRequest(req));
  }

  inputChannel(req: InputChannelRequest): ChannelEndpoint {
    return this.channel(toChannelRequest(req));
  }

  /**
   * A ring by key (created on first request, with the request's control blocks). For rings one
   * of whose ends is not a task: a network pump on the main thread.
   */
  ring(req: RingRequest): ChannelEndpoint {
    const { channels, slabs } = this.job(req.jobId, req.attempt);
    const k = JSON.stringify(req.key);
    const existing = channels.get(k);
    if (existing !== undefined) {
      if (existing.buffers !== req.buffers || existing.bufferSizeBytes !== req.bufferSizeBytes) {
        throw new SluiceError(
          'INTERNAL',
          `channel ${req.key.join(' ')} of job ${req.jobId} (attempt ${req.attempt}) was requested with ${req.buffers} × ${req.bufferSizeBytes} bytes but exists with ${existing.buffers} × ${existing.bufferSizeBytes}`,
        );
      }
      return existing;
    }
    checkRingSizes(req.buffers, req.bufferSizeBytes);
    const memory = slabs.allocate(req.buffers, req.bufferSizeBytes);
    initChannelRing(memory.sab, memory.offset, req.buffers, req.bufferSizeBytes);
    const endpoint: ChannelEndpoint = {
      ring: memory.sab,
      ringOffset: memory.offset,
      producerControl: req.producerControl,
      consumerControl: req.consumerControl,
      bufferSizeBytes: req.bufferSizeBytes,
      buffers: req.buffers,
    };
    channels.set(k, endpoint);
    return endpoint;
  }

  /**
   * Sets a subtask's cancel flag and rings its doorbell, so it stops even while blocked on a
   * full channel. Returns false when no control block exists for it (never deployed here).
   */
  cancel(jobId: string, attempt: number, vertexId: string, subtaskIndex: number): boolean {
    const sab = this.jobs.get(key(jobId, attempt))?.controls.get(key(vertexId, subtaskIndex));
    if (sab === undefined) return false;
    const words = new Int32Array(sab);
    Atomics.store(words, CONTROL_CANCEL, 1);
    ringDoorbell(words);
    return true;
  }

  /** Cancels every subtask of one job attempt that has a control block here. */
  cancelJob(jobId: string, attempt: number): void {
    const m = this.jobs.get(key(jobId, attempt));
    if (m === undefined) return;
    for (const sab of m.controls.values()) {
      const words = new Int32Array(sab);
      Atomics.store(words, CONTROL_CANCEL, 1);
      ringDoorbell(words);
    }
  }

  isCancelled(jobId: string, attempt: number, vertexId: string, subtaskIndex: number): boolean {
    const sab = this.jobs.get(key(jobId, attempt))?.controls.get(key(vertexId, subtaskIndex));
    return sab !== undefined && Atomics.load(new Int32Array(sab), CONTROL_CANCEL) !== 0;
  }

  /**
   * Forgets all memory of one job attempt (or of every attempt, without `attempt`). Threads still holding the buffers keep them alive
   * until they drop them; call this once every task of the attempt has ended.
   */
  releaseJob(jobId: string, attempt?: number): void {
    if (attempt !== undefined) {
      this.jobs.delete(key(jobId, attempt));
      return;
    }
    for (const k of [...this.jobs.keys()]) if ((JSON.parse(k) as [string, number])[0] === jobId) this.jobs.delete(k);
  }

  /** Forgets the memory of a job's attempts older than `attempt` (their tasks have all ended). */
  releaseAttemptsBefore(jobId: string, attempt: number): void {
    for (const k of [...this.jobs.keys()]) {
      const [j, a] = JSON.parse(k) as [string, number];
      if (j === jobId && a < attempt) this.jobs.delete(k);
    }
  }

  /** Number of job attempts holding memory (for tests and leak checks). */
  get jobCount(): number {
    return this.jobs.size;
  }
}

function toChannelRequest(req: OutputChannelRequest | InputChannelRequest): ChannelRequest {
  const p = req.partition;
  return {
    jobId: p.jobId,
    attempt: p.attempt,
    edgeId: p.edgeId,
    producerVertexId: p.producerVertexId,
    producerSubtask: p.producerSubtask,
    consumerVertexId: req.consumerVertexId,
    consumerSubtask: req.consumerSubtask,
    bufferSizeBytes: req.bufferSizeBytes,
    buffers: req.buffers,
  };
}
