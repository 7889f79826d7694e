/**
 * Leadership on a local directory. A term is the file `leader/<component>.token`
 * ({token, pid, hostname}); a contender takes the term when there is none or its holder's process
 * is gone, and keeps it until it stops. A fenced write holds the component's lock, checks that
 * the token file still names the write's token, and writes — so the check and the write are one
 * step for every process on the directory. Followers learn the leader by polling
 * `leader/<component>.json`, which counts only while its token is the current term's.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { describeError, type Logger, writePrivateFile } from '@sluice/common';
import { FencedError } from '../errors.js';
import { checkComponent, decodeLeaderInfo, encodeRecord, sameLeader } from '../records.js';
import type { LeaderContender, LeaderElection, LeaderInfo, LeaderRetrieval, LeaderToken } from '../services.js';
import { type LocalLayout, processAlive, readText, removeFile, withFileLock } from './local-files.js';

/** Tokens of the elections of this process that lead now: a token file with our pid is stale otherwise. */
const heldHere = new Set<LeaderToken>();

interface Term {
  token: LeaderToken;
  pid: number;
  hostname: string;
}

const TOKEN = /^([a-z][a-z0-9_-]{0,63})\/local-[0-9a-f]{16}$/;

function readTerm(layout: LocalLayout, component: string): Term | undefined {
  const text = readText(layout.leaderToken(component), `the leadership term of ${component}`);
  if (text === undefined) return undefined;
  try {
    const t = JSON.parse(text) as Partial<Term>;
    if (typeof t.token === 'string' && Number.isInteger(t.pid) && typeof t.hostname === 'string') return t as Term;
  } catch {
    // a damaged term file is no term: the next contender replaces it
  }
  return undefined;
}

function termAlive(t: Term): boolean {
  return t.pid === process.pid && t.hostname === hostname() ? heldHere.has(t.token) : processAlive(t.pid, t.hostname);
}

/** The current, live term of `component`, if any. */
function liveTerm(layout: LocalLayout, component: string): Term | undefined {
  const t = readTerm(layout, component);
  return t !== undefined && termAlive(t) ? t : undefined;
}

/**
 * Runs `write` (synchronous) if `token` is the current term of its component; HA_FENCED, with
 * nothing written, otherwise.
 */
export async function fencedWrite<T>(layout: LocalLayout, token: LeaderToken, what: string, write: () => T): Promise<T> {
  const component = TOKEN.exec(token)?.[1];
  if (component === undefined) throw new FencedError(token, `refused to write ${what}: ${JSON.stringify(token)} is not a leadership token of the local store ${layout.directory}`);
  return withFileLock(layout.lock(component), () => {
    const current = readTerm(layout, component);
    if (current?.token !== token) {
      const now = current === undefined ? 'no term is current' : `the current term is ${current.token}`;
      throw new FencedError(token, `refused to write ${what}: the leadership term ${token} of ${component} is over (${now}); only the current leader may write`);
    }
    return write();
  });
}

export class LocalLeaderElection implements LeaderElection {
  private contender: LeaderContender | undefined;
  private token: LeaderToken | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopping = false;

  constructor(
    private readonly layout: LocalLayout,
    private readonly component: string,
    private readonly pollIntervalMs: number,
    private readonly logger: Logger,
  ) {
    checkComponent(component);
  }

  async start(contender: LeaderContender): Promise<void> {
    if (this.contender !== undefined) throw new Error(`the leader election of ${this.component} was started already`);
    this.contender = contender;
    this.timer = setInterval(() => void this.poll(), this.pollIntervalMs);
    await this.poll();
  }

  async confirmLeadership(info: LeaderInfo): Promise<void> {
    if (info.token !== this.token) throw new FencedError(info.token, `refused to publish ${this.component}'s leader ${info.address}: ${info.token} is not the term this contender holds`);
    await fencedWrite(this.layout, info.token, `the leader of ${this.component}`, () => {
      writePrivateFile(this.layout.leaderInfo(this.component), encodeRecord(info), `the leader of ${this.component}`);
    });
  }

