/**
 * @sluice/examples/nexmark — the Nexmark benchmark model: event types, the deterministic
 * generator and its source wiring, the measuring sinks and throughput probes, the report files the bench
 * harness reads back, and the per-record functions of the stateless queries. The queries themselves are job files under `queries/`.
 */
export * from './model.js';
export * from './config.js';
export * from './generator.js';
export * from './price.js';
export * from './source.js';
export * from './sinks.js';
export * from './probe.js';
export * from './probed-source.js';
export * from './histogram.js';
export * from './reports.js';
export * from './query-functions.js';
