/**
 * Measurement reports: the wall clock used for latency stamps, and the small JSON files that
 * measuring operators write at the end of a bounded run into a stats directory (`-D statsDir=`)
 * for the bench harness to read back. One file per subtask, so parallel writers never collide.
 *
 * Why files: a sink sees the end of its input (`flush(true)`) but has no channel back to the
 * client, and a process function can emit but never learns that its input ended. A writer that
 * drops a small JSON file at end of input is the simplest honest channel; it works the same on
 * the embedded cluster and on a single-host cluster.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HistogramData } from './histogram.js';

/**
 * Wall-clock time in ms with sub-ms resolution. `performance.timeOrigin` differs per worker
 * thread but `timeOrigin + now()` is comparable across threads of one process (measured on
 * Node 20: within ~0.02 ms), which is what cross-thread latency needs. Across hosts it is only
 * as good as their clock synchronisation.
 */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Emission stamps for sampled latency: returns the wall clock on every `every`-th call and 0 on
 * the others (0 = never stamp, 1 = stamp every record). A counter, not the record index, picks
 * the samples, so every parallel subtask samples even though indices are strided across them.
 */
export function createStamper(every: number): () => number {
  if (every <= 0) return () => 0;
  if (every === 1) return wallClockMs;
  let n = 0;
  return () => {
    if (++n < every) return 0;
    n = 0;
    return wallClockMs();
  };
}

/** Written by LatencySink at end of input. */
export interface LatencyReport {
  type: 'latency';
  subtask: number;
  /** Records the sink received. */
  records: number;
  /** Wall-clock ms of the first record and of end of input. */
  firstRecordAtMs: number;
  /**
   * Wall-clock ms of the last record timed (NaN if none was). End of input can come later than
   * the last record: a checkpointed job's sources end with a final checkpoint.
   */
  lastRecordAtMs?: number;
  endOfInputAtMs: number;
  histogram: HistogramData;
}

/** Written per source subtask when it closes, by a ProbedSource's reader or a ThroughputProbe. */
export interface ProbeReport {
  type: 'probe';
  subtask: number;
  events: number;
  /** Events this subtask counted as warm-up before starting the clock. */
  warmupEvents: number;
  /** Wall-clock ms when the warm-up ended (NaN if the run was shorter than the warm-up). */
  warmupEndedAtMs: number;
  closedAtMs: number;
}

export type Report = LatencyReport | ProbeReport;

export function writeReport(dir: string, report: Report): void {
  mkdirSync(dir, { recursive: true });
  // NaN is not JSON; null marks "not measured".
  writeFileSync(join(dir, `${report.type}-${report.subtask}.json`), JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && Number.isNaN(v) ? null : v)));
}

export function readReports(dir: string): Report[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.json'))
    .map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8'), (_k, v: unknown) => (v === null ? NaN : v)) as Report);
}
