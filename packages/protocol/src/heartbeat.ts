/**
 * Heartbeats between two components, run the same way on both sides of every pair
 * (TaskManager↔ResourceManager, TaskManager↔JobMaster, JobMaster↔ResourceManager): every
 * interval each side sends a heartbeat to each peer it monitors, and records the ones it
 * receives; a peer unheard of for longer than the timeout is declared lost. A closed connection
 * (`peerConnectionClosed`, called by a network RpcService) declares its peers lost at once.
 *
 * The manager owns no component state: its owner sends the heartbeats (with whatever payload the
 * pair carries, e.g. a full slot report) and decides what a loss means. Everything it does runs
 * through the owner's `run` (its mailbox), so losses never interleave with the owner's actions.
 */
import { SluiceError, type Clock } from '@sluice/common';

export interface HeartbeatOptions {
  /** How often heartbeats are sent, in ms. */
  heartbeatIntervalMs: number;
  /** A peer unheard of this long is lost, in ms; must exceed the interval. */
  heartbeatTimeoutMs: number;
}

/** Flink's defaults: beats every 10 s, a peer silent for 50 s is lost. */
export const DEFAULT_HEARTBEAT_OPTIONS: Readonly<HeartbeatOptions> = Object.freeze({ heartbeatIntervalMs: 10_000, heartbeatTimeoutMs: 50_000 });

/** Fills in defaults and checks the pair; `who` names the component in the error. */
export function resolveHeartbeatOptions(options: Partial<HeartbeatOptions>, who: string): HeartbeatOptions {
  const o = { ...DEFAULT_HEARTBEAT_OPTIONS };
  for (const k of ['heartbeatIntervalMs', 'heartbeatTimeoutMs'] as const) {
    const v = options[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new SluiceError('CONFIGURATION', `${who}: ${k} must be a positive number of milliseconds, got ${String(v)}`);
    }
    o[k] = v;
  }
  if (o.heartbeatTimeoutMs <= o.heartbeatIntervalMs) {
    throw new SluiceError(
      'CONFIGURATION',
      `${who}: heartbeatTimeoutMs (${o.heartbeatTimeoutMs}) must be larger than heartbeatIntervalMs (${o.heartbeatIntervalMs}), or every peer is lost between two heartbeats; a timeout of 3–5 intervals is usual`,
    );
  }
  return o;
}

export interface HeartbeatTarget {
  /** RPC address of the peer, matched by `peerConnectionClosed`. */
  readonly address: string;
  /** Sends one heartbeat to the peer; the owner delivers it (and handles refusals) on its own. */
  sendHeartbeat(): void;
}

export interface HeartbeatManagerOptions<T extends HeartbeatTarget> extends HeartbeatOptions {
  clock: Clock;
  /** Runs an action of the manager on the owner's mailbox. */
  run(action: () => void): void;
  /** A monitored peer is lost (no longer monitored from here on). */
  onPeerLost(peerId: string, target: T, reason: string): void;
  /** Tests drive `tick()` by hand (with a manual clock) instead of a timer. */
  manualTicks?: boolean;
}

interface Monitored<T> {
  readonly target: T;
  lastHeardMs: number;
}

export class HeartbeatManager<T extends HeartbeatTarget = HeartbeatTarget> {
  private readonly peers = new Map<string, Monitored<T>>();
  private timer: NodeJS.Timeout | undefined;
  private lastTickMs: number | undefined;
  private stopped = false;

  constructor(private readonly options: HeartbeatManagerOptions<T>) {
    resolveHeartbeatOptions(options, 'heartbeats');
  }

  get intervalMs(): number {
    return this.options.heartbeatIntervalMs;
  }

  get timeoutMs(): number {
    return this.options.heartbeatTimeoutMs;
  }

  /** Starts (or restarts, after a reconnect) monitoring `peerId`, counting it heard of now, and beats at once. */
  monitor(peerId: string, target: T): void {
    if (this.stopped) return;
    this.peers.set(peerId, { target, lastHeardMs: this.options.clock.nowMs() });
    this.ensureTimer();
    target.sendHeartbeat();
  }

  unmonitor(peerId: string): void {
    this.peers.delete(peerId);
  }

  isMonitored(peerId: string): boolean {
    return this.peers.has(peerId);
  }

  target(peerId: string): T | undefined {
    return this.peers.get(peerId)?.target;
  }

  monitoredPeers(): string[] {
    return [...this.peers.keys()];
  }

  /** Records a heartbeat from `peerId`; false when the peer is not monitored (unknown or already lost). */
  receiveHeartbeat(peerId: string): boolean {
    const p = this.peers.get(peerId);
    if (p === undefined) return false;
    p.lastHeardMs = this.options.clock.nowMs();
    return true;
  }

  /**
   * The connection to `address` closed: every peer there is lost now, not after the timeout —
   * except those `spare` vouches for (another channel says the peer's process runs), which stay
   * monitored: they are lost only if no heartbeat arrives within the timeout.
   */
  peerConnectionClosed(address: string, spare?: (peerId: string) => boolean): void {
    this.options.run(() => {
      // `address` is an endpoint's address or its process's (`sluice://host:port`): a closed
      // connection loses every endpoint behind it.
      const prefix = address.endsWith('/') ? address : `${address}/`;
      for (const [peerId, p] of [...this.peers]) {
        if (p.target.address !== address && !p.target.address.startsWith(prefix)) continue;
        if (spare?.(peerId) !== true) this.lose(peerId, p, `its connection (${address}) closed`);
      }
    });
  }

  /** One period: beats to every peer, then declares the ones silent past the timeout lost. */
  tick(): void {
    if (this.stopped) return;
    const now = this.options.clock.nowMs();
    // A tick more than a period late means this thread was held up (a long GC, an event loop kept
    // busy): it could not take in heartbeats meanwhile, so that time is not held against peers.
    const late = this.lastTickMs === undefined ? 0 : now - this.lastTickMs - this.options.heartbeatIntervalMs;
    this.lastTickMs = now;
    if (late > this.options.heartbeatIntervalMs) for (const p of this.peers.values()) p.lastHeardMs += late;
    for (const [peerId, p] of [...this.peers]) {
      const silent = now - p.lastHeardMs;
      if (silent > this.options.heartbeatTimeoutMs) this.lose(peerId, p, `no heartbeat for ${Math.round(silent)} ms (timeout ${this.options.heartbeatTimeoutMs} ms)`);
      else p.target.sendHeartbeat();
    }
  }

  stop(): void {
    this.stopped = true;
    this.peers.clear();
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private lose(peerId: string, p: Monitored<T>, reason: string): void {
    if (this.peers.get(peerId) !== p) return;
    this.peers.delete(peerId);
    this.options.onPeerLost(peerId, p.target, reason);
  }

  private ensureTimer(): void {
    if (this.timer !== undefined || this.options.manualTicks === true) return;
    this.lastTickMs = this.options.clock.nowMs();
    this.timer = setInterval(() => this.options.run(() => this.tick()), this.options.heartbeatIntervalMs);
    this.timer.unref();
  }
}
