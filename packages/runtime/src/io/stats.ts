/**
 * I/O counters of one task, bumped by its RecordWriters and InputGate and read by the task when
 * it publishes metrics. Plain numbers on one thread: no atomics needed.
 */
export interface IoStats {
  bytesIn: number;
  bytesOut: number;
  buffersOut: number;
  /** Time the task spent blocked waiting for a free buffer downstream. */
  backpressuredMs: number;
}

export function createIoStats(): IoStats {
  return { bytesIn: 0, bytesOut: 0, buffersOut: 0, backpressuredMs: 0 };
}
