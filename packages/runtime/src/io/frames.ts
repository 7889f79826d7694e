/**
 * Frame types inside a batch. A batch is a sequence of frames, each starting with one type byte:
 *
 *   RECORD            record bytes (self-delimiting: the serializer reads what it wrote)
 *   RECORD_TS         float64 timestamp, then record bytes
 *   WATERMARK         float64
 *   STATUS_IDLE       (no payload) the channel's producer is idle
 *   STATUS_ACTIVE     (no payload) the channel's producer is active again
 *   END_OF_PARTITION  (no payload) nothing follows on this channel, ever
 *   BARRIER           float64 checkpoint id: everything before it belongs to that checkpoint
 *
 * Control events travel in the same batches as records, so they keep their order relative to
 * the data around them.
 */
export const Frame = {
  RECORD: 1,
  RECORD_TS: 2,
  WATERMARK: 3,
  STATUS_IDLE: 4,
  STATUS_ACTIVE: 5,
  END_OF_PARTITION: 6,
  BARRIER: 7,
} as const;

export type FrameType = (typeof Frame)[keyof typeof Frame];

/** The largest control frame (type byte + float64), reserved when sizing buffers. */
export const MAX_CONTROL_FRAME_BYTES = 16;
