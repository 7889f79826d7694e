import { describe, expect, it } from 'vitest';
import type { JobDetailsResponse } from '@sluice/jobmanager';
import type { JobGraph } from '@sluice/protocol';
import { DEFAULT_JOB_CONFIG } from '@sluice/protocol';
import { formatFollowLine, phaseOf, ratesBetween, recordCounts, restartsOf } from './follow-status.js';
import { formatJobInfo, formatOverview, formatTaskManagers } from './views.js';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);

const GRAPH: JobGraph = {
  jobName: 'counts',
  vertices: [
    { id: 'v1', name: 'Source: numbers -> Map', parallelism: 2, maxParallelism: 128, operators: [{ nodeId: 1, name: 'numbers', kind: 'source' }], isSource: true, isSink: false },
    { id: 'v2', name: 'Reduce -> Sink: print', parallelism: 2, maxParallelism: 128, operators: [{ nodeId: 3, name: 'print', kind: 'sink' }], isSource: false, isSink: true },
  ],
  edges: [],
  config: { ...DEFAULT_JOB_CONFIG },
};

function details(extra: Partial<JobDetailsResponse> = {}): JobDetailsResponse {
  return { jobId: 'j1', jobName: 'counts', status: 'RUNNING', startTime: T0, checkpoints: { completed: 0, failed: 0, inProgress: 0 }, ...extra };
}

const VERTICES: JobDetailsResponse['vertices'] = [
  { id: 'v1', name: 'Source: numbers -> Map', parallelism: 2, subtasks: { RUNNING: 2 }, recordsIn: 12_000, recordsOut: 11_500, backpressure: 0.25 },
  { id: 'v2', name: 'Reduce -> Sink: print', parallelism: 2, subtasks: { RUNNING: 1, DEPLOYING: 1 }, recordsIn: 11_000, recordsOut: 10_000 },
];

describe('follow status', () => {
  it('counts records into the source vertices and out of the sink vertices', () => {
    expect(recordCounts(GRAPH, details({ vertices: VERTICES }))).toEqual({ in: 12_000, out: 10_000 });
    expect(recordCounts(GRAPH, details())).toBeUndefined();
  });

  it('turns two readings into rates, never negative (a restart resets counters)', () => {
    expect(ratesBetween(undefined, { at: 1000, counts: { in: 5, out: 5 } })).toBeUndefined();
    expect(ratesBetween({ at: 1000, counts: { in: 1000, out: 500 } }, { at: 3000, counts: { in: 5000, out: 100 } })).toEqual({ in: 2000, out: 0 });
    expect(ratesBetween({ at: 1000, counts: undefined }, { at: 2000, counts: { in: 1, out: 1 } })).toBeUndefined();
  });

  it.each<[string, Partial<JobDetailsResponse>, string | undefined]>([
    ['created without vertices', { status: 'CREATED' }, 'waiting for slots'],
    ['created, nothing deployed', { status: 'CREATED', vertices: [{ ...VERTICES[0]!, subtasks: { SCHEDULED: 2 } }] }, 'waiting for slots'],
    ['created, deploying', { status: 'CREATED', vertices: [{ ...VERTICES[0]!, subtasks: { DEPLOYING: 1, SCHEDULED: 1 } }] }, 'deploying, 0/2 subtasks running'],
    ['running, not all subtasks yet', { vertices: VERTICES }, 'deploying, 3/4 subtasks running'],
    ['running', { vertices: [VERTICES[0]!] }, undefined],
    ['restarting', { status: 'RESTARTING' }, 'restarting after a failure'],
  ])('names the phase: %s', (_name, extra, phase) => {
    expect(phaseOf(details(extra))).toBe(phase);
  });

  it('counts restarts from the exceptions while running, from the result once ended', () => {
    expect(restartsOf(details())).toBeUndefined();
    expect(restartsOf(details({ exceptions: [{ timestamp: T0, message: 'boom' }] }))).toBe(1);
    expect(restartsOf(details({ status: 'FINISHED', result: { status: 'FINISHED', durationMs: 1, operators: [], restarts: 3 } }))).toBe(3);
  });

  it('formats the line with what the cluster reports, cut to the terminal', () => {
    const full = details({ vertices: VERTICES, checkpoints: { completed: 4, failed: 1, inProgress: 1 }, exceptions: [{ timestamp: T0, message: 'x' }] });
    expect(formatFollowLine(full, 12_300, { in: 1234.4, out: 999.6 }, 200)).toBe(
      'RUNNING 12.30 s | deploying, 3/4 subtasks running | in 1,234 rec/s | out 1,000 rec/s | backpressure 25% | checkpoints 4 (1 failed) | restarts 1',
    );
    expect(formatFollowLine(full, 1000, undefined, 200)).toContain('| in … rec/s | out … rec/s |');
    expect(formatFollowLine(details({ status: 'CREATED' }), 500, undefined, 200)).toBe('CREATED 0.50 s | waiting for slots');
    const cut = formatFollowLine(full, 12_300, undefined, 40);
    expect(cut).toHaveLength(39);
    expect(cut.endsWith('…')).toBe(true);
  });
});

