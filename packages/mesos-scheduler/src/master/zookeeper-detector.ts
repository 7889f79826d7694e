/**
 * The leading Mesos master from ZooKeeper (`zk://…/mesos`). Mesos masters contend by creating
 * ephemeral sequential znodes `json.info_<seq>` under the path, each holding the master's
 * MasterInfo as JSON; the one with the lowest sequence number leads. The detector reads the
 * children with a watch, so each change (a master gone, a new one registered) is read again, and
 * says when the leader changes. Older masters' protobuf `info_<seq>` nodes are not read (Mesos
 * writes the JSON form since 0.24).
 *
 * ZooKeeper trouble never ends detection: an unreachable ensemble or a lost session means a new
 * client after a backoff; a suspended connection keeps the last leader (the master may well
 * still lead) until ZooKeeper answers again.
 */
import { describeError, type Logger } from '@sluice/common';
import { isZooKeeperError, ZooKeeperClient } from '@sluice/zookeeper';
import type { MasterDetector } from './detector.js';
import { masterAddress, sameMaster, type MasterEndpoint } from './location.js';

const LEADER_NODE = /^json\.info_(\d+)$/;
const LEGACY_NODE = /^info_\d+$/;

export interface ZooKeeperMasterDetectorOptions {
  /** `host:port,host:port` of the ensemble. */
  readonly servers: string;
  /** The znode the masters register under. */
  readonly path: string;
  readonly scheme: 'http' | 'https';
  readonly logger: Logger;
  readonly digest?: string;
  readonly sessionTimeoutMs?: number;
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
}

/** The address in a master's registration, or a sentence saying why there is none. */
export function parseMasterInfo(data: Buffer, scheme: 'http' | 'https'): MasterEndpoint | string {
  let info: unknown;
  try {
    info = JSON.parse(data.toString('utf8'));
  } catch (err) {
    return `not JSON (${describeError(err)})`;
  }
  if (typeof info !== 'object' || info === null) return 'not a JSON object';
  const m = info as { address?: { hostname?: unknown; ip?: unknown; port?: unknown }; hostname?: unknown; ip?: unknown; port?: unknown };
  const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const host = text(m.address?.hostname) ?? text(m.address?.ip) ?? text(m.hostname) ?? ipv4OfNetworkOrder(m.ip);
  const port = typeof m.address?.port === 'number' ? m.address.port : m.port;
  if (host === undefined) return 'MasterInfo names no host (address.hostname, address.ip, hostname or ip)';
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535) return `MasterInfo has no valid port (${String(port)})`;
  return { scheme, host, port, basePath: '' };
}

/** MasterInfo.ip is the IPv4 address as stored in memory on the master: network order, read little-endian. */
function ipv4OfNetworkOrder(ip: unknown): string | undefined {
  if (typeof ip !== 'number' || !Number.isInteger(ip) || ip <= 0 || ip > 0xffffffff) return undefined;
  return [ip & 0xff, (ip >>> 8) & 0xff, (ip >>> 16) & 0xff, ip >>> 24].join('.');
}

export class ZooKeeperMasterDetector implements MasterDetector {
  private readonly log: Logger;
  private client: ZooKeeperClient | undefined;
  private leader: MasterEndpoint | undefined;
  private leaderNode: string | undefined;
  private readonly waiters: Array<(masters: readonly MasterEndpoint[]) => void> = [];
  private readonly listeners = new Set<(leader: MasterEndpoint | undefined) => void>();
  private started = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs: number;
  private reading = false;
  private readAgain = false;
  private warnedLegacy = false;
  /** Whether the lack of a leader has been logged since the last leader. */
  private reportedNone = false;

  constructor(private readonly options: ZooKeeperMasterDetectorOptions) {
    this.log = options.logger;
    this.retryDelayMs = options.retryInitialMs ?? 1_000;
  }

