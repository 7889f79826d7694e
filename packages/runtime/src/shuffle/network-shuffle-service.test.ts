/**
 * Two TaskManagers' shuffle services in one process, over real loopback TCP, with the tasks on
 * worker threads (fixtures/exchange-worker.mjs, on the compiled runtime): order and in-band
 * events across the network, one connection per pair, backpressure through credits, and
 * failures. Every wait is for a state (no sleeps, no clock), so a busy machine only makes the
 * tests slower.
 */
import net from 'node:net';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@sluice/common';
import { buildRuntimeIfStale } from '../compiled-runtime.test-helper.js';
import { RingConsumer, RingProducer } from '../io/channel-ring.js';
import type { ChannelEndpoint } from './channel-endpoint.js';
import { NetworkShuffleService } from './network-shuffle-service.js';
import { createPlainDataTransport, type DataTransport } from './tcp/transport.js';
import { FrameDecoder, encode, type DataFrame } from './tcp/wire.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'fixtures', 'exchange-worker.mjs');
const compiled = ['io/record-writer', 'io/input-gate', 'io/channel-ring', 'io/task-control'];
const HANG_MS = 20_000;

beforeAll(() => buildRuntimeIfStale(compiled), 120_000);

/** A plain transport that keeps every stream it made or accepted, so a test can cut them. */
function tracked(): { transport: DataTransport; streams: Duplex[]; accepted: () => number } {
  const inner = createPlainDataTransport();
  const streams: Duplex[] = [];
  let accepted = 0;
  const transport: DataTransport = {
    connect: async (address) => {
      const s = await inner.connect(address);
      streams.push(s);
      return s;
    },
    listen: (onConnection) =>
      inner.listen((s) => {
        accepted++;
        streams.push(s);
        onConnection(s);
      }),
    close: () => inner.close(),
  };
  return { transport, streams, accepted: () => accepted };
}

const services: NetworkShuffleService[] = [];
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
  await Promise.all(services.splice(0).map((s) => s.close()));
});

async function service(resourceId: string, lines: string[] = []) {
  const t = tracked();
  const s = await NetworkShuffleService.start({ resourceId, transport: t.transport, logger: createLogger('warn', 'test', (l) => lines.push(l)) });
  services.push(s);
  return { s, ...t };
}

const sizes = { bufferSizeBytes: 1024, buffers: 4 };

/** Both ends of channel `edge` p→c from `from` (producer side) to `to` (consumer side). */
function channel(from: NetworkShuffleService, to: NetworkShuffleService, edgeId = 'e', attempt = 0) {
  const partition = { jobId: 'job', attempt, edgeId, producerVertexId: 'src', producerSubtask: 0 };
  const out = from.outputChannel({ partition, consumerVertexId: 'dst', consumerSubtask: 0, consumerLocation: to.location, ...sizes });
  const inp = to.inputChannel({ partition, consumerVertexId: 'dst', consumerSubtask: 0, producerLocation: from.location, ...sizes });
  return { out, in: inp };
}

interface Task {
  report: Promise<Record<string, unknown>>;
  /** [0] producer backpressure waits, [1] records the consumer read. */
  live: Float64Array;
}

