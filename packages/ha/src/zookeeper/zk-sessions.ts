/**
 * The ZooKeeper session of a services instance, and its successor: when a session is lost (the
 * client's terminal `lost`, never a mere `suspended` connection) the lost-listeners run first —
 * elections revoke leadership there — and then a new client is started, again and again until
 * one connects or the instance closes; the session-listeners run once it is up (elections rejoin,
 * retrievals watch again). Store calls go through `call`, which maps the client's connection
 * errors to HA_UNAVAILABLE naming the quorum.
 */
import { describeError, type Logger } from '@sluice/common';
import { isZooKeeperError, ZooKeeperClient, type ZooKeeperState } from '@sluice/zookeeper';
import { StoreUnavailableError } from '../errors.js';
import type { ResolvedZooKeeperOptions } from '../options.js';
import type { HaConnectionState } from '../services.js';

const UNAVAILABLE = ['CONNECTIONLOSS', 'SESSIONEXPIRED', 'CLOSED', 'UNREACHABLE', 'OPERATIONTIMEOUT', 'REQUESTTIMEOUT', 'NOT_STARTED'];
const RESTART_DELAY_MS = 1_000;
/** Tries of a call again after its connection dropped under it (see ZkSessions.call). */
const MAX_RETRIES_AFTER_CONNECTION_LOSS = 3;

export function isUnavailable(err: unknown): boolean {
  return UNAVAILABLE.some((code) => isZooKeeperError(err, code));
}

export class ZkSessions {
  private client: ZooKeeperClient;
  /** Resolves with the successor of a lost client; replaced on every loss. */
  private successor: Promise<ZooKeeperClient> | undefined;
  private abandonSuccessor: ((err: unknown) => void) | undefined;
  private closed = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly stateListeners = new Set<(state: HaConnectionState) => void>();
  private readonly lostListeners = new Set<(reason: string) => void>();
  private readonly sessionListeners = new Set<() => void>();

  private constructor(
    readonly options: ResolvedZooKeeperOptions,
    private readonly logger: Logger,
  ) {
    this.client = this.newClient();
  }

  /** Connects the first session; HA_UNAVAILABLE naming the quorum when none comes up in time. */
  static async open(options: ResolvedZooKeeperOptions, logger: Logger): Promise<ZkSessions> {
    const sessions = new ZkSessions(options, logger);
    try {
      await sessions.client.start();
    } catch (err) {
      await sessions.client.close();
      throw sessions.unavailable('cannot open a session', err);
    }
    sessions.watch(sessions.client);
    return sessions;
  }

  get sessionId(): string {
    return this.client.sessionId;
  }

  onConnectionState(listener: (state: HaConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  onLost(listener: (reason: string) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  onNewSession(listener: () => void): () => void {
    this.sessionListeners.add(listener);
    return () => this.sessionListeners.delete(listener);
  }

  /** The client of the live session (after a loss: its successor, waited for up to connectionTimeoutMs). */
  async current(): Promise<ZooKeeperClient> {
    if (this.closed) throw new StoreUnavailableError(`the high-availability services on ZooKeeper ${this.options.quorum} are closed`);
    const state = this.client.state;
    if (this.successor === undefined || (state !== 'lost' && state !== 'closed')) return this.client;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.unavailable('has no session', new Error(`no new session within ${this.options.connectionTimeoutMs} ms after the last was lost`))), this.options.connectionTimeoutMs);
    });
    try {
      return await Promise.race([this.successor, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs `op` on the live session; connection and session errors become HA_UNAVAILABLE.
   *
   * An `op` in flight when the connection dropped (ZK_CONNECTIONLOSS) runs again once the same
   * session is back, as Curator's retry does: a suspended connection must fail no caller (a
   * JobMaster whose checkpoint record failed would restart its job). The store's operations are
   * safe to repeat — reads, and writes that carry the version they read or treat NODEEXISTS and
   * NONODE as "done already" — and a repeated fenced write is still checked against its latch.
   * While suspended the client holds new requests until it reconnects, or fails them once the
   * session is lost. An `op` whose every try ends the connection (a request the server refuses
   * to read) gives up after a few.
   */
  async call<T>(what: string, op: (client: ZooKeeperClient) => Promise<T>): Promise<T> {
    for (let retries = 0; ; retries++) {
      const client = await this.current();
      try {
        return await op(client);
      } catch (err) {
        const sessionMayLive = client === this.client && !this.closed && client.state !== 'lost' && client.state !== 'closed';
        if (isZooKeeperError(err, 'CONNECTIONLOSS') && sessionMayLive && retries < MAX_RETRIES_AFTER_CONNECTION_LOSS) continue;
        throw isUnavailable(err) ? this.unavailable(`cannot ${what}`, err) : err;
      }
    }
  }

  unavailable(what: string, err: unknown): StoreUnavailableError {
    return new StoreUnavailableError(
      `high availability: ZooKeeper ${this.options.quorum} ${what} (${describeError(err)}); check that the quorum runs and is reachable from this host (the \`quorum\` option)`,
      { cause: err },
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.restartTimer);
    this.abandonSuccessor?.(new StoreUnavailableError(`the high-availability services on ZooKeeper ${this.options.quorum} are closed`));
    await this.client.close();
  }

  private newClient(): ZooKeeperClient {
    const o = this.options;
    return new ZooKeeperClient({
      connectString: o.quorum,
      sessionTimeoutMs: o.sessionTimeoutMs,
      connectionTimeoutMs: o.connectionTimeoutMs,
      ...(o.tls === undefined ? {} : { tls: o.tls }),
      ...(o.digest === undefined ? {} : { digest: o.digest, acl: 'creator' as const }),
      logger: this.logger.child('zookeeper'),
    });
  }

  private watch(client: ZooKeeperClient): void {
    client.onStateChange((state: ZooKeeperState) => {
      if (client !== this.client || this.closed) return;
      if (state === 'connected' || state === 'suspended') this.emit(state);
      else if (state === 'lost') this.lost(`ZooKeeper session 0x${client.sessionId} lost`);
    });
  }

  private lost(reason: string): void {
    this.logger.warn('ZooKeeper session lost; starting a new one', { quorum: this.options.quorum, reason });
    let resolve!: (c: ZooKeeperClient) => void;
    this.successor = new Promise<ZooKeeperClient>((r, reject) => ((resolve = r), (this.abandonSuccessor = reject)));
    this.successor.catch(() => undefined); // waited for only by current(), which reports it
    for (const l of [...this.lostListeners]) this.safely(() => l(reason));
    this.emit('lost');
    const attempt = (): void => {
      this.restartTimer = undefined;
      if (this.closed) return;
      const next = this.newClient();
      this.client = next;
      next.start().then(
        () => {
          if (this.closed) return void next.close();
          this.watch(next);
          resolve(next);
          this.emit('connected');
          for (const l of [...this.sessionListeners]) this.safely(l);
        },
        (err: unknown) => {
          this.logger.warn('no new ZooKeeper session yet; trying again', { quorum: this.options.quorum, error: describeError(err) });
          if (!this.closed) this.restartTimer = setTimeout(attempt, RESTART_DELAY_MS);
        },
      );
    };
    attempt();
  }

  private emit(state: HaConnectionState): void {
    for (const l of [...this.stateListeners]) this.safely(() => l(state));
  }

  private safely(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.logger.error('a ZooKeeper session listener threw', { error: describeError(err) });
    }
  }
}

