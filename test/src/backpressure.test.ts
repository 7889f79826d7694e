/**
 * Backpressure end to end: an endless source of ~1 KiB records feeds a deliberately slow sink on
 * another worker thread (jobs/backpressure.ts), one that stalls its thread and one whose writes
 * return promises. Bounded channels must hold the source back: it spends time blocked on a full
 * channel, it is never more than one channel's capacity ahead of the consumer, and memory stays
 * flat while hundreds of megabytes pass through.
 *
 * Nothing here depends on how fast the machine is: the test waits for amounts of records, not
 * for seconds, and the in-flight bound is checked on the exact counts every subtask reports
 * when it ends. A busy machine only makes it take longer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { compileJob } from '@sluice/cli';
import { type JobHandle } from '@sluice/jobmanager';
import { startEmbeddedCluster, type EmbeddedCluster } from '@sluice/minicluster';
import type { JobConfig, JobResult } from '@sluice/protocol';
import { jobPath } from './harness.js';
import { waitFor } from './leaks.js';
import { scrape, sum, sumIfPresent, type Sample } from './prometheus.js';

const SOURCE = { vertex: 'Source: fast source', operator: 'Source: fast source' };
const CONSUMER = { vertex: 'to seq -> Sink: slow sink', operator: 'to seq' };
const MB = 1024 * 1024;
/** Records the consumer takes before memory is watched: JIT, pools and buffers are warm by then. */
const WARM_UP_RECORDS = 20_000;
/** Records that pass the channel while memory is watched: at ≥ 1 KiB each, ≥ 150 MB. */
const WINDOW_RECORDS = 150 * 1024;
/** Bound on the whole window: only a stalled job takes this long, however busy the machine. */
const WINDOW_TIMEOUT_MS = 180_000;

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

async function cancelAndExpectCanceled(handle: JobHandle): Promise<JobResult> {
  await handle.cancel();
  const r = await Promise.race([
    handle.result(),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the job did not end within 30 s of cancel')), 30_000).unref()),
  ]);
  expect(r.status).toBe('CANCELED');
  return r;
}

const sourceOut = (s: Sample[]): number => sum(s, 'sluice_operator_records_out_total', SOURCE);
const consumerIn = (s: Sample[]): number => sum(s, 'sluice_operator_records_in_total', CONSUMER);
const backpressuredS = (s: Sample[], vertex: string): number => sum(s, 'sluice_task_backpressured_seconds_total', { vertex });

function finalCount(r: JobResult, name: string, which: 'recordsIn' | 'recordsOut'): number {
  const op = r.operators.find((o) => o.name === name);
  if (op === undefined) throw new Error(`no final counts for operator '${name}' in ${JSON.stringify(r.operators)}`);
  return op[which];
}

describe('backpressure', () => {
  it.each<SinkMode>(['sync', 'async'])('holds an endless fast source to a slow %s sink with flat memory and bounded in-flight records', async (sinkMode) => {
    // The slow sink: a 1 ms stall every 50 records.
    const slow = await start(50, sinkMode);
    // Both subtasks appear on /metrics once they run, which on a busy machine can take a while.
    const base = await waitFor(`the consumer to take ${WARM_UP_RECORDS} records`, async () => {
      const s = await scrape(slow.url);
      const taken = sumIfPresent(s, 'sluice_operator_records_in_total', CONSUMER);
      return taken !== undefined && taken >= WARM_UP_RECORDS && sumIfPresent(s, 'sluice_operator_records_out_total', SOURCE) !== undefined ? s : undefined;
    });
    const before = process.memoryUsage();
    const rss: number[] = [];
    const heap: number[] = [];
    const end = await waitFor(
      `${WINDOW_RECORDS} more records through the channel`,
      async () => {
        await new Promise((r) => setTimeout(r, 250));
        const m = process.memoryUsage();
        rss.push(m.rss);
        heap.push(m.heapUsed);
        const s = await scrape(slow.url);
        return consumerIn(s) - consumerIn(base) >= WINDOW_RECORDS ? s : undefined;
      },
      WINDOW_TIMEOUT_MS,
    );
    expect(await slow.handle.status()).toBe('RUNNING');

    // The source really was held back: it kept spending time blocked on a full channel during the
    // window. The consumer ends its chain (no channel out), so it is never backpressured.
    expect(backpressuredS(end, SOURCE.vertex)).toBeGreaterThan(backpressuredS(base, SOURCE.vertex));
    expect(backpressuredS(end, CONSUMER.vertex)).toBe(0);

    // Memory stays flat while ≥ 150 MB of records pass: nothing buffers them along the way.
    const bytesPerRecord = sum(end, 'sluice_task_bytes_out_total', { vertex: SOURCE.vertex }) / sourceOut(end);
    expect(bytesPerRecord).toBeGreaterThanOrEqual(1024);
    expect((consumerIn(end) - consumerIn(base)) * bytesPerRecord).toBeGreaterThanOrEqual(150 * MB);
    expect(Math.max(...rss) - before.rss).toBeLessThan(150 * MB);
    expect(Math.max(...heap) - before.heapUsed).toBeLessThan(50 * MB);

    // In flight between source and consumer, from the exact counts each subtask reports as it
    // ends: at most one channel's ring buffers plus the writer's staging buffer, in records, plus
    // the one record counted out while it waited for a free buffer. Parallelism 1 on both sides:
    // one channel. An unbounded channel would let the source run arbitrarily far ahead.
    const r = await cancelAndExpectCanceled(slow.handle);
    const { bufferSizeBytes, buffersPerChannel } = slow.config;
    const channelCapacity = (buffersPerChannel + 1) * Math.floor(bufferSizeBytes / bytesPerRecord) + 1;
    const sent = finalCount(r, SOURCE.operator, 'recordsOut');
    const taken = finalCount(r, CONSUMER.operator, 'recordsIn');
    expect(taken).toBeLessThanOrEqual(sent);
    expect(sent - taken).toBeLessThanOrEqual(channelCapacity);
    // …which is a tiny fraction of what went through.
    expect(taken).toBeGreaterThan(100 * channelCapacity);
  }, 300_000);
});
