/**
 * Leader election on ZooKeeper (the recipe of its documentation, without the herd effect): each
 * contender creates an ephemeral sequential `latch-<seq>` under `leader/<component>`; the lowest
 * leads, every other watches only its predecessor. The term's token names the latch, so a
 * fenced write checks the latch (zk-fencing.ts). Leadership is revoked only when the session
 * is lost or the contender leaves; a suspended connection changes nothing. After a lost session
 * the contender joins again on the new one, and may lead again with a new token.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { describeError, type Logger } from '@sluice/common';
import { isZooKeeperError, type ZooKeeperClient } from '@sluice/zookeeper';
import { FencedError } from '../errors.js';
import { checkComponent, decodeLeaderInfo, encodeRecord } from '../records.js';
import type { LeaderContender, LeaderElection, LeaderInfo, LeaderToken } from '../services.js';
import { ensurePath, failedAt, fencedMulti } from './zk-fencing.js';
import { LATCH_PREFIX, latchSequence, type ZkLayout } from './zk-layout.js';
import { isUnavailable, type ZkSessions } from './zk-sessions.js';

const RETRY_MS = 1_000;

interface Latch {
  path: string;
  name: string;
  client: ZooKeeperClient;
}

export class ZkLeaderElection implements LeaderElection {
  private contender: LeaderContender | undefined;
  private latch: Latch | undefined;
  private token: LeaderToken | undefined;
  private stopped = false;
  private chain: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: (() => void)[] = [];
  /** In the latch's data, so a latch whose create reply was lost can be found again. */
  private readonly contenderId = randomBytes(8).toString('hex');
  private readonly onWatch = (): void => void this.enqueue(() => this.check());

  constructor(
    private readonly sessions: ZkSessions,
    private readonly layout: ZkLayout,
    private readonly component: string,
    private readonly logger: Logger,
  ) {
    checkComponent(component);
  }

  async start(contender: LeaderContender): Promise<void> {
    if (this.contender !== undefined) throw new Error(`the leader election of ${this.component} was started already`);
    this.contender = contender;
    this.unsubscribe.push(
      this.sessions.onLost((reason) => this.sessionLost(reason)),
      this.sessions.onNewSession(() => void this.enqueue(() => this.join())),
    );
    await this.enqueue(() => this.join());
  }

  hasLeadership(token: LeaderToken): boolean {
    return this.token !== undefined && this.token === token;
  }

  async confirmLeadership(info: LeaderInfo): Promise<void> {
    const latch = this.latch;
    if (latch === undefined || info.token !== this.token) {
      throw new FencedError(info.token, `refused to publish ${this.component}'s leader ${info.address}: ${info.token} is not the term this contender holds`);
    }
    const path = this.layout.info(this.component);
    const data = encodeRecord(info);
    const what = `the leader of ${this.component}`;
    // Create or replace, as the leader's own ephemeral node, so it goes with the leader's session.
    for (;;) {
      const stat = await this.sessions.call(`read ${path}`, () => latch.client.exists(path));
      const ours = stat !== undefined && BigInt.asUintN(64, stat.ephemeralOwner).toString(16).padStart(16, '0') === latch.client.sessionId;
      const ops =
        stat === undefined
          ? [{ type: 'create' as const, path, data, mode: 'ephemeral' as const }]
          : ours
            ? [{ type: 'set' as const, path, data, version: stat.version }]
            : [{ type: 'delete' as const, path, version: stat.version }, { type: 'create' as const, path, data, mode: 'ephemeral' as const }];
      try {
        await fencedMulti(this.sessions, this.layout, info.token, what, ops, latch.client);
        return;
      } catch (err) {
        if (isUnavailable(err)) throw this.sessions.unavailable(`cannot publish ${what}`, err);
        if (!failedAt(err, 1, 'NONODE', 'NODEEXISTS', 'BADVERSION')) throw err;
      }
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return this.chain;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    for (const u of this.unsubscribe.splice(0)) u();
    await this.enqueue(async () => {
      const latch = this.latch;
      this.latch = undefined;
      if (latch !== undefined) await this.leave(latch);
      this.revoke('leadership given up');
      this.contender = undefined;
    });
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(step).catch((err: unknown) => {
      this.logger.warn('leader election step failed; trying again', { component: this.component, error: describeError(err) });
      clearTimeout(this.retryTimer);
      if (!this.stopped) this.retryTimer = setTimeout(() => void this.enqueue(() => (this.latch === undefined ? this.join() : this.check())), RETRY_MS);
    });
    return this.chain;
  }

  private async join(): Promise<void> {
    if (this.stopped || this.latch !== undefined) return;
    const client = await this.sessions.current();
    const dir = this.layout.election(this.component);
    await ensurePath(client, dir);
    const data = encodeRecord({ contender: this.contenderId, host: hostname(), pid: process.pid });
    let path: string;
    try {
      path = await client.create(`${dir}/${LATCH_PREFIX}`, data, { mode: 'ephemeral_sequential' });
    } catch (err) {
      if (!isZooKeeperError(err, 'CONNECTIONLOSS')) throw err;
      // The latch may exist without our knowing its name: find it by our id, or the next try makes one.
      const found = await this.findOwnLatch(client, dir);
      if (found === undefined) throw err;
      path = found;
    }
    const name = path.slice(dir.length + 1);
    this.latch = { path, name, client };
    this.logger.debug('joined the leader election', { component: this.component, latch: path });
    await this.removeStaleLatches(client, dir, path);
    await this.check();
  }

  /**
   * Our latches of an earlier session this process counts as lost. ZooKeeper may still keep
   * that session — a server resumed after a freeze renews it from the pings that queued up —
   * and with it the latch, which would hold every contender back for another session timeout
   * (and, as the lowest, block the election). Its term is over here already, so it goes now.
   */
  private async removeStaleLatches(client: ZooKeeperClient, dir: string, current: string): Promise<void> {
    for (const { path, session } of await this.ownLatches(client, dir)) {
      if (path === current || session === client.sessionId) continue;
      await client.delete(path).then(
        () => this.logger.info('removed a latch of a lost session', { component: this.component, latch: path }),
        (err: unknown) => {
          if (!isZooKeeperError(err, 'NONODE')) throw err;
        },
      );
    }
  }

  /** Our latch of the current session. */
  private async findOwnLatch(client: ZooKeeperClient, dir: string): Promise<string | undefined> {
    return (await this.ownLatches(client, dir)).find((l) => l.session === client.sessionId)?.path;
  }

  /** The latches whose data names this contender, lowest first, with the session that owns each. */
  private async ownLatches(client: ZooKeeperClient, dir: string): Promise<{ path: string; session: string }[]> {
    const out: { path: string; session: string }[] = [];
    const names = (await client.getChildren(dir)).filter((n) => n.startsWith(LATCH_PREFIX)).sort((a, b) => latchSequence(a) - latchSequence(b));
    for (const name of names) {
      try {
        const { data, stat } = await client.getData(`${dir}/${name}`);
        if ((JSON.parse(data.toString('utf8')) as { contender?: string }).contender === this.contenderId) {
          out.push({ path: `${dir}/${name}`, session: BigInt.asUintN(64, stat.ephemeralOwner).toString(16).padStart(16, '0') });
        }
      } catch {
        // gone meanwhile, or not one of ours
      }
    }
    return out;
  }

  /** Leads when ours is the lowest latch; otherwise watches the one just below it. */
  private async check(): Promise<void> {
    const latch = this.latch;
    if (this.stopped || latch === undefined) return;
    const dir = this.layout.election(this.component);
    for (;;) {
      const names = (await latch.client.getChildren(dir))
        .filter((n) => Number.isFinite(latchSequence(n)))
        .sort((a, b) => latchSequence(a) - latchSequence(b));
      if (this.latch !== latch) return;
      const at = names.indexOf(latch.name);
      if (at < 0) {
        // Deleted under us (by an operator): the term is over; contend again with a new latch.
        this.latch = undefined;
        this.revoke(`its latch ${latch.path} was deleted`);
        if (!this.stopped) await this.join();
        return;
      }
      const watched = at === 0 ? latch.path : `${dir}/${names[at - 1] ?? ''}`;
      const stat = await latch.client.exists(watched, this.onWatch);
      if (this.latch !== latch) return;
      if (stat === undefined) continue;
      if (at === 0 && this.token === undefined) this.grant(this.layout.tokenOf(this.component, latch.name));
      return;
    }
  }

  private async leave(latch: Latch): Promise<void> {
    const info = this.layout.info(this.component);
    try {
      if (this.token !== undefined) {
        const { data, stat } = await latch.client.getData(info).catch(() => ({ data: Buffer.alloc(0), stat: undefined }));
        if (stat !== undefined && decodeLeaderInfo(data.toString('utf8'))?.token === this.token) {
          await latch.client.multi([{ type: 'delete', path: info, version: stat.version }, { type: 'delete', path: latch.path }]);
          return;
        }
      }
      await latch.client.delete(latch.path);
    } catch (err) {
      // Gone already, or the session is: either way the latch no longer counts.
      this.logger.debug('leaving the election', { component: this.component, latch: latch.path, error: describeError(err) });
      await latch.client.delete(latch.path).catch(() => undefined);
    }
  }

  private sessionLost(reason: string): void {
    this.latch = undefined;
    this.revoke(reason);
  }

  private grant(token: LeaderToken): void {
    this.token = token;
    this.logger.info('leadership granted', { component: this.component, token });
    this.call(() => this.contender?.grantLeadership(token));
  }

  private revoke(reason: string): void {
    const token = this.token;
    if (token === undefined) return;
    this.token = undefined;
    this.logger.info('leadership revoked', { component: this.component, token, reason });
    this.call(() => this.contender?.revokeLeadership(token, reason));
  }

  private call(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.logger.error('a leader contender threw', { component: this.component, error: describeError(err) });
    }
  }
}
