/**
 * @sluice/common — what every Sluice package shares and nothing else: the error hierarchy,
 * key-group hashing, retry with backoff, logging and clocks, storage directories and the local
 * cache of job bundles. No dependencies on other packages.
 */
export * from './errors.js';
export * from './keygroups.js';
export * from './retry.js';
export * from './logger.js';
export * from './clock.js';
export * from './ids.js';
export * from './storage-directory.js';
export * from './artifact-cache.js';
export * from './private-file.js';
