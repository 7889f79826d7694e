/**
 * Leader retrieval on ZooKeeper: reads `leader/<component>/info` with a watch (an exists watch
 * while there is none) and reads again on every event, one read at a time, so the listener sees
 * the changes in order. A new session (after a lost one) reads again, since watches die with
 * their session.
 */
import { describeError, type Logger } from '@sluice/common';
import { isZooKeeperError } from '@sluice/zookeeper';
import { checkComponent, decodeLeaderInfo, sameLeader } from '../records.js';
import type { LeaderInfo, LeaderRetrieval } from '../services.js';
import type { ZkLayout } from './zk-layout.js';
import type { ZkSessions } from './zk-sessions.js';

const RETRY_MS = 1_000;

export class ZkLeaderRetrieval implements LeaderRetrieval {
  private listener: ((leader: LeaderInfo | undefined) => void) | undefined;
  private last: LeaderInfo | undefined;
  private told = false;
  private stopped = false;
  private chain: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly onWatch = (): void => void this.refresh();

  constructor(
    private readonly sessions: ZkSessions,
    private readonly layout: ZkLayout,
    private readonly component: string,
    private readonly logger: Logger,
  ) {
    checkComponent(component);
  }

  async start(listener: (leader: LeaderInfo | undefined) => void): Promise<void> {
    if (this.listener !== undefined) throw new Error(`the leader retrieval of ${this.component} was started already`);
    this.listener = listener;
    this.unsubscribe = this.sessions.onNewSession(() => void this.refresh());
    await this.refresh();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.chain;
    this.listener = undefined;
  }

  private refresh(): Promise<void> {
    this.chain = this.chain.then(async () => {
      if (this.stopped) return;
      try {
        this.emit(await this.read());
      } catch (err) {
        this.logger.warn('cannot read the leader; trying again', { component: this.component, error: describeError(err) });
        if (!this.told) this.emit(undefined);
        clearTimeout(this.retryTimer);
        if (!this.stopped) this.retryTimer = setTimeout(() => void this.refresh(), RETRY_MS);
      }
    });
    return this.chain;
  }

  private async read(): Promise<LeaderInfo | undefined> {
    const path = this.layout.info(this.component);
    return this.sessions.call(`read ${path}`, async (client) => {
      for (;;) {
        try {
          const { data } = await client.getData(path, this.onWatch);
          return decodeLeaderInfo(data.toString('utf8'));
        } catch (err) {
          if (!isZooKeeperError(err, 'NONODE')) throw err;
        }
        if ((await client.exists(path, this.onWatch)) === undefined) return undefined;
      }
    });
  }

  private emit(leader: LeaderInfo | undefined): void {
    if (this.told && sameLeader(leader, this.last)) return;
    this.told = true;
    this.last = leader;
    try {
      this.listener?.(leader);
    } catch (err) {
      this.logger.error('a leader listener threw', { component: this.component, error: describeError(err) });
    }
  }
}
