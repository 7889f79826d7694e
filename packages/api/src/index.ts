/**
 * @sluice/api — the DataStream API: environment, streams, functions, windows, state descriptors,
 * watermark strategies, the source and sink contracts, and StreamGraph → JobGraph translation.
 * Pure: no I/O and no threads. The runtime executes what this package describes.
 */
export * from './functions.js';
export * from './output-tag.js';
export * from './state.js';
export * from './windows.js';
export * from './watermarks.js';
export * from './source.js';
export * from './sink.js';
export * from './serializer.js';
export * from './spec.js';