  masters(): Promise<readonly MasterEndpoint[]> {
    if (this.closed) return Promise.resolve([]);
    if (!this.started) {
      this.started = true;
      this.connect();
    }
    if (this.leader !== undefined) return Promise.resolve([this.leader]);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  onLeaderChange(listener: (leader: MasterEndpoint | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    for (const resolve of this.waiters.splice(0)) resolve([]);
    this.listeners.clear();
    const client = this.client;
    this.client = undefined;
    await client?.close();
  }

  private where(): string {
    return `ZooKeeper ${this.options.servers} at ${this.options.path}`;
  }

  private connect(): void {
    if (this.closed) return;
    const client = new ZooKeeperClient({
      connectString: this.options.servers,
      logger: this.log,
      ...(this.options.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: this.options.sessionTimeoutMs }),
      ...(this.options.digest === undefined ? {} : { digest: this.options.digest }),
    });
    this.client = client;
    client.onStateChange((state) => {
      if (state === 'lost' && this.client === client) {
        this.log.warn(`ZooKeeper session lost while watching for the Mesos leader; reconnecting to ${this.where()}`);
        this.reconnectLater(client);
      }
    });
    client.start().then(
      () => {
        this.retryDelayMs = this.options.retryInitialMs ?? 1_000;
        this.read(client);
      },
      (err: unknown) => {
        if (this.client !== client) return;
        this.log.warn(`cannot reach ${this.where()} to find the Mesos leader: ${describeError(err)}; retrying in ${this.retryDelayMs} ms`);
        this.reconnectLater(client);
      },
    );
  }

  private reconnectLater(client: ZooKeeperClient): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    void client.close();
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.options.retryMaxMs ?? 15_000);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** Reads the registrations; a watch firing during a read makes it read once more afterwards. */
  private read(client: ZooKeeperClient): void {
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    void this.readOnce(client).finally(() => {
      this.reading = false;
      if (this.readAgain && this.client === client && !this.closed) {
        this.readAgain = false;
        this.read(client);
      }
    });
  }

  private async readOnce(client: ZooKeeperClient): Promise<void> {
    const path = this.options.path;
    const rewatch = (): void => {
      if (this.client === client && !this.closed) this.read(client);
    };
    try {
      let children: string[];
      try {
        children = await client.getChildren(path, rewatch);
      } catch (err) {
        if (!isZooKeeperError(err, 'NONODE')) throw err;
        // No master has registered yet: wait for the path to appear.
        if ((await client.exists(path, rewatch)) !== undefined) this.readAgain = true;
        this.setLeader(undefined, undefined, `no Mesos master registered in ${this.where()} yet (the path does not exist)`);
        return;
      }
      const contenders = children
        .map((name) => ({ name, seq: LEADER_NODE.exec(name)?.[1] }))
        .filter((c): c is { name: string; seq: string } => c.seq !== undefined)
        .sort((a, b) => Number(a.seq) - Number(b.seq));
      const first = contenders[0];
      if (first === undefined) {
        if (!this.warnedLegacy && children.some((c) => LEGACY_NODE.test(c))) {
          this.warnedLegacy = true;
          this.log.warn(`${this.where()} holds only protobuf 'info_' registrations of Mesos older than 0.24, which Sluice does not read; upgrade the masters`);
        }
        this.setLeader(undefined, undefined, `no Mesos master registered in ${this.where()}`);
        return;
      }
      if (first.name === this.leaderNode && this.leader !== undefined) return;
      let data: Buffer;
      try {
        data = (await client.getData(`${path}/${first.name}`)).data;
      } catch (err) {
        // The leader went between the two reads; the child watch reads again.
        if (isZooKeeperError(err, 'NONODE')) return;
        throw err;
      }
      const leader = parseMasterInfo(data, this.options.scheme);
      if (typeof leader === 'string') {
        this.log.error(`the leading Mesos master's registration ${path}/${first.name} in ZooKeeper ${this.options.servers} is unusable: ${leader}; waiting for another leader`);
        this.setLeader(undefined, first.name, undefined);
        return;
      }
      this.setLeader(leader, first.name, undefined);
    } catch (err) {
      if (this.client !== client || this.closed) return;
      if (isZooKeeperError(err, 'CONNECTIONLOSS')) {
        // The session survives a lost connection; read again once the request can go out.
        this.readAgain = true;
        return;
      }
      if (isZooKeeperError(err, 'SESSIONEXPIRED') || isZooKeeperError(err, 'CLOSED')) return; // the state listener reconnects
      this.log.warn(`reading the Mesos leader from ${this.where()} failed: ${describeError(err)}; retrying`);
      this.reconnectLater(client);
    }
  }

  private setLeader(leader: MasterEndpoint | undefined, node: string | undefined, noneWhy: string | undefined): void {
    const changed = leader === undefined ? this.leader !== undefined : this.leader === undefined || !sameMaster(leader, this.leader);
    this.leader = leader;
    this.leaderNode = node;
    if (leader === undefined && !this.reportedNone) {
      this.reportedNone = true;
      this.log.warn(`${noneWhy ?? `no usable Mesos leader in ${this.where()}`}; waiting for one`);
    }
    if (!changed) return;
    if (leader !== undefined) {
      this.reportedNone = false;
      this.log.info(`Mesos leader from ZooKeeper: ${masterAddress(leader)} (${node ?? ''})`);
      for (const resolve of this.waiters.splice(0)) resolve([leader]);
    }
    for (const listener of [...this.listeners]) listener(leader);
  }
}
