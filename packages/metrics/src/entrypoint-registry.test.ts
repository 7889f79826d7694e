import { describe, expect, it } from 'vitest';
import { createEntrypointMetricsRegistry } from './entrypoint-registry.js';
import type { JobMetricsSnapshot } from './job-snapshot.js';

const JOB: JobMetricsSnapshot = {
  jobId: 'j1',
  jobName: 'fraud',
  status: 'RUNNING',
  restarts: 1,
  runningSince: 1_000,
  checkpoints: { completed: 4, failed: 0, inProgress: 0, lastCompletedId: 4, lastDurationMs: 120, lastSizeBytes: 1024, lastAlignmentMs: 0, lastSyncMs: 1, lastMaxPauseMs: 1 },
};

describe('the entrypoint metrics registry', () => {
  it("serves the leading Dispatcher's jobs, whether it leads, and the process metrics", async () => {
    let leading = true;
    let jobs = [JOB];
    const registry = createEntrypointMetricsRegistry({ jobs: { snapshot: () => jobs }, leading: () => leading });
    expect(registry.contentType).toMatch(/^text\/plain/);
    let text = await registry.metrics();
    expect(text).toMatch(/^sluice_entrypoint_leader 1$/m);
    expect(text).toMatch(/^sluice_job_restarts_total\{job_name="fraud",job_id="j1"\} 1$/m);
    expect(text).toMatch(/^sluice_job_last_checkpoint_duration_seconds\{job_name="fraud",job_id="j1"\} 0\.12$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m);

    // A standby reports no jobs: sums over an HA cluster's entrypoints count each job once.
    leading = false;
    jobs = [];
    text = await registry.metrics();
    expect(text).toMatch(/^sluice_entrypoint_leader 0$/m);
    expect(text).not.toMatch(/^sluice_job_restarts_total\{/m);
  });

  it('leaves the process metrics out when asked', async () => {
    const text = await createEntrypointMetricsRegistry({ jobs: { snapshot: () => [] }, leading: () => true, defaultMetrics: false }).metrics();
    expect(text).toMatch(/^sluice_entrypoint_leader 1$/m);
    expect(text).not.toMatch(/^process_/m);
  });

  it('brings the job figures up to date before each scrape, and serves what it has when the refresh fails or hangs', async () => {
    let jobs: JobMetricsSnapshot[] = [];
    let refresh: () => Promise<unknown> = async () => void (jobs = [JOB]);
    const registry = createEntrypointMetricsRegistry({ jobs: { snapshot: () => jobs }, leading: () => true, defaultMetrics: false, refresh: () => refresh(), refreshTimeoutMs: 50 });
    expect(await registry.metrics()).toMatch(/^sluice_job_restarts_total\{job_name="fraud",job_id="j1"\} 1$/m);
    refresh = () => Promise.reject(new Error('JobMaster unreachable'));
    expect(await registry.metrics()).toMatch(/^sluice_job_restarts_total\{job_name="fraud",job_id="j1"\} 1$/m);
    refresh = () => new Promise(() => undefined);
    expect(await registry.metrics()).toMatch(/^sluice_entrypoint_leader 1$/m);
  });
});
