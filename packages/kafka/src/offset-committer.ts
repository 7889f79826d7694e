/**
 * Commits a source's checkpointed offsets to a consumer group the user names, when the
 * checkpoint completes — so the usual Kafka lag tooling (kafka-consumer-groups, Burrow, lag
 * exporters) sees how far the job has read. Sluice never reads these offsets back: its
 * positions live in checkpoints.
 *
 * The commit is a standalone one, as Kafka's Java consumer sends it for manually assigned
 * partitions (and as Flink's KafkaSource commits): an OffsetCommit request to the group's
 * coordinator with generation -1 and no member id. Nothing joins the group, so the job's
 * subtasks never make it rebalance and commit side by side for their own partitions. (kafkajs
 * commits only as a group member; joining made every subtask's arrival, and every restart, a
 * rebalance that failed the commits in flight.) A group that has live members of its own — the
 * id is already used by a consumer application — refuses the commits; they are counted as
 * failed, as are commits that fail for other reasons after a few retries. The next checkpoint
 * commits newer offsets anyway.
 */
import { bounded, withKafkaDeadline, type ResolvedKafkaConnection } from './connection.js';
import { GROUP_COORDINATOR, internalCluster, type InternalCluster } from './kafkajs-internal.js';

const COMMIT_ATTEMPTS = 4;
const RETRY_DELAY_MS = 300;
const DISCONNECT_TIMEOUT_MS = 5_000;

export interface CommittedOffset {
  topic: string;
  partition: number;
  /** The next offset to read, as Kafka expects in a commit. */
  offset: number;
}

export class GroupOffsetCommitter {
  private cluster: InternalCluster | undefined;
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
    private readonly onResult: (ok: boolean) => void = () => undefined,
  ) {}

  /**
   * Commits in the background, one commit at a time; never throws. A failed commit (a
   * coordinator moving or still loading) is retried a few times, unless a newer one is already
   * waiting — it supersedes this one.
   */
  commit(offsets: readonly CommittedOffset[]): void {
    if (this.closed || offsets.length === 0) return;
    const seq = ++this.requested;
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const o of offsets) {
      let list = byTopic.get(o.topic);
      if (list === undefined) byTopic.set(o.topic, (list = []));
      list.push({ partition: o.partition, offset: String(o.offset) });
    }
    const topics = [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
    this.busy = this.busy.then(async () => {
      for (let attempt = 0; ; attempt++) {
        if (seq !== this.requested && attempt > 0) return;
        try {
          await withKafkaDeadline(this.c, `committing offsets to consumer group '${this.groupId}'`, this.timeoutMs, async () => {
            const broker = await (await this.connected()).findGroupCoordinator({ groupId: this.groupId, coordinatorType: GROUP_COORDINATOR });
            await broker.offsetCommit({ groupId: this.groupId, groupGenerationId: -1, memberId: '', topics });
          });
          this.committed++;
          this.onResult(true);
          return;
        } catch {
          // Reconnect next time: the connection may be what went wrong.
          await this.disconnect();
          if (attempt >= COMMIT_ATTEMPTS - 1) {
            this.failed++;
            this.onResult(false);
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS * (attempt + 1)));
        }
      }
    });
  }

  /** Waits for commits in progress (bounded), then disconnects. */
  async close(): Promise<void> {
    this.closed = true;
    await bounded(this.busy, this.timeoutMs);
    await this.disconnect();
  }

  private async connected(): Promise<InternalCluster> {
    if (this.cluster === undefined) {
      const cluster = internalCluster(this.c, this.clientSuffix, 'committing offsets to a consumer group');
      this.cluster = cluster;
      await cluster.connect();
    }
    return this.cluster;
  }

  private async disconnect(): Promise<void> {
    const cluster = this.cluster;
    this.cluster = undefined;
    if (cluster !== undefined) await bounded(cluster.disconnect(), DISCONNECT_TIMEOUT_MS);
  }
}