  hasLeadership(token: LeaderToken): boolean {
    return this.token !== undefined && this.token === token;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
    const token = this.token;
    if (token !== undefined) {
      await withFileLock(this.layout.lock(this.component), () => {
        if (readTerm(this.layout, this.component)?.token !== token) return;
        const info = decodeLeaderInfo(readText(this.layout.leaderInfo(this.component), 'the leader') ?? '');
        if (info?.token === token) removeFile(this.layout.leaderInfo(this.component));
        removeFile(this.layout.leaderToken(this.component));
      });
      this.revoke('leadership given up');
    }
    this.contender = undefined;
  }

  /** Takes the term when it is free; gives it up when the token file no longer names ours. */
  private poll(): Promise<void> {
    if (this.inFlight !== undefined || this.stopping || this.contender === undefined) return this.inFlight ?? Promise.resolve();
    this.inFlight = this.step().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async step(): Promise<void> {
    try {
      if (this.token !== undefined) {
        const current = readTerm(this.layout, this.component)?.token;
        if (current !== this.token) this.revoke(`the term file ${this.layout.leaderToken(this.component)} names ${current ?? 'no term'} now`);
        return;
      }
      const token = `${this.component}/local-${randomBytes(8).toString('hex')}`;
      const won = await withFileLock(this.layout.lock(this.component), () => {
        if (liveTerm(this.layout, this.component) !== undefined) return false;
        const term: Term = { token, pid: process.pid, hostname: hostname() };
        writePrivateFile(this.layout.leaderToken(this.component), encodeRecord(term), `the leadership term of ${this.component}`);
        heldHere.add(token);
        return true;
      });
      if (won) {
        this.token = token;
        this.logger.info('leadership granted', { component: this.component, token });
        this.call(() => this.contender?.grantLeadership(token));
      }
    } catch (err) {
      this.logger.warn('leader election failed; trying again', { component: this.component, error: describeError(err) });
    }
  }

  private revoke(reason: string): void {
    const token = this.token;
    if (token === undefined) return;
    this.token = undefined;
    heldHere.delete(token);
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

export class LocalLeaderRetrieval implements LeaderRetrieval {
  private listener: ((leader: LeaderInfo | undefined) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private last: LeaderInfo | undefined;

  constructor(
    private readonly layout: LocalLayout,
    private readonly component: string,
    private readonly pollIntervalMs: number,
    private readonly logger: Logger,
  ) {
    checkComponent(component);
  }

  async start(listener: (leader: LeaderInfo | undefined) => void): Promise<void> {
    if (this.listener !== undefined) throw new Error(`the leader retrieval of ${this.component} was started already`);
    this.listener = listener;
    this.last = this.read();
    this.emit(this.last);
    this.timer = setInterval(() => this.poll(), this.pollIntervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.listener = undefined;
  }

  private poll(): void {
    if (this.listener === undefined) return;
    let now: LeaderInfo | undefined;
    try {
      now = this.read();
    } catch (err) {
      this.logger.warn('cannot read the leader', { component: this.component, error: describeError(err) });
      return;
    }
    if (sameLeader(now, this.last)) return;
    this.last = now;
    this.emit(now);
  }

  private read(): LeaderInfo | undefined {
    const term = liveTerm(this.layout, this.component);
    if (term === undefined) return undefined;
    const info = decodeLeaderInfo(readText(this.layout.leaderInfo(this.component), `the leader of ${this.component}`) ?? '');
    return info?.token === term.token ? info : undefined;
  }

  private emit(leader: LeaderInfo | undefined): void {
    try {
      this.listener?.(leader);
    } catch (err) {
      this.logger.error('a leader listener threw', { component: this.component, error: describeError(err) });
    }
  }
}
