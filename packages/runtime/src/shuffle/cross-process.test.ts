/**
 * The data exchange between two TaskManager processes: this one (the producer's) and a forked
 * child (the consumer's, fixtures/exchange-process.mjs), each with its task on a worker thread
 * and its NetworkShuffleService on the main thread. Runs the compiled runtime, so it builds it
 * first when stale (see network-shuffle-service.test.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildRuntimeIfStale } from '../compiled-runtime.test-helper.js';
import type { TaskManagerLocation } from './shuffle-service.js';
import { NetworkShuffleService } from './network-shuffle-service.js';

const here = dirname(fileURLToPath(import.meta.url));
const compiled = ['io/record-writer', 'io/input-gate', 'io/channel-ring', 'io/task-control', 'shuffle/network-shuffle-service', 'shuffle/tcp/exchange', 'shuffle/tcp/channels', 'shuffle/tcp/credit', 'shuffle/tcp/peer-link', 'shuffle/tcp/connection', 'shuffle/tcp/wire'];
const HANG_MS = 30_000;

beforeAll(() => buildRuntimeIfStale(compiled), 120_000);

type ChildMessage = { type: 'ready'; location: TaskManagerLocation } | { type: 'progress'; read: number } | { type: 'result'; report: Record<string, unknown> };

let child: ChildProcess | undefined;
let producerWorker: Worker | undefined;
let shuffle: NetworkShuffleService | undefined;
afterEach(async () => {
  await producerWorker?.terminate();
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
  }
  await shuffle?.close();
  child = producerWorker = shuffle = undefined;
});

function until<T extends ChildMessage['type']>(c: ChildProcess, type: T, accept: (m: Extract<ChildMessage, { type: T }>) => boolean = () => true): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${type}' from the consumer process within ${HANG_MS} ms`)), HANG_MS);
    const onMessage = (m: ChildMessage): void => {
      if (m.type !== type || !accept(m as Extract<ChildMessage, { type: T }>)) return;
      clearTimeout(timer);
      c.off('message', onMessage);
      resolve(m as Extract<ChildMessage, { type: T }>);
    };
    c.on('message', onMessage);
  });
}

async function setUp(params: Record<string, unknown>) {
  shuffle = await NetworkShuffleService.start({ resourceId: 'tm-parent' });
  const c = fork(join(here, 'fixtures', 'exchange-process.mjs'), ['tm-child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child = c;
  const { location } = await until(c, 'ready');
  const sizes = { bufferSizeBytes: 2048, buffers: 4 };
  const partition = { jobId: 'job', attempt: 0, edgeId: 'e', producerVertexId: 'src', producerSubtask: 0 };
  const endpoint = shuffle.outputChannel({ partition, consumerVertexId: 'dst', consumerSubtask: 0, consumerLocation: location, ...sizes });
  c.send({ type: 'consume', producer: shuffle.location, sizes, params: {} });
  const worker = new Worker(join(here, 'fixtures', 'exchange-worker.mjs'), { workerData: { role: 'produce', endpoint, control: endpoint.producerControl, statsBuffer: new SharedArrayBuffer(16), ...params } });
  producerWorker = worker;
  const produced = new Promise<Record<string, unknown>>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { c, produced };
}

describe('data exchange between two processes', () => {
  it('delivers every record in order with watermarks, barriers and end of partition', async () => {
    const count = 50_000;
    const { c, produced } = await setUp({ count, watermarkEvery: 10_000, barrierEvery: 25_000 });
    const [{ report }, p] = await Promise.all([until(c, 'result'), produced]);
    expect(p).toEqual({ done: true });
    expect(report).toEqual({ done: true, count, problem: undefined, ended: true, events: ['wm@10000:9999', 'wm@20000:19999', 'barrier@25000:1', 'wm@30000:29999', 'wm@40000:39999', 'wm@50000:49999', 'barrier@50000:2'] });
  }, 60_000);

  it('a killed consumer TaskManager fails the producer task with an error naming it', async () => {
    const { c, produced } = await setUp({ count: 1e12 });
    await until(c, 'progress', (m) => m.read > 1000);
    c.kill('SIGKILL');
    const p = await produced;
    expect(p).toMatchObject({ done: false, errorName: 'ChannelBrokenError' });
    expect(p.message).toMatch(/data connection to TaskManager tm-child \(127\.0\.0\.1:\d+\) was lost/);
  }, 60_000);
});
