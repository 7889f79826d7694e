/** What both Kafka runs take and give back; the harness (run.ts) turns the outcome into a BenchResult. */

export interface KafkaRunOptions {
  bootstrap: string;
  /** The compiled kafka-map job. */
  jobFile: string;
  parallelism: number;
  /** Of the input and of the output topic. */
  partitions: number;
  /** The job's tuning parameters (bootstrap and topics are added by the run). */
  jobParams: Record<string, string>;
  bufferTimeoutMs?: number;
}

export interface KafkaRunOutcome {
  jobDurationMs: number;
  /** The BENCH line's fields. */
  fields: Record<string, string | number>;
  detail: Record<string, unknown>;
  /** Lines printed after the BENCH line (e.g. the latency run's per-hop split). */
  notes?: string[];
}
