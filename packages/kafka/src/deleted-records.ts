/**
 * Records deleted before a reader got to them (retention, DeleteRecords). kafkajs moves a fetch
 * below the log's start to the start without saying so, and a bounded partition with nothing left
 * before its stop offset would then wait forever. So the reader asks the broker where each log
 * starts now — after a fetch stepped over offsets, and while a bounded partition waits — counts
 * and logs what was skipped, and moves waiting bounded partitions past it.
 */
import type { Logger } from '@sluice/common';
import type { KafkaMessage } from 'kafkajs';
import { bounded, createKafkaClient, withKafkaDeadline, type ResolvedKafkaConnection } from './connection.js';
import type { FetchBuffer, PartitionState } from './fetch-buffer.js';
import type { KafkaSourceMetrics } from './kafka-metrics.js';

/** How often the broker is asked, while there is something to ask about. */
const DELETED_RECORDS_CHECK_MS = 5_000;

export interface DeletedRecordsReader {
  readonly buffer: FetchBuffer<KafkaMessage>;
  /** Partitions being read. */
  active(): readonly PartitionState[];
  /** Closed or failed: nothing more to check. */
  stopped(): boolean;
  /** A check ended: positions may have moved (pause changes, records to end on). */
  checked(): void;
}

export class DeletedRecordsCheck {
  private timer: NodeJS.Timeout | undefined;
  private run: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly o: { connection: ResolvedKafkaConnection; timeoutMs: number; clientSuffix: string },
    private readonly reader: DeletedRecordsReader,
    private readonly metrics: KafkaSourceMetrics,
    private readonly log: Logger,
  ) {}

  /** Checks in a while if a fetch stepped over offsets or a bounded partition is read. */
  schedule(): void {
    if (this.timer !== undefined || this.closed) return;
    if (!this.reader.buffer.hasGaps && !this.reader.active().some((s) => s.stopOffset !== undefined)) return;
    this.timer = setTimeout(() => {
      this.run = this.check().finally(() => {
        this.timer = undefined;
        this.run = undefined;
        this.schedule();
      });
    }, DELETED_RECORDS_CHECK_MS);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.run !== undefined) await bounded(this.run, 3_000);
  }

  /**
   * Asks the broker where the log starts now, for two kinds of partitions:
   *   - those a fetch stepped over offsets of (any read): records of such a gap below the log
   *     start were deleted before they were read, and kafkajs had moved on to the new start;
   *   - bounded partitions with nothing fetched to hand out: records below the log start were
   *     deleted, and are skipped, which also ends a partition whose stop offset lies below it.
   * Either way they are counted and logged. A gap the log start has not reached was compaction,
   * transaction markers or aborted records, and is not reported. Best effort: a broker that does
   * not answer is asked again next time (bounded waits) or not (gaps, which the log then shows).
   */
  private async check(): Promise<void> {
    const buffer = this.reader.buffer;
    const gaps = buffer.drainGaps();
    const waiting = this.reader.active().filter((s) => s.stopOffset !== undefined && s.queued === 0 && !buffer.isFinished(s));
    if ((gaps.length === 0 && waiting.length === 0) || this.closed || this.reader.stopped()) return;
    const admin = createKafkaClient(this.o.connection, `deleted-records-${this.o.clientSuffix}`).admin();
    try {
      await withKafkaDeadline(this.o.connection, 'reading log start offsets', this.o.timeoutMs, async () => {
        await admin.connect();
        for (const topic of new Set([...gaps.map((g) => g.state.topic), ...waiting.map((s) => s.topic)])) {
          const asked = waiting.filter((s) => s.topic === topic).map((s) => ({ s, position: buffer.position(s) }));
          const offsets = await admin.fetchTopicOffsets(topic);
          const logStart = (partition: number) => Number(offsets.find((o) => o.partition === partition)?.low);
          for (const g of gaps) {
            if (g.state.topic !== topic) continue;
            const low = logStart(g.state.partition);
            const end = Math.min(low, g.to);
            if (end > g.from) this.report(g.state, g.from, end, low);
          }
          for (const { s, position } of asked) {
            const low = logStart(s.partition);
            // Records may have arrived while the broker answered: then kafkajs is reading again.
            if (!(low > position) || s.queued > 0 || buffer.position(s) !== position) continue;
            const resumeAt = Math.min(low, s.stopOffset!);
            buffer.advanceTo(s.topic, s.partition, resumeAt - 1);
            this.report(s, position, resumeAt, low);
          }
        }
      });
    } catch {
      // Bounded waits are asked again at the next check.
    } finally {
      await bounded(admin.disconnect(), 2_000);
    }
    this.reader.checked();
  }

  private report(s: PartitionState, from: number, to: number, logStart: number): void {
    this.metrics.deletedRecords(s.topic, s.partition, to - from);
    this.log.warn('records were deleted before they were read; skipping them', {
      topic: s.topic,
      partition: s.partition,
      skipped: `${from}..${to - 1}`,
      count: to - from,
      logStartOffset: logStart,
      ...(s.stopOffset === undefined ? {} : { stopOffset: s.stopOffset }),
    });
  }
}
