/**
 * Checkpoints and recovery end to end, on real worker threads: a keyed stateful job with a
 * two-phase-commit file sink is killed many times at random moments (a throwing function, a
 * worker thread that exits) and restarts from its latest checkpoint each time; what it
 * committed must be exactly what a failure-free run commits — every record once, state intact,
 * each key's end-of-input timer firing once.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileJob } from '@sluice/cli';
import { silentLogger, type Logger } from '@sluice/common';
import { type CheckpointsResponse } from '@sluice/jobmanager';
import { startEmbeddedCluster } from '@sluice/minicluster';
import { jobPath, runJob } from './harness.js';
import { waitFor } from './leaks.js';
import { committedLines as committed, failureFreeLines as expected, type Line } from './jobs/exactly-once.js';
import { expectedWindows, type WindowLine } from './jobs/exactly-once-windows.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A logger that keeps warning lines (message and fields) and drops the rest. */
function captureWarnings(into: string[]): Logger {
  const logger: Logger = { ...silentLogger, warn: (msg, fields) => into.push(`${msg} ${JSON.stringify(fields ?? {})}`), child: () => logger };
  return logger;
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-eo-'));
  dirs.push(d);
  return d;
}


const order = (a: Line, b: Line): number => a.key - b.key || (a.final ? 1 : 0) - (b.final ? 1 : 0) || a.seq - b.seq;

describe('exactly-once recovery from checkpoints', () => {
  it('commits exactly the failure-free output despite failures injected at random moments', async () => {
    const out = tempDir();
    const events = 300_000;
    const keys = 50;
    const r = await runJob('exactly-once.ts', { parallelism: 2, params: { out, events: String(events), keys: String(keys), failures: '6', rate: '60000' } });
    expect(r.error?.message).toBeUndefined();
    expect(r.status).toBe('FINISHED');
    expect(r.restarts).toBe(6);
    expect(r.lastCheckpoint?.id).toBeGreaterThan(6);
    const lines = committed(out).sort(order);
    const want = expected(events, keys).sort(order);
    expect(lines.length).toBe(want.length);
    expect(lines).toEqual(want);
  }, 120_000);

  it('restores window accumulators and their timers: sliding windows fire exactly once with exact counts despite failures', async () => {
    const out = tempDir();
    const events = 200_000;
    const keys = 40;
    const r = await runJob('exactly-once-windows.ts', { parallelism: 2, params: { out, events: String(events), keys: String(keys), failures: '4', rate: '50000' } });
    expect(r.error?.message).toBeUndefined();
    expect(r.status).toBe('FINISHED');
    expect(r.restarts).toBe(4);
    const byWindow = (a: WindowLine, b: WindowLine): number => a.key.localeCompare(b.key) || a.start - b.start;
    const lines = committed<WindowLine>(out).sort(byWindow);
    const want = expectedWindows(events, keys).sort(byWindow);
    expect(lines.length).toBe(want.length);
    expect(lines).toEqual(want);
  }, 120_000);

  it('takes checkpoints of a job that never fails without changing its output', async () => {
    const out = tempDir();
    const r = await runJob('exactly-once.ts', { parallelism: 2, params: { out, events: '60000', keys: '7', rate: '40000' } });
    expect(r.status).toBe('FINISHED');
    expect(r.restarts).toBeUndefined();
    expect(r.lastCheckpoint?.id).toBeGreaterThan(3);
    expect(committed(out).sort(order)).toEqual(expected(60_000, 7).sort(order));
  }, 60_000);
});

