/**
 * Where a bounded source stops when it was not started by its own enumeration. A bounded run
 * fixes its end offsets once, when it starts: the enumerator stamps each split's stop offset with
 * the job id, and the split keeps it through checkpoints and restarts of that job, so a restart
 * after a failure reads exactly what the first attempt would have. A split restored into another
 * run — a resume from a checkpoint or savepoint — has no stop offset (it was taken by an
 * unbounded run) or another run's; its reader asks the broker for the partition's end instead,
 * when it starts, and reads from the split's position up to there.
 *
 * A resumed run reads the partitions the checkpoint holds. It does not look for others: in a
 * checkpoint written before finished source subtasks' final splits were carried into later
 * checkpoints, a reader cannot tell a partition created after it from one whose subtask had
 * already finished, and reading the latter from its start would read it twice.
 */
import { createLogger } from '@sluice/common';
import { bounded, createKafkaClient, describeBrokers, KafkaConnectorError, withKafkaDeadline, type ResolvedKafkaConnection } from './connection.js';
import { partitionBounds } from './enumerate.js';
import { stopAtEnd, type KafkaPartitionSplit, type PartitionOffsets } from './split.js';

/**
 * Pure: whether a bounded reader of run `jobId` must look up where `split` ends. Without a job
 * id (a reader built outside the runtime) a stop offset the split has is kept.
 */
export function needsEndOffset(split: KafkaPartitionSplit, jobId: string | undefined): boolean {
  if (split.stopOffset === undefined) return true;
  return jobId !== undefined && split.stopOffsetJob !== jobId;
}

export interface EndOffsetsRequest {
  connection: ResolvedKafkaConnection;
  timeoutMs: number;
  /** For the log line. */
  subtask: number;
  jobId: string | undefined;
  /** Splits to give this run's stop offsets. */
  splits: readonly KafkaPartitionSplit[];
}

/** `splits` with the end offsets of their partitions now as stop offsets, stamped with this run. */
export async function fetchEndOffsets(r: EndOffsetsRequest): Promise<KafkaPartitionSplit[]> {
  const admin = createKafkaClient(r.connection, `end-offsets-${r.subtask}`).admin();
  try {
    return await withKafkaDeadline(r.connection, 'reading the end offsets a resumed bounded source stops at', r.timeoutMs, async () => {
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      const topics = [...new Set(r.splits.map((s) => s.topic))];
      const gone = topics.filter((t) => !existing.has(t));
      if (gone.length > 0) {
        const list = gone.map((t) => `'${t}'`).join(', ');
        throw new KafkaConnectorError(
          'KAFKA_UNKNOWN_TOPIC',
          `the bounded Kafka source resumes topic${gone.length > 1 ? 's' : ''} ${list} from a checkpoint, but ${gone.length > 1 ? 'they do' : 'it does'} not exist on ${describeBrokers(r.connection)} any more; ` +
            `recreate ${gone.length > 1 ? 'them' : 'it'}, or start the job without that checkpoint`,
        );
      }
      const bounds = new Map<string, PartitionOffsets[]>();
      for (const topic of topics) bounds.set(topic, await partitionBounds(admin, topic));
      return withEndOffsets(r.splits, bounds, r.jobId);
    });
  } finally {
    await bounded(admin.disconnect(), 2_000);
  }
}

/** Pure: each split stopping at its partition's end in `bounds`, for run `jobId`. */
export function withEndOffsets(splits: readonly KafkaPartitionSplit[], bounds: ReadonlyMap<string, readonly PartitionOffsets[]>, jobId: string | undefined): KafkaPartitionSplit[] {
  return splits.map((s) => {
    const b = bounds.get(s.topic)?.find((x) => x.partition === s.partition);
    // A partition the topic no longer lists cannot be read: it ends where it is.
    return stopAtEnd(s, b ?? { partition: s.partition, low: s.offset, high: s.offset }, jobId);
  });
}

export interface BoundedStartHandlers {
  /** Splits with this run's stop offsets, ready to read. */
  onSplits(splits: KafkaPartitionSplit[]): void;
  onFailure(err: unknown): void;
  /** A round ended (either way): the reader may be done now. */
  onSettled(): void;
}

/**
 * A bounded reader's start: holds the splits that need this run's end offsets and fetches them,
 * in one round once all splits are in (and in another for any added later).
 */
export class BoundedStart {
  private waiting: KafkaPartitionSplit[] = [];
  private round: Promise<void> | undefined;
  private allIn = false;
  private closed = false;
  /** A round failed: the reader fails with it, and no round runs again. */
  private failed = false;
  private readonly log = createLogger(undefined, 'kafka-source');

  constructor(private readonly o: Omit<EndOffsetsRequest, 'splits'>, private readonly handlers: BoundedStartHandlers) {}

  /** Keeps the splits that need this run's end offsets; returns the others, ready to read. */
  admit(splits: readonly KafkaPartitionSplit[]): KafkaPartitionSplit[] {
    this.waiting.push(...splits.filter((s) => needsEndOffset(s, this.o.jobId)));
    this.next();
    return splits.filter((s) => !needsEndOffset(s, this.o.jobId));
  }

  /** Every initial split is in: the round may run. */
  noMoreSplits(): void {
    this.allIn = true;
    this.next();
  }

  /** Not every split has its end yet: the reader is not done. */
  get pending(): boolean {
    return this.waiting.length > 0;
  }

  /** Splits still waiting, as restored (a checkpoint now stores them so). */
  waitingSplits(): KafkaPartitionSplit[] {
    return this.waiting.map((s) => ({ ...s }));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.round !== undefined) await bounded(this.round, 3_000);
  }

  private next(): void {
    if (this.round !== undefined || !this.allIn || this.closed || this.failed) return;
    const splits = [...this.waiting];
    if (splits.length === 0) return;
    this.round = fetchEndOffsets({ ...this.o, splits })
      .then(
        (ready) => {
          if (this.closed) return;
          this.waiting = this.waiting.filter((s) => !splits.includes(s));
          this.log.info('bounded Kafka source resumed from another run: reading up to the end offsets current now', {
            subtask: this.o.subtask,
            partitions: ready.map((s) => `${s.topic}[${s.partition}] ${s.offset}..${s.stopOffset!}`).join(', '),
          });
          this.handlers.onSplits(ready);
        },
        (err: unknown) => {
          // The reader fails; the waiting splits stay in its snapshots until then.
          this.failed = true;
          if (!this.closed) this.handlers.onFailure(err);
        },
      )
      .finally(() => {
        this.round = undefined;
        if (!this.closed) {
          this.next();
          this.handlers.onSettled();
        }
      });
  }
}
