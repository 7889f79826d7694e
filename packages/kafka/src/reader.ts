/**
 * The per-subtask Kafka reader. kafkajs fetches on the worker thread's event loop and hands
 * batches to a bounded FetchBuffer; `pollNext` drains it synchronously in bursts, deserializes,
 * and emits each record with its Kafka timestamp through the record's partition output, so
 * watermarks are generated per partition. A partition whose buffered records pass the bound is
 * paused in the consumer (even while the task is blocked and not polling) and resumed once
 * drained. Bad records follow the source's onError policy. Unbounded readers look for new
 * partitions periodically (PartitionDiscovery) and take the ones their subtask owns; bounded
 * readers give splits restored from another run this run's end offsets first (BoundedStart).
 */
import type { ReaderOutput, ReaderStatus, SourceReader, SourceReaderContext } from '@sluice/api';
import { createLogger, describeError, randomId } from '@sluice/common';
import type { KafkaMessage } from 'kafkajs';
import { BadRecordError, BadRecordTracker, deadLetterMessage, type BadRecordReason } from './bad-records.js';
import { DeadLetterWriter } from './dead-letter.js';
import { DeletedRecordsCheck } from './deleted-records.js';
import { PartitionDiscovery, partitionKey } from './discovery.js';
import { BoundedStart } from './end-offsets.js';
import { FetchBuffer, type PartitionState } from './fetch-buffer.js';
import { GroupOffsetCommitter, type CommittedOffset } from './offset-committer.js';
import { KafkaSourceMetrics, type SourcePartitionMetrics } from './kafka-metrics.js';
import { PartitionConsumer } from './partition-consumer.js';
import { recordSize, type KafkaRecord } from './records.js';
import type { ResolvedKafkaSourceOptions } from './source.js';
import { splitIdOf, withoutStop, type KafkaPartitionSplit } from './split.js';

/** What one reader counted (records seen, bad ones per reason, dead-lettered, partitions). */
export interface KafkaSourceCounters {
  records: number;
  bad: number;
  failedByReason: Record<BadRecordReason, number>;
  deadLettered: number;
  partitions: number;
  discoveredPartitions: number;
  /** Checkpoint offsets committed to `commitOffsetsToGroup`, and commits that failed. */
  offsetCommits: number;
  offsetCommitFailures: number;
}

/** Records per pollNext at most. */
export const KAFKA_POLL_BURST = 1024;

export class KafkaSourceReader<T> implements SourceReader<T, KafkaPartitionSplit> {
  private readonly buffer: FetchBuffer<KafkaMessage>;
  private readonly active: PartitionState[] = [];
  private readonly finished: KafkaPartitionSplit[] = [];
  private readonly outputs = new Map<string, ReaderOutput<T>>();
  private outputOwner: ReaderOutput<T> | undefined;
  private readonly tracker: BadRecordTracker;
  private readonly deadLetters: DeadLetterWriter | undefined;
  private readonly discovery: PartitionDiscovery | undefined;
  private readonly boundedStart: BoundedStart | undefined;
  private readonly jobId: string | undefined;
  private readonly committer: GroupOffsetCommitter | undefined;
  private readonly metrics: KafkaSourceMetrics;
  /** Per split id: bound series and the partition's log end offset from the last fetch. */
  private readonly partitionMetrics = new Map<string, { m: SourcePartitionMetrics; highWatermark: number }>();
  /** Offsets of checkpoints taken and not yet completed, by checkpoint id. */
  private readonly checkpointOffsets = new Map<number, CommittedOffset[]>();
  /** The main output was told this reader is idle (no partitions while waiting for discovery). */
  private idleMarked = false;
  private readonly groupId: string;
  private readonly jobName: string;
  private consumer: PartitionConsumer | undefined;
  /** Consumer starts and stops, one at a time. */
  private lifecycle: Promise<void> = Promise.resolve();
  private consumerPartitions = '';
  private restartScheduled = false;
  private failure: unknown = undefined;
  private noMoreSplits = false;
  private closed = false;
  private wakeUp: (() => void) | undefined;
  private available: Promise<void> | undefined;
  private readonly deletedRecords: DeletedRecordsCheck;
  private readonly log = createLogger(undefined, 'kafka-source');

