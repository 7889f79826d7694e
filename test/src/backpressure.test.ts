/**
 * Backpressure end to end: an endless source of ~1 KiB records feeds a deliberately slow sink on
 * another worker thread (jobs/backpressure.ts), one that stalls its thread and one whose writes
 * return promises. Bounded channels must hold the source back, so
 * memory stays flat while an unthrottled source would have produced hundreds of megabytes, the
 * source reports time spent backpressured, and what it sent but the consumer has not taken is at
 * most what the channel can hold.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GENERATOR_BURST } from '@sluice/api';
import { compileJob } from '@sluice/cli';
import { startEmbeddedCluster, type EmbeddedCluster, type JobHandle } from '@sluice/jobmanager';
import type { JobConfig } from '@sluice/protocol';
import { jobPath } from './harness.js';
import { scrape, sum, type Sample } from './prometheus.js';

const SOURCE = { vertex: 'Source: fast source', operator: 'Source: fast source' };
const CONSUMER = { vertex: 'to seq -> Sink: slow sink', operator: 'to seq' };
/** How often a subtask publishes its counters for /metrics (stream-task.ts), plus slack for the scrape. */
const METRICS_STALENESS_S = 0.25;

const open: EmbeddedCluster[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
});

type SinkMode = 'sync' | 'async';

async function start(delayEvery: number, sinkMode: SinkMode): Promise<{ cluster: EmbeddedCluster; handle: JobHandle; url: string; config: JobConfig }> {
  const cluster = await startEmbeddedCluster({ slotsPerTaskManager: 1, metricsPort: 0 });
  open.push(cluster);
  const entry = await compileJob(jobPath('backpressure.ts'));
  const { handle, job } = await cluster.submit({ entry, params: { delayEvery: String(delayEvery), sinkMode }, parallelism: 1 });
  const url = cluster.metricsUrls()[0];
  if (url === undefined) throw new Error('the TaskManager serves no /metrics');
  return { cluster, handle, url, config: job.jobGraph.config };
}

async function cancelAndExpectCanceled(handle: JobHandle): Promise<void> {
  await handle.cancel();
  const r = await Promise.race([
    handle.result(),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the job did not end within 5 s of cancel')), 5_000).unref()),
  ]);
  expect(r.status).toBe('CANCELED');
}

const sourceOut = (s: Sample[]): number => sum(s, 'sluice_operator_records_out_total', SOURCE);
const consumerIn = (s: Sample[]): number => sum(s, 'sluice_operator_records_in_total', CONSUMER);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('backpressure', () => {
  it.each<SinkMode>(['sync', 'async'])('holds an endless fast source to a slow %s sink with flat memory and bounded in-flight records', async (sinkMode) => {
    // 1. How fast the source goes when the consumer keeps up (no stalls): a lower bound on
    //    what an unthrottled source would produce.
    const fast = await start(Number.MAX_SAFE_INTEGER, sinkMode);
    await sleep(500);
    const f0 = await scrape(fast.url);
    const tf0 = performance.now();
    await sleep(1_000);
    const f1 = await scrape(fast.url);
    const fastRate = (sourceOut(f1) - sourceOut(f0)) / ((performance.now() - tf0) / 1000);
    await cancelAndExpectCanceled(fast.handle);
    await fast.cluster.close();
    open.splice(open.indexOf(fast.cluster), 1);

    // 2. The slow sink (a 1 ms stall every 50 records), for ~4 s, sampling memory.
    const slow = await start(50, sinkMode);
    const t0 = performance.now();
    const rss: number[] = [];
    const heap: number[] = [];
    let afterFirstSecond: Sample[] | undefined;
    let tAfterFirstSecond = 0;
    while (performance.now() - t0 < 4_000) {
      await sleep(250);
      const m = process.memoryUsage();
      rss.push(m.rss);
      heap.push(m.heapUsed);
      if (afterFirstSecond === undefined && performance.now() - t0 >= 1_000) {
        afterFirstSecond = await scrape(slow.url);
        tAfterFirstSecond = performance.now();
      }
    }
    const end = await scrape(slow.url);
    const elapsedS = (performance.now() - tAfterFirstSecond) / 1000;
    expect(await slow.handle.status()).toBe('RUNNING');

    // The source really was throttled: it spent time blocked on a full channel, and its rate
    // fell to what the consumer takes, far below what it does unhindered.
    const backpressuredS = sum(end, 'sluice_task_backpressured_seconds_total', { vertex: SOURCE.vertex });
    expect(backpressuredS).toBeGreaterThan(1);
    expect(sum(end, 'sluice_task_backpressured_seconds_total', { vertex: CONSUMER.vertex })).toBe(0);
    const slowRate = (sourceOut(end) - sourceOut(afterFirstSecond!)) / elapsedS;
    const consumerRate = (consumerIn(end) - consumerIn(afterFirstSecond!)) / elapsedS;
    expect(slowRate).toBeGreaterThan(0);
    expect(slowRate).toBeLessThan(fastRate / 2);

    // Memory: had the source run unthrottled and the difference been buffered, the process would
    // have had to hold (fastRate − consumer rate) × elapsed records of ≥ 1 KiB after the first
    // second. With bounded channels rss and heap stay flat instead.
    const bytesPerRecord = sum(end, 'sluice_task_bytes_out_total', { vertex: SOURCE.vertex }) / sourceOut(end);
    expect(bytesPerRecord).toBeGreaterThanOrEqual(1024);
    const unboundedBytes = (fastRate - consumerRate) * elapsedS * bytesPerRecord;
    const rssGrowth = Math.max(...rss.slice(4)) - rss[3]!;
    const heapGrowth = Math.max(...heap.slice(4)) - heap[3]!;
    const MB = 1024 * 1024;
    expect(unboundedBytes).toBeGreaterThan(300 * MB); // the bound below means something
    expect(rssGrowth).toBeLessThan(150 * MB);
    expect(heapGrowth).toBeLessThan(50 * MB);

    // In flight between source and consumer: at most one channel's ring buffers plus the writer's
    // staging buffer, in records — widened by how stale each side's published counters can be:
    // a subtask publishes them every 100 ms at best, and a source blocked on a full channel in
    // the middle of a poll (up to GENERATOR_BURST records) publishes nothing until it gets going.
    // Observed: the raw difference ranges from about −500 to +4,500 records at ~50k records/s.
    // Parallelism 1 on both sides: one channel.
    const { bufferSizeBytes, buffersPerChannel } = slow.config;
    const recordsPerBuffer = Math.floor(bufferSizeBytes / bytesPerRecord);
    const channelCapacity = (buffersPerChannel + 1) * recordsPerBuffer;
    const staleness = GENERATOR_BURST + Math.ceil(consumerRate * METRICS_STALENESS_S);
    const inFlight = sourceOut(end) - consumerIn(end);
    expect(Math.abs(inFlight)).toBeLessThanOrEqual(channelCapacity + staleness);
    // …which is a tiny fraction of what went through.
    expect(consumerIn(end)).toBeGreaterThan(10 * (channelCapacity + staleness));

    await cancelAndExpectCanceled(slow.handle);
  });
});
