/**
 * Commits a source's checkpointed offsets to a consumer group the user names, when the
 * checkpoint completes — so the usual Kafka lag tooling (kafka-consumer-groups, Burrow, lag
 * exporters) sees how far the job has read. Sluice never reads these offsets back: its
 * positions live in checkpoints. A commit that fails (the group is rebalancing, a broker is
 * away) is retried a few times, then skipped; the next checkpoint commits newer offsets anyway.
 *
 * kafkajs commits only as a group member, so the committer joins the group with an assigner
 * that assigns nothing (each subtask is one member; nothing is fetched). `admin.setOffsets`
 * would need an empty group and takes seconds per call.
 */
import { AssignerProtocol, type Consumer, type PartitionAssigner } from 'kafkajs';
import { bounded, createKafkaClient, withKafkaDeadline, type ResolvedKafkaConnection } from './connection.js';

export const COMMIT_ONLY_ASSIGNER_NAME = 'SluiceCommitOnly';
const COMMIT_ATTEMPTS = 4;
const RETRY_DELAY_MS = 300;

const commitOnlyAssigner: PartitionAssigner = () => ({
  name: COMMIT_ONLY_ASSIGNER_NAME,
  version: 0,
  protocol({ topics }) {
    return { name: COMMIT_ONLY_ASSIGNER_NAME, metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
  },
  async assign({ members }) {
    return members.map((m) => ({ memberId: m.memberId, memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: {}, userData: Buffer.alloc(0) }) }));
  },
});

export interface CommittedOffset {
  topic: string;
  partition: number;
  /** The next offset to read, as Kafka expects in a commit. */
  offset: number;
}

export class GroupOffsetCommitter {
  private consumer: Consumer | undefined;
  private joined: Promise<void> | undefined;
  private busy: Promise<void> = Promise.resolve();
  private closed = false;
  private requested = 0;
  committed = 0;
  failed = 0;

  constructor(
    private readonly c: ResolvedKafkaConnection,
    readonly groupId: string,
    private readonly clientSuffix: string,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Commits in the background, one commit at a time; never throws. A failed commit (typically
   * the group rebalancing while the job's other readers join it) is retried a few times, unless
   * a newer one is already waiting — it would supersede this one.
   */
  commit(offsets: readonly CommittedOffset[]): void {
    if (this.closed || offsets.length === 0) return;
    const seq = ++this.requested;
    this.busy = this.busy.then(async () => {
      for (let attempt = 0; ; attempt++) {
        if (seq !== this.requested && attempt > 0) return;
        try {
          const consumer = await this.member(offsets.map((o) => o.topic));
          await withKafkaDeadline(this.c, `committing offsets to consumer group '${this.groupId}'`, this.timeoutMs, () =>
            consumer.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) }))),
          );
          this.committed++;
          return;
        } catch {
          // Rejoin next time: the membership may be what went wrong.
          await this.leave();
          if (attempt >= COMMIT_ATTEMPTS - 1) {
            this.failed++;
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS * (attempt + 1)));
        }
      }
    });
  }

  /** Waits for commits in progress (bounded), then leaves the group. */
  async close(): Promise<void> {
    this.closed = true;
    await bounded(this.busy, this.timeoutMs);
    await this.leave();
  }

  private member(topics: string[]): Promise<Consumer> {
    if (this.consumer !== undefined && this.joined !== undefined) {
      const c = this.consumer;
      return this.joined.then(() => c);
    }
    const consumer = createKafkaClient(this.c, this.clientSuffix).consumer({ groupId: this.groupId, partitionAssigners: [commitOnlyAssigner], allowAutoTopicCreation: false });
    this.consumer = consumer;
    this.joined = withKafkaDeadline(this.c, `joining consumer group '${this.groupId}' to commit offsets`, this.timeoutMs, async () => {
      const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
      await consumer.connect();
      await consumer.subscribe({ topics: [...new Set(topics)] });
      await consumer.run({ autoCommit: false, eachBatch: async () => undefined });
      await joined;
    });
    return this.joined.then(() => consumer);
  }

  private async leave(): Promise<void> {
    const c = this.consumer;
    this.consumer = undefined;
    this.joined = undefined;
    if (c !== undefined) await bounded(c.disconnect(), 5_000);
  }
}