  constructor(private readonly o: ResolvedKafkaSourceOptions<T>, ctx: SourceReaderContext) {
    this.buffer = new FetchBuffer<KafkaMessage>(o.maxBufferedRecordsPerPartition);
    this.tracker = new BadRecordTracker(o.badRecords);
    this.metrics = new KafkaSourceMetrics(ctx.metrics);
    const t = ctx.taskInfo;
    this.jobName = o.jobName ?? t.jobName ?? t.taskName;
    this.jobId = t.jobId;
    const task = t.taskName.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
    this.groupId = `${o.groupIdPrefix}-${task}-${t.subtaskIndex}-${t.attempt}-${randomId(6)}`;
    this.deletedRecords = new DeletedRecordsCheck(
      { connection: o.connection, timeoutMs: o.enumerationTimeoutMs, clientSuffix: this.groupId },
      {
        buffer: this.buffer,
        active: () => this.active,
        stopped: () => this.closed || this.failure !== undefined,
        checked: () => {
          this.applyPauseChanges();
          this.signal();
        },
      },
      this.metrics,
      this.log,
    );
    this.committer = o.commitOffsetsToGroup === undefined ? undefined : new GroupOffsetCommitter(o.connection, o.commitOffsetsToGroup, `commit-${task}-${t.subtaskIndex}`, o.consumerStartTimeoutMs, (ok) => this.metrics.offsetCommit(ok));
    const dlq = o.badRecords.deadLetterTopic;
    this.deadLetters =
      o.badRecords.onError === 'dead-letter' && dlq !== undefined ? new DeadLetterWriter(o.connection, dlq, this.groupId, () => this.signal(), o.closeTimeoutMs) : undefined;
    if (o.partitionDiscoveryIntervalMs > 0) {
      this.discovery = new PartitionDiscovery(
        {
          connection: o.connection,
          selection: o.selection,
          intervalMs: o.partitionDiscoveryIntervalMs,
          timeoutMs: o.enumerationTimeoutMs,
          subtask: t.subtaskIndex,
          parallelism: t.parallelism,
          maxConsecutiveFailures: 3,
        },
        {
          known: () => new Set([...this.buffer.states()].map((s) => partitionKey(s.topic, s.partition))),
          onNewSplits: (splits) => {
            if (!this.closed) this.addSplits(splits);
          },
          onFailure: (err) => this.fail(err),
        },
      );
      this.discovery.start();
    }
    if (o.bounded) {
      this.boundedStart = new BoundedStart({ connection: o.connection, timeoutMs: o.enumerationTimeoutMs, subtask: t.subtaskIndex, jobId: t.jobId }, {
        onSplits: (splits) => this.takeSplits(splits),
        onFailure: (err) => this.fail(err),
        onSettled: () => this.signal(),
      });
    }
  }

  addSplits(splits: KafkaPartitionSplit[]): void {
    // An unbounded run reads on past where a bounded run (whose checkpoint it resumes) stopped.
    this.takeSplits(this.boundedStart === undefined ? splits.map(withoutStop) : this.boundedStart.admit(splits));
  }

  private takeSplits(splits: KafkaPartitionSplit[]): void {
    if (this.closed) return;
    if (splits.length > 0) this.idleMarked = false;
    for (const s of splits) {
      const state = this.buffer.addSplit(s);
      if (this.buffer.isFinished(state)) this.finished.push({ ...s });
      else if (!this.active.includes(state)) this.active.push(state);
    }
    this.scheduleConsumerRestart();
    this.deletedRecords.schedule();
    this.signal();
  }

  notifyNoMoreSplits(): void {
    this.noMoreSplits = true;
    this.boundedStart?.noMoreSplits();
    this.signal();
  }

  pollNext(output: ReaderOutput<T>): ReaderStatus {
    if (this.failure !== undefined) throw this.failure;
    const dlqError = this.deadLetters?.error();
    if (dlqError !== undefined) throw dlqError;
    if (this.outputOwner !== output) {
      this.outputs.clear();
      this.outputOwner = output;
    }
    // Every assigned partition gets its watermark output up front, so an empty partition holds
    // the watermark back until the strategy's idleness marks it idle, as in Flink.
    for (const s of this.active) if (!this.outputs.has(s.splitId)) this.outputs.set(s.splitId, output.createSplitOutput(s.splitId));

    const { deserializer } = this.o;
    const maxBytes = this.o.badRecords.maxRecordBytes;
    let emitted = 0;
    while (emitted < KAFKA_POLL_BURST) {
      const q = this.buffer.take();
      if (q === undefined) break;
      emitted++;
      const record = toRecord(q.state, q.message);
      const pm = this.partitionMetrics.get(q.state.splitId);
      if (pm !== undefined) {
        pm.m.records.inc();
        pm.m.bytes.inc((record.key?.length ?? 0) + (record.value?.length ?? 0));
      }
      if (maxBytes !== undefined && recordSize(record) > maxBytes) {
        this.onBadRecord(record, 'too-large', `record of ${recordSize(record)} bytes (key + value) exceeds maxRecordBytes ${maxBytes}`, undefined);
        continue;
      }
      let value: T | undefined;
      try {
        value = deserializer(record);
      } catch (err) {
        this.onBadRecord(record, 'deserialization', describeError(err), err);
        continue;
      }
      this.tracker.good();
      if (value !== undefined) this.outputs.get(q.state.splitId)!.collect(value, record.timestamp);
    }
    this.deadLetters?.flush();
    if (emitted > 0) this.updateLag();
    this.retireFinishedSplits(output);
    this.applyPauseChanges();

    if (this.buffer.size > 0) return 'more';
    if (this.active.length === 0 && this.noMoreSplits && this.boundedStart?.pending !== true) {
      if (this.discovery === undefined) return this.deadLetters === undefined || this.deadLetters.isIdle() ? 'end' : 'nothing';
      // Nothing to read until discovery finds a partition for this subtask: stay, but idle.
      if (!this.idleMarked) {
        this.idleMarked = true;
        output.markIdle?.();
      }
    }
    return 'nothing';
  }

