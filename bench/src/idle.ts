/**
 * The idle-subtasks bench: what a deployed subtask costs while it does nothing. Each run is a
 * child process (idle-child.ts) running the idle job at one parallelism, so every reading starts
 * from a fresh Node. Per subtask: the growth of the process's RSS from before the job to all
 * subtasks idle, and the used and committed heap of each subtask's isolate after a forced GC.
 * The RSS growth also holds what is fixed per job (JobMaster, cluster, the job module loaded on
 * the main thread), so at small parallelism it overstates the cost per subtask.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { IdleChildResult } from './idle-child.js';
import type { BenchRun } from './runs.js';

const CHILD = fileURLToPath(new URL('./idle-child.js', import.meta.url));
const MB = 2 ** 20;

export interface IdleFigures {
  fields: Record<string, number>;
  detail: IdleChildResult;
  jobDurationMs: number;
}

function runChild(jobFile: string, parallelism: number): Promise<IdleChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, jobFile, String(parallelism)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || last === '') reject(new Error(`idle run at parallelism ${parallelism} exited with ${code}: ${err.trim().slice(-500) || 'no output'}`));
      else resolve(JSON.parse(last) as IdleChildResult);
    });
  });
}

export async function executeIdle(run: BenchRun): Promise<IdleFigures> {
  const started = Date.now();
  const r = await runChild(run.jobFile, run.parallelism);
  if (r.status !== 'FINISHED') throw new Error(`the idle job ended ${r.status}: ${r.error ?? 'no error reported'}`);
  const growth = r.rssIdleBytes - r.rssBeforeBytes;
  return {
    jobDurationMs: Date.now() - started,
    detail: r,
    fields: {
      subtasks: r.subtasks,
      threads: r.threadsIdle - r.threadsBefore,
      rss_mb: r.rssIdleBytes / MB,
      rss_growth_mb: growth / MB,
      rss_per_subtask_mb: growth / r.subtasks / MB,
      heap_per_subtask_mb: r.heapUsedBytes / r.subtasks / MB,
      heap_committed_per_subtask_mb: r.heapTotalBytes / r.subtasks / MB,
      startup_s: r.startupMs / 1000,
    },
  };
}
