import { describe, expect, it } from 'vitest';
import { createJobMetricsRegistry } from './job-registry.js';
import type { JobMetricsSnapshot, JobMetricsSource } from './job-snapshot.js';

/** A hand-written source whose jobs tests replace between scrapes. */
class TestingJobMetricsSource implements JobMetricsSource {
  calls = 0;
  constructor(public current: JobMetricsSnapshot[]) {}
  snapshot(): JobMetricsSnapshot[] {
    this.calls++;
    return this.current;
  }
}

function job(overrides: Partial<JobMetricsSnapshot> = {}): JobMetricsSnapshot {
  return {
    jobId: 'j1',
    jobName: 'fraud',
    status: 'RUNNING',
    restarts: 2,
    runningSince: 10_000,
    checkpoints: {
      completed: 5,
      failed: 1,
      inProgress: 1,
      lastCompletedId: 7,
      lastDurationMs: 250,
      lastSizeBytes: 4096,
      lastAlignmentMs: 12,
      lastSyncMs: 3,
      lastMaxPauseMs: 4,
    },
    ...overrides,
  };
}

const NO_CHECKPOINTS: JobMetricsSnapshot['checkpoints'] = {
  completed: 0,
  failed: 0,
  inProgress: 0,
  lastCompletedId: 0,
  lastDurationMs: 0,
  lastSizeBytes: 0,
  lastAlignmentMs: 0,
  lastSyncMs: 0,
  lastMaxPauseMs: 0,
};

const NOW = 12_500;
const J1 = 'job_name="fraud",job_id="j1"';
const J2 = 'job_name="fresh",job_id="j2"';