  isAvailable(): Promise<void> {
    if (this.closed || this.failure !== undefined || this.buffer.size > 0) return Promise.resolve();
    if (this.active.length === 0 && this.noMoreSplits && this.discovery === undefined && this.boundedStart?.pending !== true) {
      return this.deadLetters?.whenIdle() ?? Promise.resolve();
    }
    this.available ??= new Promise<void>((resolve) => {
      this.wakeUp = resolve;
    });
    return this.available;
  }

  snapshotState(checkpointId: number): KafkaPartitionSplit[] {
    // The buffer's stop offsets are this run's, whichever way they came: a restart keeps them.
    const stamped = (s: KafkaPartitionSplit): KafkaPartitionSplit => (s.stopOffset === undefined || this.jobId === undefined ? { ...s } : { ...s, stopOffsetJob: this.jobId });
    const live = this.active.map((s) => {
      const split: KafkaPartitionSplit = { splitId: s.splitId, topic: s.topic, partition: s.partition, offset: this.buffer.position(s) };
      return s.stopOffset === undefined ? split : stamped({ ...split, stopOffset: s.stopOffset });
    });
    const splits = [...live, ...this.finished.map(stamped), ...(this.boundedStart?.waitingSplits() ?? [])];
    if (this.committer !== undefined) this.checkpointOffsets.set(checkpointId, splits.map((s) => ({ topic: s.topic, partition: s.partition, offset: s.offset })));
    return splits;
  }

  /** The checkpoint is complete: its offsets go to the lag-monitoring group, if one is set. */
  notifyCheckpointComplete(checkpointId: number): void {
    const offsets = this.checkpointOffsets.get(checkpointId);
    for (const id of [...this.checkpointOffsets.keys()]) if (id <= checkpointId) this.checkpointOffsets.delete(id);
    if (offsets !== undefined) this.committer?.commit(offsets);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.signal();
    await this.discovery?.close();
    await this.boundedStart?.close();
    await this.deletedRecords.close();
    this.lifecycle = this.lifecycle.then(() => this.stopConsumer());
    await this.lifecycle;
    await this.deadLetters?.close();
    await this.committer?.close();
  }

  /** This reader's counters, for tests (the TaskManager exports the metric group's series). */
  counters(): KafkaSourceCounters {
    const t = this.tracker;
    return {
      records: t.records,
      bad: t.bad,
      failedByReason: { ...t.failed },
      deadLettered: this.deadLetters?.sent ?? 0,
      partitions: this.active.length + this.finished.length,
      discoveredPartitions: this.discovery?.counts.discovered ?? 0,
      offsetCommits: this.committer?.committed ?? 0,
      offsetCommitFailures: this.committer?.failed ?? 0,
    };
  }

  private updateLag(): void {
    for (const s of this.active) {
      const pm = this.partitionMetrics.get(s.splitId);
      if (pm !== undefined && pm.highWatermark >= 0) pm.m.lag.set(Math.max(0, pm.highWatermark - this.buffer.position(s)));
    }
  }

  private observeFetch(topic: string, partition: number, highWatermark: number): void {
    const splitId = splitIdOf(topic, partition);
    let pm = this.partitionMetrics.get(splitId);
    if (pm === undefined) {
      const m = this.metrics.partition(topic, partition);
      if (m === undefined) return;
      pm = { m, highWatermark: -1 };
      this.partitionMetrics.set(splitId, pm);
    }
    if (Number.isFinite(highWatermark)) pm.highWatermark = highWatermark;
  }

