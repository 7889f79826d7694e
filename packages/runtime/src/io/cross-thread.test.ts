/**
 * Records crossing real worker threads through a SharedArrayBuffer ring: order and count of a
 * million records, backpressure (a blocked producer and its growing backpressured time), and
 * prompt cancellation of a blocked producer. The workers run the compiled runtime, so setup
 * builds it with `tsc -b` when the dist is older than the sources.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalShuffleService } from '../shuffle/local-shuffle-service.js';

const here = dirname(fileURLToPath(import.meta.url));
const runtimeDir = join(here, '..', '..');
const fixture = join(here, 'fixtures', 'io-worker.mjs');
const compiled = ['io/record-writer', 'io/input-gate', 'io/channel-ring', 'io/task-control', 'serialization/record-serializer', 'serialization/data-output', 'serialization/data-input', 'serialization/shapes'];

function stale(): string[] {
  return compiled.filter((m) => {
    const js = join(runtimeDir, 'dist', `${m}.js`);
    return !existsSync(js) || statSync(js).mtimeMs < statSync(join(runtimeDir, 'src', `${m}.ts`)).mtimeMs;
  });
}

beforeAll(() => {
  if (stale().length === 0) return;
  const repo = join(runtimeDir, '..', '..');
  try {
    execFileSync(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'packages/runtime'], { cwd: repo, stdio: 'pipe' });
  } catch {
    // tsc -b still emits when unrelated files have type errors; the check below decides.
  }
  const left = stale();
  if (left.length > 0) throw new Error(`compiled runtime is missing or stale (${left.join(', ')}); run \`npx tsc -b packages/runtime\` first`);
}, 120_000);

interface Started {
  worker: Worker;
  message: Promise<Record<string, unknown>>;
  live: Float64Array;
}

function start(data: Record<string, unknown>): Started {
  const statsBuffer = new SharedArrayBuffer(8);
  const worker = new Worker(fixture, { workerData: { ...data, statsBuffer } });
  const message = new Promise<Record<string, unknown>>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with ${code} before reporting`)));
  });
  return { worker, message, live: new Float64Array(statsBuffer) };
}

function channel(buffers: number, size: number) {
  const shuffle = new LocalShuffleService();
  const endpoint = shuffle.channel({ jobId: 'j', attempt: 0, edgeId: 'e', producerVertexId: 'p', producerSubtask: 0, consumerVertexId: 'c', consumerSubtask: 0, bufferSizeBytes: size, buffers });
  return { shuffle, endpoint, producerControl: endpoint.producerControl, consumerControl: endpoint.consumerControl };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('records across worker threads', () => {
  it('moves 1,000,000 records in order through 4 small buffers', async () => {
    const { endpoint, producerControl, consumerControl } = channel(4, 4096);
    const consumer = start({ role: 'consume', endpoint, control: consumerControl });
    const producer = start({ role: 'produce', endpoint, control: producerControl, count: 1_000_000, bufferTimeoutMs: 5 });
    const [p, c] = await Promise.all([producer.message, consumer.message]);
    await Promise.all([producer.worker.terminate(), consumer.worker.terminate()]);
    expect(p.done).toBe(true);
    expect(c).toMatchObject({ done: true, count: 1_000_000, problem: undefined, watermark: Infinity, ended: true });
    const stats = p.stats as { bytesOut: number; buffersOut: number };
    expect(c.bytesIn).toBe(stats.bytesOut);
    expect(stats.buffersOut).toBeGreaterThan(1000);
  }, 60_000);

  it('blocks a producer whose consumer stops reading, counts the blocked time, and cancels it promptly', async () => {
    const { shuffle, endpoint, producerControl } = channel(4, 1024);
    const producer = start({ role: 'produce', endpoint, control: producerControl, count: 1e12, bufferTimeoutMs: 5 });
    // Nobody reads: after 4 buffers the producer must block.
    await sleep(300);
    const first = producer.live[0]!;
    await sleep(300);
    const second = producer.live[0]!;
    expect(first).toBeGreaterThan(50);
    expect(second - first).toBeGreaterThan(200);
    const cancelledAt = performance.timeOrigin + performance.now();
    expect(shuffle.cancel('j', 0, 'p', 0)).toBe(true);
    const outcome = await producer.message;
    await producer.worker.terminate();
    expect(outcome).toMatchObject({ done: false, errorName: 'CancellationError' });
    expect(outcome.message).toMatch(/backpressure/);
    // The cancel rings the doorbell, so the producer wakes at once rather than after a slice.
    expect((outcome.at as number) - cancelledAt).toBeLessThan(100);
    // The final count includes every blocked moment seen live (an absolute figure would depend on how fast the worker booted).
    expect(outcome.backpressuredMs as number).toBeGreaterThanOrEqual(second);
  }, 30_000);
});