describe('savepoints', () => {
  /** Per key: every sequence number exactly once, counts 1..n once each, and the final line's count and sum. */
  function summarize(lines: Line[]): Map<number, { seqs: number[]; counts: number[]; final: Line[] }> {
    const byKey = new Map<number, { seqs: number[]; counts: number[]; final: Line[] }>();
    for (const l of lines) {
      let e = byKey.get(l.key);
      if (e === undefined) byKey.set(l.key, (e = { seqs: [], counts: [], final: [] }));
      if (l.final) e.final.push(l);
      else {
        e.seqs.push(l.seq);
        e.counts.push(l.count);
      }
    }
    for (const e of byKey.values()) {
      e.seqs.sort((a, b) => a - b);
      e.counts.sort((a, b) => a - b);
    }
    return byKey;
  }

  it.each([1, 4])('stopped at parallelism 2 with a savepoint, resumes at parallelism %i with nothing lost or repeated', async (newParallelism) => {
    const out = tempDir();
    const events = 200_000;
    const keys = 13;
    const params = { out, events: String(events), keys: String(keys), rate: '50000', sourceParallelism: '2', interval: '200' };
    const warnings: string[] = [];
    const embedded = await startEmbeddedCluster({ slotsPerTaskManager: 4, logger: captureWarnings(warnings) });
    try {
      const entry = await compileJob(jobPath('exactly-once.ts'));
      const first = await embedded.submit({ entry, params, parallelism: 2 });
      await waitFor('20,000 committed lines', () => (committed(out).length > 20_000 ? true : undefined));
      const { path } = await embedded.cluster.dispatcher.triggerSavepoint(first.handle.jobId, join(out, 'savepoints'), 'terminate');
      const r1 = await first.handle.result();
      expect(r1.status).toBe('FINISHED');
      expect(existsSync(join(path, '_metadata'))).toBe(true);
      const before = committed(out).length;
      expect(before).toBeLessThan(events);

      const second = await embedded.submit({ entry, params, parallelism: newParallelism }, { restoreFrom: { path } });
      const r2 = await second.handle.result();
      expect(r2.error?.message).toBeUndefined();
      expect(r2.status).toBe('FINISHED');
      // Not drained: event time goes on from where it was, with no warning.
      expect(warnings.filter((w) => w.includes('--drain'))).toEqual([]);
      // Every stateful operator of this job has a uid.
      expect(warnings.filter((w) => w.includes('have no .uid'))).toEqual([]);
    } finally {
      await embedded.close();
    }
    const got = summarize(committed(out));
    const want = summarize(expected(events, keys));
    expect([...got.keys()].sort((a, b) => a - b)).toEqual([...want.keys()].sort((a, b) => a - b));
    for (const [k, w] of want) {
      const g = got.get(k)!;
      expect(g.seqs).toEqual(w.seqs);
      expect(g.counts).toEqual(w.counts);
      expect(g.final.map((l) => [l.count, l.sum])).toEqual(w.final.map((l) => [l.count, l.sum]));
    }
  }, 90_000);

  it('warns at the start of a checkpointed job whose stateful operators have no uid, naming them', async () => {
    const warnings: string[] = [];
    const embedded = await startEmbeddedCluster({ slotsPerTaskManager: 2, logger: captureWarnings(warnings) });
    try {
      const entry = await compileJob(jobPath('smoke.ts'));
      const { handle } = await embedded.submit({ entry, params: {}, parallelism: 1, config: { checkpointIntervalMs: 50, checkpointDir: tempDir() } });
      expect((await handle.result()).status).toBe('FINISHED');
    } finally {
      await embedded.close();
    }
    const uidWarnings = warnings.filter((w) => w.includes('have no .uid'));
    expect(uidWarnings).toHaveLength(1);
    expect(uidWarnings[0]).toMatch(/^2 stateful operator\(s\) have no \.uid\(\.\.\.\): 'Source: [^']*' \(node-\d+\), 'Keyed Reduce' \(node-\d+\)\. /);
  });
});

