/**
 * The one way to open the high-availability services of a process, whichever the mode. With
 * ZooKeeper it resolves once a session is up (HA_UNAVAILABLE naming the quorum otherwise).
 */
import { ConfigurationError, type Logger, silentLogger } from '@sluice/common';
import { createLocalHighAvailabilityServices } from './local/local-services.js';
import { resolveZooKeeperOptions } from './options.js';
import type { HighAvailabilityOptions, HighAvailabilityServices } from './services.js';
import { createZooKeeperHighAvailabilityServices } from './zookeeper/zk-services.js';

export async function createHighAvailabilityServices(options: HighAvailabilityOptions, logger: Logger = silentLogger): Promise<HighAvailabilityServices> {
  switch (options.mode) {
    case 'none':
      if (typeof options.directory !== 'string' || options.directory === '') throw new ConfigurationError('high availability none: a directory is needed');
      return createLocalHighAvailabilityServices({ directory: options.directory, logger: logger.child('ha') });
    case 'zookeeper':
      return createZooKeeperHighAvailabilityServices(resolveZooKeeperOptions(options), logger.child('ha'));
    default:
      throw new ConfigurationError(`high availability: the mode ${JSON.stringify((options as { mode: unknown }).mode)} is not one of none, zookeeper`);
  }
}
