/**
 * Master detection: which masters a SUBSCRIBE should try. A fixed list is tried in the order
 * given (the connection puts the last known leader first); ZooKeeper names the leader itself and
 * says when it changes (zookeeper-detector.ts).
 */
import type { Logger } from '@sluice/common';
import type { MasterEndpoint, MasterLocation } from './location.js';
import { ZooKeeperMasterDetector } from './zookeeper-detector.js';

export interface MasterDetector {
  /**
   * The masters to try for the next SUBSCRIBE, in order. Waits while none is known (ZooKeeper
   * with no master registered); resolves `[]` once the detector is closed.
   */
  masters(): Promise<readonly MasterEndpoint[]>;
  /** Called with each new leader (or undefined when none is registered). Returns the unsubscribe function. */
  onLeaderChange(listener: (leader: MasterEndpoint | undefined) => void): () => void;
  close(): Promise<void>;
}

/** The masters named in `--master`; they never change. */
export class StaticMasterDetector implements MasterDetector {
  private closed = false;

  constructor(private readonly list: readonly MasterEndpoint[]) {}

  masters(): Promise<readonly MasterEndpoint[]> {
    return Promise.resolve(this.closed ? [] : this.list);
  }

  onLeaderChange(): () => void {
    return () => {};
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

export interface MasterDetectorOptions {
  /** Scheme of the masters found in ZooKeeper (their MasterInfo does not say). */
  readonly scheme: 'http' | 'https';
  readonly logger: Logger;
  /** ZooKeeper session timeout (ms). */
  readonly zookeeperSessionTimeoutMs?: number;
  /** First delay before reconnecting to an unreachable ZooKeeper; doubles up to `zookeeperRetryMaxMs`. */
  readonly zookeeperRetryInitialMs?: number;
  readonly zookeeperRetryMaxMs?: number;
}

export function createMasterDetector(location: MasterLocation, options: MasterDetectorOptions): MasterDetector {
  if (location.kind === 'list') return new StaticMasterDetector(location.masters);
  return new ZooKeeperMasterDetector({
    servers: location.servers,
    path: location.path,
    scheme: options.scheme,
    logger: options.logger,
    ...(location.digest === undefined ? {} : { digest: location.digest }),
    ...(options.zookeeperSessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: options.zookeeperSessionTimeoutMs }),
    ...(options.zookeeperRetryInitialMs === undefined ? {} : { retryInitialMs: options.zookeeperRetryInitialMs }),
    ...(options.zookeeperRetryMaxMs === undefined ? {} : { retryMaxMs: options.zookeeperRetryMaxMs }),
  });
}
