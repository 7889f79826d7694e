/**
 * Kafka throughput run: pre-fill an input topic with N bench records, run topic → map → topic
 * over it (bounded source, so the job finishes), then read the output topic back. The output
 * topic stamps records with LogAppendTime, so the sustained rate is what the broker saw arrive:
 * (records − 1) / (last append − first append). The whole-job rate (deployment and consumer
 * start-up included) is kept in the results file beside it.
 */
import type { JobResult } from '@sluice/protocol';
import { runJob } from '../engine.js';
import { benchKafka, benchTopicName, connectAdmin, createTopics, deleteTopics, prefill, readBack, settleWithin } from './client.js';
import type { KafkaRunOptions, KafkaRunOutcome } from './run-options.js';

export interface KafkaThroughputOptions extends KafkaRunOptions {
  records: number;
}

export async function runKafkaThroughput(o: KafkaThroughputOptions): Promise<KafkaRunOutcome> {
  const kafka = benchKafka(o.bootstrap, 'sluice-bench-throughput');
  const admin = await connectAdmin(kafka, o.bootstrap);
  const input = benchTopicName('in');
  const output = benchTopicName('out');
  try {
    await createTopics(admin, [
      { name: input, partitions: o.partitions },
      { name: output, partitions: o.partitions, configs: { 'message.timestamp.type': 'LogAppendTime' } },
    ]);
    const prefillPerSec = await prefill(kafka, input, o.partitions, o.records);

    // Generous: a run far below target still finishes and reports; a stuck one is cancelled.
    const jobTimeoutMs = 120_000 + (o.records / 5_000) * 1000;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), jobTimeoutMs);
    let result: JobResult;
    try {
      result = await runJob(o.jobFile, { parallelism: o.parallelism, params: { ...o.jobParams, bootstrap: o.bootstrap, input, output, bounded: 'true' }, ...bufferTimeout(o) }, abort.signal);
    } finally {
      clearTimeout(timer);
    }
    if (result.status !== 'FINISHED') {
      const why = abort.signal.aborted ? `did not finish within ${Math.round(jobTimeoutMs / 1000)} s and was cancelled` : `${result.status}: ${result.error?.message ?? 'no error reported'}`;
      throw new Error(`the kafka-map job ${why}`);
    }

    const back = await readBack(kafka, output, o.records, 15_000);
    if (back.records !== o.records) throw new Error(`the output topic holds ${back.records} records, expected ${o.records} (one per input record)`);
    const spanMs = back.lastTimestamp - back.firstTimestamp;
    const sustained = spanMs > 0 ? (back.records - 1) / (spanMs / 1000) : NaN;
    return {
      jobDurationMs: result.durationMs,
      fields: { events_per_sec: Math.round(sustained), p50_ms: NaN, p99_ms: NaN, records: o.records, partitions: o.partitions },
      detail: {
        rateBasis: 'output LogAppendTime, first to last record',
        outputSpanMs: spanMs,
        wholeJobRecordsPerSec: o.records / (result.durationMs / 1000),
        prefillRecordsPerSec: Math.round(prefillPerSec),
        recordBytes: 100,
      },
    };
  } finally {
    await deleteTopics(admin, [input, output]);
    await settleWithin(5_000, admin.disconnect());
  }
}

export function bufferTimeout(o: KafkaRunOptions): { bufferTimeoutMs?: number } {
  return o.bufferTimeoutMs === undefined ? {} : { bufferTimeoutMs: o.bufferTimeoutMs };
}
