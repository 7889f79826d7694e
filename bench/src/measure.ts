/**
 * Turns what a run left behind into figures. Throughput: events counted by the probes after
 * their warm-up, divided by the wall time from the last subtask's end of warm-up to the last
 * sink's end of input — so start-up, deployment and the warm-up itself are excluded, and the
 * time to drain the pipeline is included. Latency: the sinks' histograms merged; p50 and p99 of
 * (sink arrival − emission) over the sampled records. State: heap difference per key.
 */
import { mergeHistograms, quantile, type LatencyReport, type ProbeReport, type Report } from '@sluice/examples/nexmark';

export interface ThroughputFigures {
  eventsPerSec: number;
  /** How the rate was obtained: after warm-up (probes + sinks) or over the whole job duration. */
  rateBasis: 'after-warmup' | 'whole-job';
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  latencySamples: number;
  sinkRecords: number;
  probeEvents: number;
}

export function throughputFigures(reports: readonly Report[], expectedEvents: number, jobDurationMs: number): ThroughputFigures {
  const probes = reports.filter((r): r is ProbeReport => r.type === 'probe');
  const sinks = reports.filter((r): r is LatencyReport => r.type === 'latency');
  const probeEvents = probes.reduce((n, p) => n + p.events, 0);
  const warmupEnd = Math.max(...probes.map((p) => p.warmupEndedAtMs));
  // The last record at a sink ends the span (a checkpointed job's end of input waits for its
  // final checkpoint, up to an interval later); end of input where no record was timed.
  const end = Math.max(...sinks.map((s) => (s.lastRecordAtMs !== undefined && Number.isFinite(s.lastRecordAtMs) ? s.lastRecordAtMs : s.endOfInputAtMs)));
  const afterWarmup = probes.reduce((n, p) => n + Math.max(0, p.events - p.warmupEvents), 0);
  const usable = probes.length > 0 && sinks.length > 0 && probeEvents === expectedEvents && Number.isFinite(warmupEnd) && end > warmupEnd && afterWarmup > 0;
  const histogram = mergeHistograms(sinks.map((s) => s.histogram));
  return {
    eventsPerSec: usable ? afterWarmup / ((end - warmupEnd) / 1000) : expectedEvents / (jobDurationMs / 1000),
    rateBasis: usable ? 'after-warmup' : 'whole-job',
    p50Ms: quantile(histogram, 0.5),
    p99Ms: quantile(histogram, 0.99),
    meanMs: histogram.count === 0 ? NaN : histogram.sumMs / histogram.count,
    latencySamples: histogram.count,
    sinkRecords: sinks.reduce((n, s) => n + s.records, 0),
    probeEvents,
  };
}

export interface StateFigures {
  keys: number;
  heapMb: number;
  bytesPerKey: number;
  afterGc: boolean;
}

export function stateFigures(collected: readonly unknown[]): StateFigures {
  const report = collected[0] as { keys?: unknown; heapBeforeBytes?: unknown; heapAfterBytes?: unknown; afterGc?: unknown } | undefined;
  if (report === undefined || typeof report.keys !== 'number' || typeof report.heapBeforeBytes !== 'number' || typeof report.heapAfterBytes !== 'number') {
    throw new Error(`the state-size job collected no report under 'stats' (got ${JSON.stringify(collected).slice(0, 200)})`);
  }
  const grown = report.heapAfterBytes - report.heapBeforeBytes;
  return { keys: report.keys, heapMb: grown / (1024 * 1024), bytesPerKey: grown / report.keys, afterGc: report.afterGc === true };
}