  private onBadRecord(record: KafkaRecord, reason: BadRecordReason, detail: string, cause: unknown): void {
    this.metrics.failedRecord(reason);
    const bad = new BadRecordError(record.topic, record.partition, record.offset, reason, detail, cause);
    // Throws for 'fail' and past the error rate: pollNext fails and so does the task.
    const action = this.tracker.onBad(bad);
    if (action === 'dead-letter') this.deadLetters!.add(deadLetterMessage(record, bad, this.jobName));
  }

  private retireFinishedSplits(output: ReaderOutput<T>): void {
    for (let i = this.active.length - 1; i >= 0; i--) {
      const s = this.active[i]!;
      if (!this.buffer.isFinished(s)) continue;
      this.active.splice(i, 1);
      this.finished.push({ splitId: s.splitId, topic: s.topic, partition: s.partition, offset: s.stopOffset!, stopOffset: s.stopOffset! });
      if (this.outputs.delete(s.splitId)) output.releaseSplitOutput(s.splitId);
    }
    if (this.active.length === 0 && this.consumer !== undefined) {
      this.lifecycle = this.lifecycle.then(() => this.stopConsumer());
    }
  }

  private applyPauseChanges(): void {
    const consumer = this.consumer;
    if (consumer === undefined || !this.buffer.hasPauseChanges()) return;
    const { pause, resume } = this.buffer.drainPauseChanges();
    try {
      consumer.pause(pause);
      consumer.resume(resume);
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    this.signal();
  }

  private signal(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    this.available = undefined;
    wake?.();
  }

  // --- consumer lifecycle -------------------------------------------------------------------

  private scheduleConsumerRestart(): void {
    if (this.restartScheduled) return;
    this.restartScheduled = true;
    // Splits usually arrive in one addSplits; waiting a tick lets several calls share one start.
    setImmediate(() => {
      this.restartScheduled = false;
      this.lifecycle = this.lifecycle.then(() => this.syncConsumer());
    });
  }

  /** (Re)starts the consumer when the set of partitions to fetch differs from what it reads. */
  private async syncConsumer(): Promise<void> {
    if (this.closed || this.failure !== undefined) return;
    const fetching = this.buffer.fetchPositions();
    const key = fetching.map((p) => `${p.topic}:${p.partition}`).sort().join(' ');
    if (this.consumer !== undefined && key === this.consumerPartitions) return;
    await this.stopConsumer();
    if (fetching.length === 0) return;
    try {
      const consumer = await PartitionConsumer.start(
        {
          connection: this.o.connection,
          groupId: this.groupId,
          partitions: fetching.map((p) => ({ topic: p.topic, partition: p.partition })),
          maxWaitTimeMs: this.o.maxWaitTimeMs,
          maxBytesPerPartition: this.o.maxBytesPerPartition,
          startTimeoutMs: this.o.consumerStartTimeoutMs,
          maxRestarts: 5,
        },
        {
          onBatch: (topic, partition, messages, lastOffset, highWatermark) => {
            this.observeFetch(topic, partition, highWatermark);
            if (this.buffer.accept(topic, partition, messages, lastOffset) > 0 || this.buffer.hasPauseChanges()) this.signal();
            this.applyPauseChanges();
            if (this.buffer.hasGaps) this.deletedRecords.schedule();
          },
          onSkipped: (topic, partition, lastOffset) => {
            this.buffer.advanceTo(topic, partition, lastOffset);
            this.applyPauseChanges();
            this.signal();
          },
          positions: () => this.buffer.fetchPositions(),
          onFailure: (err) => this.fail(err),
        },
      );
      this.consumer = consumer;
      this.consumerPartitions = key;
      if (this.closed) {
        await this.stopConsumer();
        return;
      }
      // A fresh consumer knows nothing of earlier pauses.
      consumer.pause([...this.buffer.states()].filter((s) => s.paused));
      this.applyPauseChanges();
    } catch (err) {
      this.fail(err);
    }
  }

  private async stopConsumer(): Promise<void> {
    const c = this.consumer;
    this.consumer = undefined;
    this.consumerPartitions = '';
    await c?.close();
  }
}

function toRecord(s: PartitionState, m: KafkaMessage): KafkaRecord {
  return {
    topic: s.topic,
    partition: s.partition,
    offset: Number(m.offset),
    timestamp: Number(m.timestamp),
    key: m.key,
    value: m.value,
    headers: m.headers ?? {},
  };
}