describe('stop with savepoint and drain; savepoints that do not fit', () => {
  it('refuses a savepoint directory it cannot write before stopping anything; the job keeps running', async () => {
    const out = tempDir();
    const notADirectory = join(out, 'a-file');
    writeFileSync(notADirectory, 'not a directory\n');
    const embedded = await startEmbeddedCluster({ slotsPerTaskManager: 2, restPort: 0 });
    try {
      const entry = await compileJob(jobPath('exactly-once.ts'));
      const job = await embedded.submit({ entry, params: { out, events: '1000000', keys: '5', rate: '20000' }, parallelism: 1 });
      await waitFor('committed lines', () => (committed(out).length > 1_000 ? true : undefined));
      const dispatcher = embedded.cluster.dispatcher;

      // Committed lines mean completed checkpoints; the REST API counts them and names the latest.
      const stats = (await fetch(`${embedded.restUrl}/jobs/${job.handle.jobId}/checkpoints`).then((r) => r.json())) as CheckpointsResponse;
      expect(stats.counts.completed).toBeGreaterThan(0);
      expect(stats.latest).toMatchObject({ restored: false, id: expect.any(Number), sizeBytes: expect.any(Number) });
      expect(existsSync(join(stats.latest!.path, '_metadata'))).toBe(true);

      await expect(dispatcher.triggerSavepoint(job.handle.jobId, join(notADirectory, 'savepoints'), 'terminate')).rejects.toMatchObject({
        code: 'SAVEPOINT_TARGET',
        message: expect.stringMatching(/savepoint directory .*a-file.savepoints cannot be used: .*a-file exists and is not a directory/),
      });
      // Under /proc Node's recursive mkdir would loop forever: refused at once, naming the path.
      await expect(dispatcher.triggerSavepoint(job.handle.jobId, '/proc/sluice-test/savepoints', 'terminate')).rejects.toMatchObject({
        code: 'SAVEPOINT_TARGET',
        message: expect.stringContaining('savepoint directory /proc/sluice-test/savepoints cannot be used: /proc is on procfs'),
      });
      expect(await dispatcher.requestJobStatus(job.handle.jobId)).toBe('RUNNING');
      const { path } = await dispatcher.triggerSavepoint(job.handle.jobId, join(out, 'savepoints'), 'terminate');
      expect((await job.handle.result()).status).toBe('FINISHED');
      expect(existsSync(join(path, '_metadata'))).toBe(true);
    } finally {
      await embedded.close();
    }
  }, 60_000);

  it('drain sends the final watermark before the savepoint, so every key timer fires once; resuming it warns', async () => {
    const out = tempDir();
    const warnings: string[] = [];
    const logger = captureWarnings(warnings);
    const embedded = await startEmbeddedCluster({ slotsPerTaskManager: 2, logger });
    let path = '';
    try {
      const entry = await compileJob(jobPath('exactly-once.ts'));
      const job = await embedded.submit({ entry, params: { out, events: '1000000', keys: '11', rate: '40000' }, parallelism: 2 });
      await waitFor('committed lines', () => (committed(out).length > 5_000 ? true : undefined));
      ({ path } = await embedded.cluster.dispatcher.triggerSavepoint(job.handle.jobId, join(out, 'savepoints'), 'drain'));
      expect((await job.handle.result()).status).toBe('FINISHED');

      // Resumed, the drained job's event time is over: the JobMaster says so.
      const resumed = await embedded.submit({ entry, params: { out: tempDir(), events: '1000000', keys: '11', rate: '40000' }, parallelism: 2 }, { restoreFrom: { path } });
      await waitFor('the drain warning', () => warnings.find((w) => w.includes('was taken with --drain')));
      await resumed.handle.cancel();
      expect(warnings.find((w) => w.includes('was taken with --drain'))).toMatch(/event time of .*sequence.* is at its end/);

      // The savepoint does not fit a job with other operator uids: refused, naming them.
      const other = await compileJob(jobPath('keyed-state.ts'));
      const refused = await embedded.submit({ entry: other, params: { events: '1000', keys: '10' } }, { restoreFrom: { path } });
      const r = await refused.handle.result();
      expect(r.status).toBe('FAILED');
      expect(r.error?.message).toMatch(/uid 'count-and-sum'/);
      expect(r.error?.message).toMatch(/--allow-non-restored-state/);
    } finally {
      await embedded.close();
    }
    const lines = committed(out);
    const finals = lines.filter((l) => l.final);
    expect(finals.map((l) => l.key).sort((a, b) => a - b)).toEqual(Array.from({ length: 11 }, (_, k) => k));
    for (const f of finals) {
      const counts = lines.filter((l) => !l.final && l.key === f.key).map((l) => l.count);
      expect(f.count).toBe(Math.max(...counts));
      expect(counts.length).toBe(f.count);
    }
    expect(existsSync(join(path, '_metadata'))).toBe(true);
  }, 60_000);
});
