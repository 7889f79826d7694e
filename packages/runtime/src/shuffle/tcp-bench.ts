/**
 * Benchmark of one channel between two TaskManager processes: a producer task on a worker thread
 * of this process, a consumer task on a worker thread of a forked child process, each process's
 * main thread running its NetworkShuffleService, loopback TCP between them. ~100-byte records.
 *
 *   throughput  as many records as the channel takes (buffer timeout 5 ms, 32 KiB × 8 buffers)
 *   latency     10,000 records/s with buffer timeout 0; emit → read time of each record after
 *               a warm-up second (both processes read the same system clock)
 *
 *   npx tsc -b packages/runtime && node packages/runtime/dist/shuffle/tcp-bench.js [--records=N] [--seconds=S] [--rate=R]
 *
 * Prints one line per run and, last, the figures as JSON (bench/src/tcp-channel.ts reads it).
 * Also the two-process check of the data exchange: it fails unless every record arrives in order.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { preciseNowMs } from '@sluice/common';
import { InputGate } from '../io/input-gate.js';
import { RecordWriter } from '../io/record-writer.js';
import { createIoStats } from '../io/stats.js';
import { TaskControl } from '../io/task-control.js';
import { createRecordSerializer } from '../serialization/record-serializer.js';
import type { ChannelEndpoint } from './channel-endpoint.js';
import { NetworkShuffleService } from './network-shuffle-service.js';
import type { TaskManagerLocation } from './shuffle-service.js';

const SELF = fileURLToPath(import.meta.url);
const SIZES = { bufferSizeBytes: 32 * 1024, buffers: 8 };
const PAYLOAD = 'p'.repeat(81);

interface Run {
  mode: 'throughput' | 'latency';
  attempt: number;
  records: number;
  rate: number;
  warmupRecords: number;
}

interface ConsumerResult {
  records: number;
  bytes: number;
  outOfOrder: number;
  endAt: number;
  latencies: number[];
}

export interface TcpChannelFigures {
  records_per_sec: number;
  mb_per_sec: number;
  bytes_per_record: number;
  latency_rate: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

const partition = (attempt: number) => ({ jobId: 'tcp-bench', attempt, edgeId: 'e', producerVertexId: 'producer', producerSubtask: 0 });

// ---- worker threads: the two tasks ----

function produce(run: Run, endpoint: ChannelEndpoint, control: SharedArrayBuffer): number {
  const writer = new RecordWriter({
    channels: [endpoint],
    partitioner: { kind: 'forward' },
    consumerMaxParallelism: 128,
    producerSubtask: 0,
    createSerializer: createRecordSerializer,
    bufferTimeoutMs: run.mode === 'latency' ? 0 : 5,
    control: new TaskControl(control),
    stats: createIoStats(),
  });
  const startAt = preciseNowMs();
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < run.records; i++) {
    if (run.mode === 'latency') {
      // Paced: sleep until this record is due (slices of ≥ 1 ms; the records due meanwhile go together).
      const due = startAt + (i * 1000) / run.rate;
      const ahead = due - preciseNowMs();
      if (ahead > 1) Atomics.wait(sleeper, 0, 0, ahead);
    } else if ((i & 1023) === 0) writer.flushDue(preciseNowMs());
    writer.emit({ seq: i, ts: preciseNowMs(), payload: PAYLOAD }, undefined);
  }
  writer.finish();
  return startAt;
}

async function consume(run: Run, endpoint: ChannelEndpoint, control: SharedArrayBuffer): Promise<ConsumerResult> {
  const stats = createIoStats();
  const gate = new InputGate({ inputs: [{ inputIndex: 0, channels: [endpoint], createSerializer: createRecordSerializer }], control: new TaskControl(control), stats });
  let records = 0;
  let outOfOrder = 0;
  const latencies = new Float64Array(run.mode === 'latency' ? Math.max(0, run.records - run.warmupRecords) : 0);
  const handler = {
    onRecord(v: unknown) {
      const r = v as { seq: number; ts: number };
      if (r.seq !== records) outOfOrder++;
      if (run.mode === 'latency' && records >= run.warmupRecords) latencies[records - run.warmupRecords] = preciseNowMs() - r.ts;
      records++;
    },
    onWatermark() {},
    onWatermarkStatus() {},
    onEndOfInput() {},
    onBarrier() {},
    onBarrierAbandoned() {},
  };
  while (!gate.isFinished()) if (gate.poll(handler, 64) === 0) await gate.waitForData(100);
  const endAt = preciseNowMs();
  const sorted = latencies.sort();
  const pick = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { records, bytes: stats.bytesIn, outOfOrder, endAt, latencies: [pick(0.5), pick(0.99), sorted[sorted.length - 1] ?? NaN] };
}

if (!isMainThread) {
  const { role, run, endpoint, control } = workerData as { role: 'produce' | 'consume'; run: Run; endpoint: ChannelEndpoint; control: SharedArrayBuffer };
  if (role === 'produce') parentPort!.postMessage(produce(run, endpoint, control));
  else parentPort!.postMessage(await consume(run, endpoint, control));
}

function task<T>(data: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    const w = new Worker(SELF, { workerData: data });
    w.once('message', (m: T) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

// ---- the consumer's TaskManager: a child process ----

type ToChild = { type: 'consume'; run: Run; producer: TaskManagerLocation } | { type: 'exit' };
type FromChild = { type: 'ready'; location: TaskManagerLocation } | { type: 'result'; result: ConsumerResult } | { type: 'error'; message: string };

async function childMain(): Promise<void> {
  const shuffle = await NetworkShuffleService.start({ resourceId: 'tm-consumer' });
  const send = (m: FromChild): void => void process.send!(m);
  process.on('message', (m: ToChild) => {
    if (m.type === 'exit') {
      void shuffle.close().then(() => process.disconnect());
      return;
    }
    const endpoint = shuffle.inputChannel({ partition: partition(m.run.attempt), consumerVertexId: 'consumer', consumerSubtask: 0, producerLocation: m.producer, ...SIZES });
    task<ConsumerResult>({ role: 'consume', run: m.run, endpoint, control: endpoint.consumerControl }).then(
      (result) => send({ type: 'result', result }),
      (err: unknown) => send({ type: 'error', message: String(err) }),
    );
  });
  send({ type: 'ready', location: shuffle.location });
}

// ---- the producer's TaskManager: this process ----

function nextMessage(child: ChildProcess): Promise<FromChild> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`the consumer process exited with ${code}`));
    child.once('exit', onExit);
    child.once('message', (m: FromChild) => {
      child.off('exit', onExit);
      if (m.type === 'error') reject(new Error(`consumer failed: ${m.message}`));
      else resolve(m);
    });
  });
}

async function measure(shuffle: NetworkShuffleService, child: ChildProcess, consumerAt: TaskManagerLocation, run: Run): Promise<{ startAt: number; result: ConsumerResult }> {
  const endpoint = shuffle.outputChannel({ partition: partition(run.attempt), consumerVertexId: 'consumer', consumerSubtask: 0, consumerLocation: consumerAt, ...SIZES });
  const consumed = nextMessage(child);
  child.send({ type: 'consume', run, producer: shuffle.location } satisfies ToChild);
  const startAt = await task<number>({ role: 'produce', run, endpoint, control: endpoint.producerControl });
  const m = await consumed;
  if (m.type !== 'result') throw new Error(`unexpected message ${m.type} from the consumer process`);
  if (m.result.records !== run.records || m.result.outOfOrder !== 0) throw new Error(`the consumer read ${m.result.records} of ${run.records} records, ${m.result.outOfOrder} out of order`);
  shuffle.releaseJob('tcp-bench', run.attempt);
  return { startAt, result: m.result };
}

export async function runTcpChannelBench(options: { records: number; seconds: number; rate: number }): Promise<TcpChannelFigures> {
  const shuffle = await NetworkShuffleService.start({ resourceId: 'tm-producer' });
  const child = fork(SELF, [], { env: { ...process.env, SLUICE_TCP_BENCH_CHILD: '1' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const ready = await nextMessage(child);
    if (ready.type !== 'ready') throw new Error('the consumer process did not start');
    const t = await measure(shuffle, child, ready.location, { mode: 'throughput', attempt: 0, records: options.records, rate: 0, warmupRecords: 0 });
    const seconds = (t.result.endAt - t.startAt) / 1000;
    const l = await measure(shuffle, child, ready.location, { mode: 'latency', attempt: 1, records: options.rate * (options.seconds + 1), rate: options.rate, warmupRecords: options.rate });
    const [p50, p99, max] = l.result.latencies as [number, number, number];
    return {
      records_per_sec: Math.round(options.records / seconds),
      mb_per_sec: t.result.bytes / seconds / 2 ** 20,
      bytes_per_record: t.result.bytes / options.records,
      latency_rate: options.rate,
      p50_ms: p50,
      p99_ms: p99,
      max_ms: max,
    };
  } finally {
    if (child.connected) child.send({ type: 'exit' } satisfies ToChild);
    await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(undefined)));
    await shuffle.close();
  }
}

function arg(name: string, fallback: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  const v = a === undefined ? fallback : Number(a.slice(name.length + 3).replaceAll('_', ''));
  if (!(Number.isSafeInteger(v) && v > 0)) throw new Error(`--${name} needs a positive integer, got '${a}'`);
  return v;
}

if (isMainThread && process.env['SLUICE_TCP_BENCH_CHILD'] === '1') await childMain();
else if (isMainThread && process.argv[1] === SELF) {
  const f = await runTcpChannelBench({ records: arg('records', 5_000_000), seconds: arg('seconds', 10), rate: arg('rate', 10_000) });
  console.log(`tcp-channel throughput: ${f.records_per_sec} records/s, ${f.mb_per_sec.toFixed(1)} MB/s (${f.bytes_per_record.toFixed(0)} bytes/record)`);
  console.log(`tcp-channel latency at ${f.latency_rate} records/s, buffer timeout 0: p50 ${f.p50_ms.toFixed(3)} ms, p99 ${f.p99_ms.toFixed(3)} ms, max ${f.max_ms.toFixed(3)} ms`);
  console.log(JSON.stringify(f));
}
