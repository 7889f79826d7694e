/**
 * Job-level metrics end to end: a checkpointed job that fails once runs on an embedded cluster of
 * two TaskManagers with metrics enabled; /metrics, fetched over HTTP, shows its checkpoints while
 * it runs and its restart and final checkpoint figures after it ends — on exactly one of the two
 * endpoints, so Prometheus sums over targets do not count a job twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileJob } from '@sluice/cli';
import { startEmbeddedCluster } from '@sluice/minicluster';
import { jobPath } from './harness.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function scrape(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.text();
}

/** The value of one series, or undefined if the text does not have it. */
function value(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const hasJobSeries = (text: string): boolean => /^sluice_job_/m.test(text);

describe('job metrics on the embedded cluster', () => {
  it('exports checkpoints while the job runs, and its restart and last checkpoint after it ends, on one endpoint', async () => {
    const out = mkdtempSync(join(tmpdir(), 'sluice-job-metrics-'));
    dirs.push(out);
    const embedded = await startEmbeddedCluster({ taskManagers: 2, slotsPerTaskManager: 1, metricsPort: 0 });
    try {
      const entry = await compileJob(jobPath('exactly-once.ts'));
      const { handle } = await embedded.submit({
        entry,
        params: { out, events: '60000', keys: '50', rate: '30000', failures: '1', interval: '100' },
        parallelism: 2,
      });
      const urls = embedded.metricsUrls();
      expect(urls).toHaveLength(2);
      const job = `job_name="exactly-once",job_id="${handle.jobId}"`;

      // While it runs: completed checkpoints appear, and the job has been up for a while. The
      // bound is generous: only a job that never checkpoints fails it, however busy the machine.
      const deadline = Date.now() + 60_000;
      let live: string | undefined;
      while (live === undefined) {
        if (Date.now() > deadline) throw new Error('no completed checkpoint on /metrics within 60 s');
        const texts = await Promise.all(urls.map(scrape));
        live = texts.find((t) => (value(t, 'sluice_job_checkpoints_completed_total', job) ?? 0) > 0);
        if (live === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      expect(value(live, 'sluice_job_last_checkpoint_id', job)).toBeGreaterThan(0);
      expect(value(live, 'sluice_job_last_checkpoint_duration_seconds', job)).toBeGreaterThan(0);

      const result = await handle.result();
      expect(result.error?.message).toBeUndefined();
      expect(result.status).toBe('FINISHED');
      expect(result.restarts).toBe(1);

      // After the end: the final values stay exported, on exactly one of the two endpoints.
      const texts = await Promise.all(urls.map(scrape));
      const withJobs = texts.filter(hasJobSeries);
      expect(withJobs).toHaveLength(1);
      const text = withJobs[0]!;
      expect(value(text, 'sluice_job_restarts_total', job)).toBe(1);
      const completed = value(text, 'sluice_job_checkpoints_completed_total', job) ?? 0;
      expect(completed).toBeGreaterThan(0);
      expect(value(text, 'sluice_job_checkpoints_failed_total', job)).toBeGreaterThanOrEqual(0);
      expect(value(text, 'sluice_job_last_checkpoint_id', job)).toBe(result.lastCheckpoint?.id);
      expect(result.lastCheckpoint!.id).toBeGreaterThanOrEqual(completed);
      expect(value(text, 'sluice_job_checkpoints_in_progress', job)).toBe(0);
      expect(value(text, 'sluice_job_last_checkpoint_size_bytes', job)).toBeGreaterThan(0);
      expect(value(text, 'sluice_job_last_checkpoint_duration_seconds', job)).toBeGreaterThan(0);
      expect(value(text, 'sluice_job_last_checkpoint_alignment_seconds', job)).toBeGreaterThanOrEqual(0);
      expect(value(text, 'sluice_job_last_checkpoint_sync_seconds', job)).toBeGreaterThanOrEqual(0);
      expect(value(text, 'sluice_job_uptime_seconds', job)).toBe(0);
      // Job series carry the job's labels only, not the TaskManager's default label.
      for (const line of text.split('\n').filter((l) => l.startsWith('sluice_job_'))) expect(line).toContain(`{${job}} `);
      // Both endpoints still serve their TaskManager's own series.
      for (const t of texts) expect(t).toMatch(/^sluice_taskmanager_slots\{state="total",taskmanager="[^"]+"\} 1$/m);
    } finally {
      await embedded.close();
    }
  }, 180_000);
});
