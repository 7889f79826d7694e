/**
 * @sluice/api — the DataStream API: environment, streams, functions, windows, state descriptors,
 * watermark strategies, the source and sink contracts, and StreamGraph → JobGraph translation.
 * Pure apart from `loadJob`, which imports a job module: no other I/O and no threads. The
 * runtime executes what this package describes.
 */
export * from './functions.js';
export * from './output-tag.js';
export * from './state.js';
export * from './windows.js';
export * from './watermarks.js';
export * from './source.js';
export * from './sink.js';
export * from './metrics.js';
export * from './serializer.js';
export * from './spec.js';
export { resolveJobConfig, validateJobConfigOverrides, UPPER_BOUND_MAX_PARALLELISM } from './job-config.js';
export * from './streamgraph.js';
export * from './jobgraph.js';
export * from './plan.js';
export * from './environment.js';
export { DataStream, SingleOutputStreamOperator } from './datastream.js';
export * from './datastream-sink.js';
export * from './keyed-stream.js';
export { WindowedStream } from './windowed-stream.js';
export { AllWindowedStream, AllWindowFunctionAdapter } from './all-windowed-stream.js';
export * from './connected-streams.js';
export * from './seeded-random.js';
export * from './generator-source.js';
export * from './collection-source.js';
export { loadJob, buildJob, importJobBuilder, type LoadedJob, type JobBuilder } from './job-loader.js';
