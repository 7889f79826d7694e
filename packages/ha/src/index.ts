/**
 * @sluice/ha: what must outlive a cluster entrypoint — leader election and retrieval, job
 * records, checkpoint id counters and pointers, the Mesos records — behind one interface
 * (services.ts) with two implementations: a local directory (`none`) and ZooKeeper.
 */
export * from './services.js';
export { FencedError, StoreCorruptError, StoreUnavailableError } from './errors.js';
export { createHighAvailabilityServices } from './create.js';
export { createLocalHighAvailabilityServices, type LocalHighAvailabilityOptions } from './local/local-services.js';
export { resolveZooKeeperOptions, ZOOKEEPER_HA_DEFAULTS, type ResolvedZooKeeperOptions } from './options.js';
export { HA_FLAGS, HA_FLAGS_HELP, zooKeeperFromFlags, zooKeeperOptionsOf, type ZooKeeperFlags } from './flags.js';
