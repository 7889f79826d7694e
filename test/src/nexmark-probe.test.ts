/**
 * The Nexmark queries as the bench runs them (`-D statsDir=`): every source subtask reports the
 * events it generated and when its warm-up ended, with no probe operator in the job.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readReports, type LatencyReport, type ProbeReport } from '../../examples/src/nexmark/reports.js';
import { examplePath, runJob } from './harness.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('Nexmark queries with statsDir', () => {
  for (const query of ['q0', 'q1', 'q2', 'q5', 'q7']) {
    it(`${query} at parallelism 2 writes one probe report per source subtask, summing to the configured events`, async () => {
      const statsDir = mkdtempSync(join(tmpdir(), `sluice-${query}-stats-`));
      dirs.push(statsDir);
      const events = 30_001;
      const result = await runJob(examplePath(`nexmark/queries/${query}.ts`), { parallelism: 2, params: { events: String(events), warmupEvents: '6000', statsDir } });
      expect(result.error?.message).toBeUndefined();
      expect(result.status).toBe('FINISHED');

      const operators = result.operators.map((o) => o.name);
      expect(operators).not.toContain('Throughput probe');
      expect(result.operators.find((o) => o.name === 'Source: Nexmark')?.recordsOut).toBe(events);

      const reports = readReports(statsDir);
      const probes = reports.filter((r): r is ProbeReport => r.type === 'probe').sort((a, b) => a.subtask - b.subtask);
      expect(probes.map((p) => [p.subtask, p.events, p.warmupEvents])).toEqual([
        [0, 15_001, 3_000],
        [1, 15_000, 3_000],
      ]);
      for (const p of probes) {
        expect(Number.isFinite(p.warmupEndedAtMs)).toBe(true);
        expect(p.warmupEndedAtMs).toBeLessThanOrEqual(p.closedAtMs);
      }
      // The sinks' reports, which the bench combines with the probes', are still written.
      const sinks = reports.filter((r): r is LatencyReport => r.type === 'latency');
      expect(sinks.length).toBeGreaterThan(0);
    });
  }
});