/** The sample lines only (no HELP/TYPE), in output order. */
function samples(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('createJobMetricsRegistry', () => {
  it('exports one job as exactly these series', async () => {
    const source = new TestingJobMetricsSource([job()]);
    const registry = createJobMetricsRegistry({ source, now: () => NOW });
    expect(await registry.metrics()).toBe(
      [
        '# HELP sluice_job_restarts_total Times the job restarted after a failure (every subtask redeployed from the latest completed checkpoint).',
        '# TYPE sluice_job_restarts_total counter',
        `sluice_job_restarts_total{${J1}} 2`,
        '',
        '# HELP sluice_job_checkpoints_completed_total Checkpoints completed: every subtask acknowledged and the metadata was written.',
        '# TYPE sluice_job_checkpoints_completed_total counter',
        `sluice_job_checkpoints_completed_total{${J1}} 5`,
        '',
        '# HELP sluice_job_checkpoints_failed_total Checkpoints that failed: declined by a subtask, timed out, or their metadata could not be written. Checkpoints abandoned because the job restarts or ends are not counted.',
        '# TYPE sluice_job_checkpoints_failed_total counter',
        `sluice_job_checkpoints_failed_total{${J1}} 1`,
        '',
        '# HELP sluice_job_checkpoints_in_progress Checkpoints triggered and not yet complete or aborted (0 or 1).',
        '# TYPE sluice_job_checkpoints_in_progress gauge',
        `sluice_job_checkpoints_in_progress{${J1}} 1`,
        '',
        '# HELP sluice_job_last_checkpoint_id Id of the latest completed checkpoint, or of the checkpoint or savepoint the job was restored from; 0 before either.',
        '# TYPE sluice_job_last_checkpoint_id gauge',
        `sluice_job_last_checkpoint_id{${J1}} 7`,
        '',
        '# HELP sluice_job_last_checkpoint_duration_seconds Time from triggering to completion of the latest completed checkpoint.',
        '# TYPE sluice_job_last_checkpoint_duration_seconds gauge',
        `sluice_job_last_checkpoint_duration_seconds{${J1}} 0.25`,
        '',
        '# HELP sluice_job_last_checkpoint_size_bytes State written by the latest completed checkpoint, over all subtasks.',
        '# TYPE sluice_job_last_checkpoint_size_bytes gauge',
        `sluice_job_last_checkpoint_size_bytes{${J1}} 4096`,
        '',
        '# HELP sluice_job_last_checkpoint_alignment_seconds Longest barrier alignment of any subtask in the latest completed checkpoint.',
        '# TYPE sluice_job_last_checkpoint_alignment_seconds gauge',
        `sluice_job_last_checkpoint_alignment_seconds{${J1}} 0.012`,
        '',
        '# HELP sluice_job_last_checkpoint_sync_seconds Longest synchronous part of the snapshot (processing paused) of any subtask in the latest completed checkpoint.',
        '# TYPE sluice_job_last_checkpoint_sync_seconds gauge',
        `sluice_job_last_checkpoint_sync_seconds{${J1}} 0.003`,
        '',
        "# HELP sluice_job_last_checkpoint_max_pause_seconds Longest time the latest completed checkpoint held processing in any subtask: its synchronous part or one key group's copy-on-write capture.",
        '# TYPE sluice_job_last_checkpoint_max_pause_seconds gauge',
        `sluice_job_last_checkpoint_max_pause_seconds{${J1}} 0.004`,
        '',
        '# HELP sluice_job_uptime_seconds Time since the job last started running (its start or its latest restart); 0 while it is not running.',
        '# TYPE sluice_job_uptime_seconds gauge',
        `sluice_job_uptime_seconds{${J1}} 2.5`,
        '',
      ].join('\n'),
    );
    // One snapshot per scrape, shared by all series.
    expect(source.calls).toBe(1);
  });

  it('omits the last checkpoint timings and size until a checkpoint completes; uptime is 0 unless running', async () => {
    const source = new TestingJobMetricsSource([
      job({ jobId: 'j2', jobName: 'fresh', status: 'RESTARTING', restarts: 1, checkpoints: { ...NO_CHECKPOINTS, failed: 2, lastCompletedId: 3 } }),
    ]);
    const registry = createJobMetricsRegistry({ source, now: () => NOW });
    expect(samples(await registry.metrics())).toEqual([
      `sluice_job_restarts_total{${J2}} 1`,
      `sluice_job_checkpoints_completed_total{${J2}} 0`,
      `sluice_job_checkpoints_failed_total{${J2}} 2`,
      `sluice_job_checkpoints_in_progress{${J2}} 0`,
      // Restored from checkpoint 3, none completed since.
      `sluice_job_last_checkpoint_id{${J2}} 3`,
      `sluice_job_uptime_seconds{${J2}} 0`,
    ]);
  });

  it('keeps an ended job\'s final values for the TTL, then drops all its series', async () => {
    let now = NOW;
    const ended = job({ status: 'FINISHED', endTime: NOW, checkpoints: { ...job().checkpoints, inProgress: 0 } });
    const source = new TestingJobMetricsSource([ended, job({ jobId: 'j2', jobName: 'fresh', runningSince: 12_000 })]);
    const registry = createJobMetricsRegistry({ source, now: () => now, endedJobTtlMs: 1000 });

    now += 999;
    let text = await registry.metrics();
    expect(sample(text, 'sluice_job_restarts_total', J1)).toBe(2);
    expect(sample(text, 'sluice_job_checkpoints_completed_total', J1)).toBe(5);
    expect(sample(text, 'sluice_job_last_checkpoint_duration_seconds', J1)).toBe(0.25);
    expect(sample(text, 'sluice_job_uptime_seconds', J1)).toBe(0);
    expect(sample(text, 'sluice_job_uptime_seconds', J2)).toBe(1.499);

    now += 1;
    text = await registry.metrics();
    expect(text).not.toContain('job_id="j1"');
    expect(sample(text, 'sluice_job_restarts_total', J2)).toBe(2);
  });

  it('exports at most maxEndedJobs ended jobs, the most recently ended', async () => {
    const source = new TestingJobMetricsSource([
      job({ jobId: 'old', status: 'FAILED', endTime: NOW - 300 }),
      job({ jobId: 'newer', status: 'CANCELED', endTime: NOW - 100 }),
      job({ jobId: 'newest', status: 'FINISHED', endTime: NOW - 50 }),
      job({ jobId: 'live' }),
    ]);
    const registry = createJobMetricsRegistry({ source, now: () => NOW, maxEndedJobs: 2 });
    const ids = samples(await registry.metrics())
      .filter((l) => l.startsWith('sluice_job_restarts_total{'))
      .map((l) => /job_id="([^"]+)"/.exec(l)?.[1]);
    expect(ids).toEqual(['newer', 'newest', 'live']);
  });

  it('keeps counters monotonic if a source reports lower counts for the same job', async () => {
    const source = new TestingJobMetricsSource([job()]);
    const registry = createJobMetricsRegistry({ source, now: () => NOW });
    await registry.metrics();
    // e.g. a JobMaster replaced after a failover, counting from zero again
    source.current = [job({ restarts: 1, checkpoints: { ...NO_CHECKPOINTS, completed: 2 } })];
    const text = await registry.metrics();
    expect(sample(text, 'sluice_job_restarts_total', J1)).toBe(3);
    expect(sample(text, 'sluice_job_checkpoints_completed_total', J1)).toBe(7);
    expect(sample(text, 'sluice_job_checkpoints_failed_total', J1)).toBe(1);
  });

  it('applies default labels and rejects bad options', async () => {
    const registry = createJobMetricsRegistry({ source: new TestingJobMetricsSource([job()]), now: () => NOW, defaultLabels: { cluster: 'c1' } });
    expect(await registry.metrics()).toContain(`sluice_job_restarts_total{${J1},cluster="c1"} 2`);
    expect(() => createJobMetricsRegistry({ source: {} as JobMetricsSource })).toThrow(
      'job metrics registry: `source` must have a snapshot() method (a JobMetricsSource)',
    );
    expect(() => createJobMetricsRegistry({ source: new TestingJobMetricsSource([]), endedJobTtlMs: -1 })).toThrow(
      'job metrics registry: endedJobTtlMs must be a non-negative number, got -1',
    );
  });
});
