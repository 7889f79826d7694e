/** The one way to open the high-availability services of a process, whichever the mode. */
import { ConfigurationError, type Logger, silentLogger } from '@sluice/common';
import { createLocalHighAvailabilityServices } from './local/local-services.js';
import type { HighAvailabilityOptions, HighAvailabilityServices } from './services.js';

export async function createHighAvailabilityServices(options: HighAvailabilityOptions, logger: Logger = silentLogger): Promise<HighAvailabilityServices> {
  switch (options.mode) {
    case 'none':
      if (typeof options.directory !== 'string' || options.directory === '') throw new ConfigurationError('high availability none: a directory is needed');
      return createLocalHighAvailabilityServices({ directory: options.directory, logger: logger.child('ha') });
    case 'zookeeper':
      throw new ConfigurationError('high availability zookeeper: not built yet');
    default:
      throw new ConfigurationError(`high availability: the mode ${JSON.stringify((options as { mode: unknown }).mode)} is not one of none, zookeeper`);
  }
}
