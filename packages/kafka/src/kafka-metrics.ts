/**
 * The Kafka connectors' Prometheus series, defined on the operator's MetricGroup (the runtime
 * adds the `sluice_` prefix and the job, vertex, operator and subtask labels). Label values are
 * topics, partitions and fixed words only: bounded by the job's topics, never per record. Hot
 * paths hold bound series per partition (one lookup per partition, not per record).
 */
import type { BoundCounter, BoundGauge, BoundHistogram, MetricGroup } from '@sluice/api';
import type { BadRecordReason } from './bad-records.js';

export interface SourcePartitionMetrics {
  records: BoundCounter;
  bytes: BoundCounter;
  lag: BoundGauge;
}

export class KafkaSourceMetrics {
  private readonly records;
  private readonly bytes;
  private readonly lag;
  private readonly failed;
  private readonly offsetCommits;
  private readonly deleted;
  private readonly byPartition = new Map<string, SourcePartitionMetrics>();

  constructor(group: MetricGroup | undefined) {
    this.records = group?.counter('kafka_source_records_in_total', 'Records read from Kafka (bad ones included).', ['topic', 'partition']);
    this.bytes = group?.counter('kafka_source_bytes_in_total', 'Key and value bytes read from Kafka.', ['topic', 'partition']);
    this.lag = group?.gauge('kafka_consumer_lag', 'Records in the partition after the next one the source will emit (log end offset minus position), as of the last fetch.', ['topic', 'partition']);
    this.failed = group?.counter('source_records_failed_total', 'Records that failed: could not be deserialized, or exceeded maxRecordBytes; handled by onError.', ['reason']);
    this.offsetCommits = group?.counter('kafka_source_offset_commits_total', 'Completed checkpoints\' offsets committed to the commitOffsetsToGroup consumer group, by result (failed: after retries).', ['result']);
    this.deleted = group?.counter('kafka_source_records_deleted_total', 'Records the broker deleted (retention, DeleteRecords) before the source read them; skipped.', ['topic', 'partition']);
  }

  /** The bound series of one partition (undefined without a metric group). */
  partition(topic: string, partition: number): SourcePartitionMetrics | undefined {
    if (this.records === undefined || this.bytes === undefined || this.lag === undefined) return undefined;
    const key = `${topic}\u0000${partition}`;
    let m = this.byPartition.get(key);
    if (m === undefined) {
      const labels = { topic, partition: String(partition) };
      m = { records: this.records.labels(labels), bytes: this.bytes.labels(labels), lag: this.lag.labels(labels) };
      this.byPartition.set(key, m);
    }
    return m;
  }

  failedRecord(reason: BadRecordReason): void {
    this.failed?.inc(1, { reason });
  }

  deletedRecords(topic: string, partition: number, n: number): void {
    this.deleted?.inc(n, { topic, partition: String(partition) });
  }

  offsetCommit(ok: boolean): void {
    this.offsetCommits?.inc(1, { result: ok ? 'committed' : 'failed' });
  }
}

export class KafkaSinkMetrics {
  private readonly records;
  private readonly bytes;
  private readonly latency: BoundHistogram | undefined;
  private readonly transactions;

  constructor(group: MetricGroup | undefined) {
    this.records = group?.counter('kafka_sink_records_out_total', 'Records the broker acknowledged (for exactly-once: written into a transaction).', ['topic']);
    this.bytes = group?.counter('kafka_sink_bytes_out_total', 'Key and value bytes the broker acknowledged.', ['topic']);
    this.latency = group?.histogram('kafka_sink_produce_latency_seconds', 'Time from sending a batch of records to its acknowledgement.');
    this.transactions = group?.counter('kafka_sink_transactions_total', 'Kafka transactions of the exactly-once sink, by result (committed, aborted, recovered).', ['result']);
  }

  acknowledged(topic: string, records: number, bytes: number, seconds: number): void {
    this.records?.inc(records, { topic });
    this.bytes?.inc(bytes, { topic });
    this.latency?.observe(seconds);
  }

  transaction(result: 'committed' | 'aborted' | 'recovered', n = 1): void {
    this.transactions?.inc(n, { result });
  }
}