describe('views', () => {
  it('shows a job with its checkpoints, vertices and exceptions', () => {
    const job = details({
      status: 'FAILED',
      endTime: T0 + 65_000,
      checkpoints: { completed: 3, failed: 1, inProgress: 0, lastFailure: { checkpointId: 4, timestamp: T0 + 30_000, reason: 'declined by Reduce (2/2)' } },
      vertices: VERTICES,
      exceptions: [
        { timestamp: T0 + 20_000, code: 'USER_FUNCTION', message: 'cannot score card card-5' },
        { timestamp: T0 + 60_000, message: 'TaskManager tm-1 lost' },
      ],
      result: { status: 'FAILED', durationMs: 65_000, operators: [], restarts: 1, error: { name: 'Error', code: 'TM_LOST', message: 'TaskManager tm-1 lost' } },
    });
    const latest = { id: 3, path: '/ckpt/j1/chk-3', restored: false };
    expect(formatJobInfo(job, { jobId: 'j1', counts: job.checkpoints, latest }, T0 + 99_000)).toBe(
      [
        "Job 'counts' (j1)",
        '  Status:      FAILED',
        '  Started:     2026-01-02 03:04:05 UTC, ended 2026-01-02 03:05:10 UTC (1 min 5 s)',
        '  Checkpoints: 3 completed, 1 failed, 0 in progress',
        '  Latest:      checkpoint 3 at /ckpt/j1/chk-3',
        '  Last failed: checkpoint 4 at 2026-01-02 03:04:35: declined by Reduce (2/2)',
        '  Result:      FAILED after 1 min 5 s; 1 restart',
        '  Error:       TaskManager tm-1 lost',
        '',
        'VERTEX  PARALLELISM  SUBTASKS                RECORDS IN  RECORDS OUT  BACKPRESSURE  NAME',
        'v1      2            2 RUNNING               12,000      11,500       25%           Source: numbers -> Map',
        'v2      2            1 RUNNING, 1 DEPLOYING  11,000      10,000       -             Reduce -> Sink: print',
        '',
        'Exceptions (oldest first):',
        '  2026-01-02 03:04:25  USER_FUNCTION: cannot score card card-5',
        '  2026-01-02 03:05:05  TaskManager tm-1 lost',
        '',
      ].join('\n'),
    );
  });

  it('shows a running job without vertices or checkpoints in few lines', () => {
    expect(formatJobInfo(details(), undefined, T0 + 2500)).toBe(
      ["Job 'counts' (j1)", '  Status:      RUNNING', '  Started:     2026-01-02 03:04:05 UTC (2.50 s)', '  Checkpoints: 0 completed, 0 failed, 0 in progress', ''].join('\n'),
    );
  });

  it('lists TaskManagers and sums up a cluster', () => {
    expect(formatTaskManagers([])).toBe('No TaskManagers are registered.\n');
    expect(formatTaskManagers([{ resourceId: 'tm-1', address: 'taskmanager/tm-1', numberOfSlots: 4, freeSlots: 1 }])).toBe(
      'RESOURCE ID  SLOTS  FREE  ADDRESS           METRICS\ntm-1         4      1     taskmanager/tm-1  -\n',
    );
    expect(formatOverview({ taskManagers: 0, slotsTotal: 0, slotsAvailable: 0, jobs: {} })).toBe('TaskManagers: 0\nSlots:        0 (0 free)\nJobs:         none\n');
  });
});
