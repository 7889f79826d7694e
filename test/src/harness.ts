/**
 * Test harness: compiles a job file from test/src/jobs the way the CLI does, and runs it on a
 * fresh embedded cluster (real worker threads), returning the JobResult.
 */
import { fileURLToPath } from 'node:url';
import { dirname, isAbsolute, join } from 'node:path';
import { compileJob } from '@sluice/cli';
import { runEmbedded, type EmbeddedRunOptions } from '@sluice/minicluster';
import type { JobResult } from '@sluice/protocol';

const HERE = dirname(fileURLToPath(import.meta.url));
const JOBS = join(HERE, 'jobs');

/** A job file in test/src/jobs; an absolute path is taken as it is. */
export function jobPath(file: string): string {
  return isAbsolute(file) ? file : join(JOBS, file);
}

/** A job of the examples (examples/src), as users run them. */
export function examplePath(file: string): string {
  return join(HERE, '..', '..', 'examples', 'src', file);
}

export interface RunJobOptions {
  parallelism?: number;
  params?: Record<string, string>;
  bufferTimeoutMs?: number;
  embedded?: Partial<EmbeddedRunOptions>;
}

export async function runJob(file: string, options: RunJobOptions = {}): Promise<JobResult> {
  const entry = await compileJob(jobPath(file));
  return runEmbedded(
    {
      entry,
      source: jobPath(file),
      params: options.params ?? {},
      ...(options.parallelism === undefined ? {} : { parallelism: options.parallelism }),
      ...(options.bufferTimeoutMs === undefined ? {} : { config: { bufferTimeoutMs: options.bufferTimeoutMs } }),
    },
    options.embedded ?? {},
  );
}

export function sortBy<T>(items: readonly T[], key: (t: T) => string | number): T[] {
  return [...items].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}
