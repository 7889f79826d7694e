/**
 * Micro-benchmark of the thread hop: default serializer + RecordWriter + SharedArrayBuffer ring
 * + InputGate, one producer thread and one consumer thread, with a ~100-byte transaction-like
 * record. Also times serialize+deserialize on one thread, to show what the hop itself costs.
 *
 *   npx tsc -b packages/runtime && node packages/runtime/dist/io/bench.js [records] [bufferBytes] [buffers]
 *
 * Not a test: prints figures, asserts only that every record arrived in order.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { BufferDataInput } from '../serialization/data-input.js';
import { BufferDataOutput } from '../serialization/data-output.js';
import { createRecordSerializer } from '../serialization/record-serializer.js';
import type { ChannelEndpoint } from '../shuffle/channel-endpoint.js';
import { LocalShuffleService } from '../shuffle/local-shuffle-service.js';
import { InputGate } from './input-gate.js';
import { RecordWriter } from './record-writer.js';
import { createIoStats } from './stats.js';
import { TaskControl } from './task-control.js';

interface Txn {
  id: string;
  userId: string;
  amount: number;
  currency: string;
  merchant: string;
  country: string;
  ts: number;
  flagged: boolean;
  score: number;
}

const merchants = ['Coffee Shop Berlin', 'Online Books Ltd.', 'Fuel Station 24/7', 'Grocery Market'];

function txn(i: number): Txn {
  return {
    id: `txn-${1_000_000_000 + i}`,
    userId: `user-${i % 10_000}`,
    amount: (i % 100_000) / 100 + 0.01,
    currency: 'EUR',
    merchant: merchants[i & 3]!,
    country: 'DE',
    ts: 1_700_000_000_000 + i,
    flagged: (i & 63) === 0,
    score: (i % 997) / 997,
  };
}

interface Job {
  role: 'produce' | 'consume';
  endpoint: ChannelEndpoint;
  control: SharedArrayBuffer;
  records: number;
}

function produce(job: Job): void {
  const stats = createIoStats();
  const writer = new RecordWriter({
    channels: [job.endpoint],
    partitioner: { kind: 'forward' },
    consumerMaxParallelism: 128,
    producerSubtask: 0,
    createSerializer: createRecordSerializer,
    bufferTimeoutMs: 5,
    control: new TaskControl(job.control),
    stats,
  });
  const t0 = performance.now();
  for (let i = 0; i < job.records; i++) writer.emit(txn(i), 1_700_000_000_000 + i);
  writer.broadcastWatermark(Infinity);
  writer.finish();
  parentPort!.postMessage({ ms: performance.now() - t0, bytes: stats.bytesOut, buffers: stats.buffersOut, backpressuredMs: stats.backpressuredMs });
}

async function consume(job: Job): Promise<void> {
  const stats = createIoStats();
  const gate = new InputGate({ inputs: [{ inputIndex: 0, channels: [job.endpoint], createSerializer: createRecordSerializer }], control: new TaskControl(job.control), stats });
  let n = 0;
  let bad = 0;
  let checksum = 0;
  const handler = {
    onRecord(v: unknown) {
      const t = v as Txn;
      if (t.ts !== 1_700_000_000_000 + n) bad++;
      checksum += t.amount;
      n++;
    },
    onWatermark() {},
    onWatermarkStatus() {},
    onEndOfInput() {},
    onBarrier() {},
    onBarrierAbandoned() {},
  };
  const t0 = performance.now();
  let waits = 0;
  while (!gate.isFinished()) {
    if (gate.poll(handler, 64) === 0) {
      waits++;
      await gate.waitForData(100);
    }
  }
  parentPort!.postMessage({ ms: performance.now() - t0, records: n, bad, checksum, waits });
}

function singleThread(records: number): number {
  const w = createRecordSerializer();
  const r = createRecordSerializer();
  const out = new BufferDataOutput(new Uint8Array(32 * 1024));
  const input = new BufferDataInput(out.bytes);
  const t0 = performance.now();
  for (let i = 0; i < records; i++) {
    if (out.remaining() < 256) out.pos = 0;
    const start = out.pos;
    w.serialize(txn(i), out);
    input.setRange(start, out.pos);
    r.deserialize(input);
  }
  return performance.now() - t0;
}

function run(job: Job, script: URL): Promise<Record<string, number>> {
  const worker = new Worker(script, { workerData: job });
  return new Promise((resolve, reject) => {
    worker.once('message', (m: Record<string, number>) => {
      void worker.terminate();
      resolve(m);
    });
    worker.once('error', reject);
  });
}

async function main(): Promise<void> {
  const records = Number(process.argv[2] ?? 3_000_000);
  const bufferSizeBytes = Number(process.argv[3] ?? 32 * 1024);
  const buffers = Number(process.argv[4] ?? 8);
  const probe = new BufferDataOutput(new Uint8Array(1024));
  const s = createRecordSerializer();
  s.serialize(txn(1), probe);
  const first = probe.pos;
  s.serialize(txn(2), probe);
  const recordBytes = probe.pos - first;

  const single = singleThread(records);
  console.log(`record: ${recordBytes} bytes serialized (+1 frame byte, +8 timestamp), ${first} bytes for the first (shape definition)`);
  console.log(`single thread serialize+deserialize: ${((records / single) * 1000 / 1e6).toFixed(2)} M records/s`);

  for (let round = 1; round <= Number(process.env.ROUNDS ?? 3); round++) {
    const shuffle = new LocalShuffleService();
    const endpoint = shuffle.channel({ jobId: 'bench', attempt: round, edgeId: 'e', producerVertexId: 'p', producerSubtask: 0, consumerVertexId: 'c', consumerSubtask: 0, bufferSizeBytes, buffers });
    const script = new URL(import.meta.url);
    const t0 = performance.now();
    const [p, c] = await Promise.all([
      run({ role: 'produce', endpoint, control: endpoint.producerControl, records }, script),
      run({ role: 'consume', endpoint, control: endpoint.consumerControl, records }, script),
    ]);
    const wall = performance.now() - t0;
    if (c.records !== records || c.bad !== 0) throw new Error(`lost or reordered records: got ${c.records}, ${c.bad} out of order`);
    const ms = c.ms ?? NaN;
    const rate = (records / ms) * 1000;
    console.log(
      `two threads, round ${round}: ${(rate / 1e6).toFixed(2)} M records/s (${((p.bytes! / ms) * 1000 / 1e6).toFixed(0)} MB/s), ` +
        `consumer ${ms.toFixed(0)} ms, producer ${p.ms!.toFixed(0)} ms (backpressured ${p.backpressuredMs!.toFixed(0)} ms), ` +
        `${p.buffers} buffers of ${bufferSizeBytes} B × ${buffers}, consumer waits ${c.waits}, wall ${wall.toFixed(0)} ms`,
    );
  }
}

if (isMainThread) await main();
else {
  const job = workerData as Job;
  if (job.role === 'produce') produce(job);
  else await consume(job);
}
