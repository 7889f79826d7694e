/**
 * @sluice/zookeeper: Sluice's own ZooKeeper client, from the wire protocol (jute records over
 * TCP or TLS). It owns one session per client: connect, heartbeat, reconnection across the
 * ensemble with SetWatches, and the Curator-style states HA leadership is built on (a suspended
 * connection is not a lost session). It talks only to ZooKeeper servers; the HA store builds on it.
 */
export { ZooKeeperClient, ZOOKEEPER_CLIENT_DEFAULTS, type Op, type OpResult, type ZooKeeperClientOptions } from './client.js';
export { isZooKeeperError, ZooKeeperError } from './errors.js';
export type { CreateMode, Stat } from './protocol.js';
export type { ZooKeeperState } from './session.js';
export type { Watcher, WatchEvent } from './watches.js';
