/**
 * What a task needs to use one channel (one producer subtask → one consumer subtask of one
 * exchange): the ring's memory and both tasks' control blocks. Plain data: SharedArrayBuffers
 * cross postMessage by reference, so the same endpoint works on both threads.
 */
export interface ChannelEndpoint {
  /** The ring: header, per-buffer lengths, then `buffers` × `bufferSizeBytes` of data. */
  ring: SharedArrayBuffer;
  /** Where in `ring` the ring starts (rings share slabs; see ring-slabs.ts); 0 when absent. */
  ringOffset?: number;
  /** The producing task's control block (rung when the consumer frees a buffer). */
  producerControl: SharedArrayBuffer;
  /** The consuming task's control block (rung when the producer publishes a buffer). */
  consumerControl: SharedArrayBuffer;
  bufferSizeBytes: number;
  buffers: number;
}