function task(role: 'produce' | 'consume', endpoint: ChannelEndpoint, data: Record<string, unknown> = {}): Task {
  const statsBuffer = new SharedArrayBuffer(16);
  const control = role === 'produce' ? endpoint.producerControl : endpoint.consumerControl;
  const worker = new Worker(fixture, { workerData: { role, endpoint, control, statsBuffer, ...data } });
  workers.push(worker);
  const report = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no report from the ${role} task within ${HANG_MS} ms`)), HANG_MS);
    worker.once('message', (m: Record<string, unknown>) => {
      clearTimeout(timer);
      resolve(m);
    });
    worker.once('error', reject);
  });
  return { report, live: new Float64Array(statsBuffer) };
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

describe('NetworkShuffleService over loopback TCP', () => {
  it('delivers records, watermarks, barriers and end of partition in order, all channels of a pair on one connection', async () => {
    const a = await service('tm-a');
    const b = await service('tm-b');
    const ab1 = channel(a.s, b.s, 'e1');
    const ab2 = channel(a.s, b.s, 'e2');
    const ba = channel(b.s, a.s, 'e3');
    const count = 20_000;
    const params = { count, watermarkEvery: 1000, barrierEvery: 5000 };
    const tasks = [ab1, ab2, ba].flatMap((c) => [task('produce', c.out, params), task('consume', c.in)]);
    const reports = await Promise.all(tasks.map((t) => t.report));
    const events: string[] = [];
    for (let i = 1000; i <= count; i += 1000) {
      events.push(`wm@${i}:${i - 1}`);
      if (i % 5000 === 0) events.push(`barrier@${i}:${i / 5000}`);
    }
    for (const r of reports.filter((_, i) => i % 2 === 1)) expect(r).toEqual({ done: true, count, problem: undefined, events, ended: true });
    // Both dialed at once (each consumes from the other); the tie-break kept one connection.
    const open = () => [...a.streams, ...b.streams].filter((st) => !st.destroyed).length;
    await waitFor('the duplicate connection to close', () => (open() === 2 ? true : undefined));
    expect([a.s.peers, b.s.peers]).toEqual([['tm-b'], ['tm-a']]);
    // A later channel, either way, travels on that connection.
    const dialed = a.accepted() + b.accepted();
    const late = channel(b.s, a.s, 'e4');
    new RingProducer(late.out).tryPublish(new Uint8Array([7]), 1, true);
    await waitFor('a buffer on the late channel', () => (new RingConsumer(late.in).available() === 1 ? true : undefined));
    expect([a.accepted() + b.accepted(), open()]).toEqual([dialed, 2]);
    // Each channel ended with its final buffer, on both sides.
    for (const c of [...a.s.remoteChannels(), ...b.s.remoteChannels()]) expect(c.state).toBe('done');
    // Same-TaskManager channels stay on shared memory: one ring, no network.
    const partition = { jobId: 'job', attempt: 0, edgeId: 'local', producerVertexId: 'src', producerSubtask: 0 };
    const out = a.s.outputChannel({ partition, consumerVertexId: 'dst', consumerSubtask: 0, consumerLocation: a.s.location, ...sizes });
    expect(a.s.inputChannel({ partition, consumerVertexId: 'dst', consumerSubtask: 0, producerLocation: a.s.location, ...sizes })).toBe(out);
  }, 60_000);

  it('a consumer that stops reading fills the producer ring through the network, and each freed buffer lets one more through', async () => {
    const a = await service('tm-a');
    const b = await service('tm-b');
    const c = channel(a.s, b.s);
    const producer = task('produce', c.out, { count: 1e12 });
    const consumer = new RingConsumer(c.in);
    let released = 0;
    const outInfo = () => a.s.remoteChannels().find((x) => x.direction === 'out')!;
    // Consumer ring full (its 4 credits used), outbound ring full, producer blocked.
    await waitFor('both rings to fill and the producer to block', () => (consumer.available() === 4 && outInfo().freeBuffers === 0 && producer.live[0]! > 0 ? true : undefined));
    expect(outInfo()).toMatchObject({ state: 'open', credits: 0, backlog: 4 });
    expect(b.s.remoteChannels()[0]).toMatchObject({ direction: 'in', credits: 0, freeBuffers: 0 });
    const waits = producer.live[0]!;
    consumer.release();
    released++;
    // One freed buffer = one credit = one buffer across; the producer refills its ring and blocks again.
    await waitFor('one more buffer to arrive', () => (consumer.available() + released === 5 ? true : undefined));
    await waitFor('the producer to block again', () => (outInfo().freeBuffers === 0 && producer.live[0]! > waits ? true : undefined));
    expect(consumer.available()).toBe(4);
    a.s.cancel('job', 0, 'src', 0);
    expect(await producer.report).toMatchObject({ done: false, errorName: 'CancellationError' });
    // The consumer's side hears of it: its task will fail after the buffers that arrived.
    const reason = await waitFor('the consumer ring to break', () => consumer.brokenReason());
    expect(reason).toMatch(/TaskManager tm-a refused or failed channel 0→0 of edge e, job job \(attempt 0\): subtask 0 of src was cancelled on TaskManager tm-a/);
    expect(consumer.available()).toBe(4);
  }, 60_000);

  it('cancelling a consumer subtask fails the producer on the other TaskManager instead of leaving it blocked', async () => {
    const a = await service('tm-a');
    const b = await service('tm-b');
    const c = channel(a.s, b.s);
    const producer = task('produce', c.out, { count: 1e12 });
    await waitFor('the producer to block on the unread channel', () => (producer.live[0]! > 0 ? true : undefined));
    expect(b.s.cancel('job', 0, 'dst', 0)).toBe(true);
    const p = await producer.report;
    expect(p).toMatchObject({ done: false, errorName: 'ChannelBrokenError' });
    expect(p.message).toMatch(/the consumer's TaskManager tm-b released channel 0→0 of edge e/);
  }, 60_000);

  it('a connection cut mid-exchange fails the producer and the consumer, each naming the other TaskManager', async () => {
    const a = await service('tm-a');
    const b = await service('tm-b');
    const c = channel(a.s, b.s);
    const producer = task('produce', c.out, { count: 1e12 });
    const consumer = task('consume', c.in);
    await waitFor('records to flow', () => (consumer.live[1]! > 1000 ? true : undefined));
    a.streams[0]!.destroy();
    const [p, r] = await Promise.all([producer.report, consumer.report]);
    expect(p).toMatchObject({ done: false, errorName: 'ChannelBrokenError' });
    expect(p.message).toMatch(/output channel is broken: data connection to TaskManager tm-b \(127\.0\.0\.1:\d+\) was lost/);
    expect(r).toMatchObject({ done: false, errorName: 'ChannelBrokenError' });
    expect(r.message).toMatch(/input channel 0 of input 0 is broken: data connection to TaskManager tm-a \(127\.0\.0\.1:\d+\) was lost/);
    expect([a.s.remoteChannels()[0]!.state, b.s.remoteChannels()[0]!.state]).toEqual(['failed', 'failed']);
    expect([a.s.peers, b.s.peers]).toEqual([[], []]);
  }, 60_000);

  it('releasing a job attempt on the consumer side releases the producer side, whose task fails instead of hanging', async () => {
    const a = await service('tm-a');
    const b = await service('tm-b');
    const c = channel(a.s, b.s);
    const producer = task('produce', c.out, { count: 1e12 });
    await waitFor('the producer to block on the unread channel', () => (producer.live[0]! > 0 ? true : undefined));
    b.s.releaseJob('job', 0);
    const p = await producer.report;
    expect(p).toMatchObject({ done: false, errorName: 'ChannelBrokenError' });
    expect(p.message).toMatch(/TaskManager tm-b cancelled job job attempt 0/);
    // A late request for the released attempt is refused, with the reason.
    b.s.releaseJob('job');
    a.s.releaseJob('job', 0);
    const late = b.s.inputChannel({ partition: { jobId: 'job', attempt: 0, edgeId: 'e9', producerVertexId: 'src', producerSubtask: 0 }, consumerVertexId: 'dst', consumerSubtask: 0, producerLocation: a.s.location, ...sizes });
    const reason = await waitFor('the refusal', () => new RingConsumer(late).brokenReason());
    expect(reason).toMatch(/TaskManager tm-a refused or failed channel 0→0 of edge e9, job job \(attempt 0\): job job attempt 0 is no longer running on TaskManager tm-a/);
  }, 60_000);

  it('closes connections that send garbage or another version, logs why, and keeps serving', async () => {
    const lines: string[] = [];
    const a = await service('tm-a', lines);
    const address = a.s.location.dataAddress!;
    const talk = (bytes: Buffer) =>
      new Promise<DataFrame[]>((resolve) => {
        const frames: DataFrame[] = [];
        const decoder = new FrameDecoder(1 << 20, (f) => frames.push(f));
        const sock = net.connect(address.port, address.host, () => sock.write(bytes));
        sock.on('data', (d: Buffer) => decoder.push(d));
        sock.on('error', () => {});
        sock.on('close', () => resolve(frames));
      });
    expect(await talk(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toEqual([expect.objectContaining({ type: 'goodbye', message: expect.stringMatching(/protocol error .*frame of \d+ bytes announced/) })]);
    const oldHello = encode.hello('tm-old');
    oldHello.writeUInt16BE(99, 9);
    const answer = await talk(oldHello);
    expect(answer).toEqual([expect.objectContaining({ type: 'goodbye', message: expect.stringMatching(/speaks data exchange version 99, this TaskManager version 1/) })]);
    expect(lines.filter((l) => l.includes('data connection closed'))).toHaveLength(2);
    // Still serving: a real peer exchanges a buffer.
    const b = await service('tm-b');
    const c = channel(a.s, b.s);
    new RingProducer(c.out).tryPublish(new Uint8Array([1, 2, 3]), 3, true);
    const consumer = new RingConsumer(c.in);
    await waitFor('the buffer to cross', () => (consumer.available() === 1 ? true : undefined));
    expect([consumer.headLength(), consumer.headIsFinal()]).toEqual([3, true]);
  }, 60_000);

  it('releasing a whole job (its last slot here was freed) still serves a later attempt of it, as after a failover back onto this TaskManager', async () => {
    const a = await service('tm-a');
    const b = await service('tm-b');
    channel(a.s, b.s, 'e', 0);
    a.s.releaseJob('job');
    b.s.releaseJob('job');
    const c = channel(a.s, b.s, 'e', 1);
    new RingProducer(c.out).tryPublish(new Uint8Array([7]), 1, true);
    const consumer = new RingConsumer(c.in);
    await waitFor('the buffer of attempt 1 to cross', () => (consumer.available() === 1 ? true : undefined));
    expect(consumer.brokenReason()).toBeUndefined();
  }, 60_000);
});
