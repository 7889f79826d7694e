/**
 * Records crossing real worker threads through a SharedArrayBuffer ring: order and count of a
 * million records, backpressure (a blocked producer, its growing backpressured time, and its
 * resumption when a buffer is freed), and the doorbell that wakes a blocked producer at once
 * when a buffer is freed or it is cancelled. The workers run the compiled runtime, so setup
 * builds it with `tsc -b` when the dist is older than the sources.
 *
 * The consumer side of the backpressure tests is this thread, holding the ring's consumer end:
 * the test decides when a buffer is freed, and every step waits for the state it needs (no
 * sleeps, no clock), so a slow or busy machine only makes the test slower.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalShuffleService } from '../shuffle/local-shuffle-service.js';
import { RingConsumer } from './channel-ring.js';

const here = dirname(fileURLToPath(import.meta.url));
const runtimeDir = join(here, '..', '..');
const fixture = join(here, 'fixtures', 'io-worker.mjs');
const compiled = ['io/record-writer', 'io/input-gate', 'io/channel-ring', 'io/task-control', 'serialization/record-serializer', 'serialization/data-output', 'serialization/data-input', 'serialization/shapes'];

/**
 * Modules whose compiled file is missing or older than its source. A source newer than its .js
 * but older than the build info is not stale: the build has seen it since it changed and left the
 * output alone because nothing in it changed (a branch switch or a restored file only touches it).
 */
function stale(): string[] {
  const buildInfo = join(runtimeDir, 'dist', 'tsconfig.tsbuildinfo');
  const builtAt = existsSync(buildInfo) ? statSync(buildInfo).mtimeMs : -Infinity;
  return compiled.filter((m) => {
    const js = join(runtimeDir, 'dist', `${m}.js`);
    if (!existsSync(js)) return true;
    const changedAt = statSync(join(runtimeDir, 'src', `${m}.ts`)).mtimeMs;
    return statSync(js).mtimeMs < changedAt && builtAt < changedAt;
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
  /** [0] backpressured ms, [1] backpressure waits begun (see fixtures/io-worker.mjs). */
  live: Float64Array;
}

/** Only a hang may fail a wait here. */
const HANG_MS = 20_000;

function start(data: Record<string, unknown>): Started {
  const statsBuffer = new SharedArrayBuffer(16);
  const worker = new Worker(fixture, { workerData: { ...data, statsBuffer } });
  const message = new Promise<Record<string, unknown>>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with ${code} before reporting`)));
  });
  return { worker, message, live: new Float64Array(statsBuffer) };
}

/** The worker's report, or a failure (and the worker terminated) when it has none after HANG_MS. */
async function reportOf(w: Started, what: string): Promise<Record<string, unknown>> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no report from the worker within ${HANG_MS} ms: ${what}`)), HANG_MS);
  });
  try {
    return await Promise.race([w.message, hung]);
  } finally {
    clearTimeout(timer);
    await w.worker.terminate();
  }
}

async function waitFor<T>(what: string, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + HANG_MS;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${HANG_MS} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function channel(buffers: number, size: number) {
  const shuffle = new LocalShuffleService();
  const endpoint = shuffle.channel({ jobId: 'j', attempt: 0, edgeId: 'e', producerVertexId: 'p', producerSubtask: 0, consumerVertexId: 'c', consumerSubtask: 0, bufferSizeBytes: size, buffers });
  return { shuffle, endpoint, producerControl: endpoint.producerControl, consumerControl: endpoint.consumerControl };
}

/** The ring's consumer end on this thread: counts what the producer published, frees buffers. */
function consumerEnd(endpoint: ReturnType<typeof channel>['endpoint']) {
  const ring = new RingConsumer(endpoint);
  let released = 0;
  return {
    published: (): number => ring.available() + released,
    release(): void {
      ring.release();
      released++;
    },
  };
}

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
  }, 120_000);

  it('blocks a producer whose consumer stops reading, counts the blocked time, and resumes it only when a buffer is freed', async () => {
    const { shuffle, endpoint, producerControl } = channel(4, 1024);
    const consumer = consumerEnd(endpoint);
    const producer = start({ role: 'produce', endpoint, control: producerControl, count: 1e12, bufferTimeoutMs: 5 });
    // Nobody reads: the producer fills the 4 buffers, then blocks and counts the time it waits…
    const first = await waitFor('the producer to fill the ring and count blocked time', () => (consumer.published() === 4 && producer.live[0]! > 0 ? producer.live[0]! : undefined));
    // …and keeps counting while it stays blocked, publishing nothing more.
    const second = await waitFor('the blocked time to grow', () => (producer.live[0]! > first ? producer.live[0]! : undefined));
    expect(consumer.published()).toBe(4);
    // One buffer freed: the producer fills it (and blocks again on the full ring).
    consumer.release();
    await waitFor('the producer to fill the freed buffer', () => (consumer.published() === 5 ? true : undefined));
    const waits = producer.live[1]!;
    await waitFor('the producer to block again', () => (producer.live[1]! > waits ? true : undefined));
    expect(consumer.published()).toBe(5);

    expect(shuffle.cancel('j', 0, 'p', 0)).toBe(true);
    const outcome = await reportOf(producer, 'a cancelled producer must stop');
    expect(outcome).toMatchObject({ done: false, errorName: 'CancellationError' });
    expect(outcome.message).toMatch(/backpressure/);
    // The final count includes every blocked moment seen live (an absolute figure would depend on how fast the worker booted).
    expect(outcome.backpressuredMs as number).toBeGreaterThanOrEqual(second);
  }, 60_000);

  it('wakes a blocked producer through its doorbell, not a timeout: when a buffer is freed and when it is cancelled', async () => {
    const { shuffle, endpoint, producerControl } = channel(4, 1024);
    const consumer = consumerEnd(endpoint);
    // Every backpressure wait lasts until the doorbell rings: were a release or the cancel not to
    // ring it, the producer would never wake and the waits below would time out.
    const producer = start({ role: 'produce', endpoint, control: producerControl, count: 1e12, bufferTimeoutMs: 5, unslicedWaits: true });
    await waitFor('the producer to wait on a full ring', () => (consumer.published() === 4 && producer.live[1]! >= 1 ? true : undefined));
    const waits = producer.live[1]!;
    consumer.release();
    await waitFor('the producer to wake and fill the freed buffer', () => (consumer.published() === 5 ? true : undefined));
    await waitFor('the producer to wait again', () => (producer.live[1]! > waits ? true : undefined));

    expect(shuffle.cancel('j', 0, 'p', 0)).toBe(true);
    const outcome = await reportOf(producer, 'the cancel did not wake the blocked producer');
    expect(outcome).toMatchObject({ done: false, errorName: 'CancellationError' });
    expect(outcome.message).toMatch(/backpressure/);
  }, 60_000);
});
