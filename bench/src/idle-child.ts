/**
 * One run of the idle-subtasks bench, in a process of its own so that its RSS starts from a
 * fresh Node (the harness spawns it; see idle.ts). Runs the idle job (jobs/idle.ts) at the given
 * parallelism, waits until every subtask has reported its heap, reads the process's RSS and
 * thread count, releases the job and prints one JSON line (IdleChildResult) on stdout.
 *
 * Usage: node dist/idle-child.js <jobFile> <parallelism>
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { runJob } from './engine.js';
import { readHeapAfterGc } from './jobs/heap.js';
import { RELEASE_FILE, type IdleHeapReport } from './jobs/idle.js';

export interface IdleChildResult {
  parallelism: number;
  subtasks: number;
  threadsBefore: number;
  threadsIdle: number;
  rssBeforeBytes: number;
  rssIdleBytes: number;
  /** Sums over every subtask's isolate, each read after a forced GC. */
  heapUsedBytes: number;
  heapTotalBytes: number;
  afterGc: boolean;
  /** From submitting the job until every subtask had reported. */
  startupMs: number;
  status: string;
  error?: string;
}

/** How long all subtasks may take to come up (hundreds of threads on two busy cores are slow). */
const STARTUP_TIMEOUT_MS = 10 * 60_000;

function threadCount(): number {
  try {
    const m = /^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m === null ? NaN : Number(m[1]);
  } catch {
    return NaN;
  }
}

/**
 * `sluice run` compiles the job first, and the large buffers that frees raise glibc's dynamic
 * mmap threshold (to the largest freed block below 32 MiB); from then on, zero-filled
 * allocations below it come from the malloc heap, written in full and resident at once. Freeing
 * one 16 MiB block here puts this process in the same state, so the figures are those of a run.
 */
function raiseMallocMmapThreshold(): void {
  let block: Uint8Array | undefined = new Uint8Array(16 * 2 ** 20);
  block[0] = 1;
  block = undefined;
  readHeapAfterGc();
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<IdleChildResult> {
  const [jobFile, pArg] = process.argv.slice(2);
  const parallelism = Number(pArg);
  if (jobFile === undefined || !Number.isSafeInteger(parallelism) || parallelism < 1) throw new Error('usage: idle-child.js <jobFile> <parallelism>');
  const dir = mkdtempSync(join(os.tmpdir(), `sluice-bench-idle-p${parallelism}-`));
  const subtasks = 2 * parallelism;
  try {
    raiseMallocMmapThreshold();
    readHeapAfterGc();
    const rssBeforeBytes = process.memoryUsage().rss;
    const threadsBefore = threadCount();
    const started = Date.now();
    let ended: string | undefined;
    const result = runJob(jobFile, { parallelism, params: { statsDir: dir } });
    void result.then(
      (r) => (ended = r.status),
      (e: unknown) => (ended = `error: ${String(e)}`),
    );
    const reportFiles = (): string[] => readdirSync(dir).filter((f) => f.endsWith('.json'));
    while (reportFiles().length < subtasks) {
      if (ended !== undefined) throw new Error(`the idle job ended (${ended}) before all ${subtasks} subtasks reported`);
      if (Date.now() - started > STARTUP_TIMEOUT_MS) throw new Error(`only ${reportFiles().length} of ${subtasks} subtasks came up within ${STARTUP_TIMEOUT_MS} ms`);
      await sleep(50);
    }
    const startupMs = Date.now() - started;
    // Let the last subtasks finish setting up after their report.
    await sleep(1_000);
    readHeapAfterGc();
    const rssIdleBytes = process.memoryUsage().rss;
    const threadsIdle = threadCount();
    const reports = reportFiles().map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as IdleHeapReport);
    writeFileSync(join(dir, RELEASE_FILE), '');
    const r = await result;
    return {
      parallelism,
      subtasks,
      threadsBefore,
      threadsIdle,
      rssBeforeBytes,
      rssIdleBytes,
      heapUsedBytes: reports.reduce((n, x) => n + x.heapUsedBytes, 0),
      heapTotalBytes: reports.reduce((n, x) => n + x.heapTotalBytes, 0),
      afterGc: reports.every((x) => x.afterGc),
      startupMs,
      status: r.status,
      ...(r.error === undefined ? {} : { error: r.error.message }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
  },
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
