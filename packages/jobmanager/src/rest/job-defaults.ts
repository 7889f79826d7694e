/**
 * The job defaults a REST server hands out at GET /config, checked once when the server starts:
 * they come from an operator's flags, and every client that submits to the cluster trusts them.
 * Pure.
 */
import { isAbsolute } from 'node:path';
import { ConfigurationError } from '@sluice/common';
import type { JobDefaults } from './api.js';

/** A checked, frozen copy of `defaults` without absent fields; ConfigurationError naming the bad one. */
export function resolveJobDefaults(defaults: JobDefaults | undefined): Readonly<JobDefaults> {
  const out: JobDefaults = {};
  if (defaults === undefined) return Object.freeze(out);
  const bad = (field: string, what: string, value: unknown): ConfigurationError =>
    new ConfigurationError(`REST API: job default ${field} must be ${what}, got ${JSON.stringify(value) ?? String(value)}`);
  const { parallelism, checkpointDir, checkpointIntervalMs, params } = defaults;
  if (parallelism !== undefined) {
    if (!Number.isSafeInteger(parallelism) || parallelism < 1) throw bad('parallelism', 'a positive integer', parallelism);
    out.parallelism = parallelism;
  }
  if (checkpointDir !== undefined) {
    if (typeof checkpointDir !== 'string' || !isAbsolute(checkpointDir)) throw bad('checkpointDir', 'an absolute path (the cluster resolves no relative one)', checkpointDir);
    out.checkpointDir = checkpointDir;
  }
  if (checkpointIntervalMs !== undefined) {
    if (!Number.isSafeInteger(checkpointIntervalMs) || checkpointIntervalMs < 0) throw bad('checkpointIntervalMs', 'a whole number of milliseconds ≥ 0 (0: no checkpoints)', checkpointIntervalMs);
    out.checkpointIntervalMs = checkpointIntervalMs;
  }
  if (params !== undefined) {
    if (typeof params !== 'object' || params === null || Array.isArray(params)) throw bad('params', 'an object of strings', params);
    const copy: Record<string, string> = {};
    for (const [key, value] of Object.entries(params)) {
      if (key === '' || key.includes('=')) throw bad('params', "keys that are not empty and hold no '='", key);
      if (typeof value !== 'string') throw bad(`params.${key}`, 'a string', value);
      copy[key] = value;
    }
    if (Object.keys(copy).length > 0) out.params = Object.freeze(copy) as Record<string, string>;
  }
  return Object.freeze(out);
}
