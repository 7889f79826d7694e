/**
 * RecordWriter → rings → InputGate on one thread: framing, partitioners, control events,
 * buffer-timeout deadlines and error cases. The cross-thread behaviour is in
 * cross-thread.test.ts.
 */
import type { PartitionerSpec } from '@sluice/api';
import { CancellationError, SluiceError, keyGroupFor, operatorIndexForKeyGroup } from '@sluice/common';
import { describe, expect, it } from 'vitest';
import { createRecordSerializer } from '../serialization/record-serializer.js';
import type { ChannelEndpoint } from '../shuffle/channel-endpoint.js';
import { LocalShuffleService } from '../shuffle/local-shuffle-service.js';
import { ChannelBrokenError, RingConsumer, breakChannelRing } from './channel-ring.js';
import { InputGate, type InputHandler } from './input-gate.js';
import { RecordWriter } from './record-writer.js';
import { createIoStats } from './stats.js';
import { TaskControl } from './task-control.js';

type Seen = ['record', unknown, number | undefined, number] | ['wm', number, number] | ['status', boolean, number] | ['end', number] | ['barrier', number] | ['abandoned', number];

function recorder(): { seen: Seen[]; handler: InputHandler } {
  const seen: Seen[] = [];
  return {
    seen,
    handler: {
      onRecord: (v, ts, i) => seen.push(['record', v, ts, i]),
      onWatermark: (wm, i) => seen.push(['wm', wm, i]),
      onWatermarkStatus: (idle, i) => seen.push(['status', idle, i]),
      onEndOfInput: (i) => seen.push(['end', i]),
      onBarrier: (id) => seen.push(['barrier', id]),
      onBarrierAbandoned: (id) => seen.push(['abandoned', id]),
    },
  };
}

interface Topology {
  shuffle: LocalShuffleService;
  /** channels[p][c]: producer p → consumer c. */
  channels: ChannelEndpoint[][];
  producerControl: (p: number) => TaskControl;
  consumerControl: (c: number) => TaskControl;
}

function topology(producers: number, consumers: number, opts: { buffers?: number; size?: number; edge?: string } = {}): Topology {
  const shuffle = new LocalShuffleService();
  const edge = opts.edge ?? 'e1';
  const channels = Array.from({ length: producers }, (_, p) =>
    Array.from({ length: consumers }, (_, c) =>
      shuffle.channel({ jobId: 'j', attempt: 0, edgeId: edge, producerVertexId: 'src', producerSubtask: p, consumerVertexId: 'dst', consumerSubtask: c, bufferSizeBytes: opts.size ?? 1024, buffers: opts.buffers ?? 8 }),
    ),
  );
  return {
    shuffle,
    channels,
    producerControl: (p) => new TaskControl(shuffle.taskControl('j', 0, 'src', p)),
    consumerControl: (c) => new TaskControl(shuffle.taskControl('j', 0, 'dst', c)),
  };
}

function writer(t: Topology, p: number, partitioner: PartitionerSpec, extra: { bufferTimeoutMs?: number; clock?: () => number; control?: TaskControl } = {}): RecordWriter {
  return new RecordWriter({
    channels: t.channels[p]!,
    partitioner,
    consumerMaxParallelism: 128,
    producerSubtask: p,
    createSerializer: createRecordSerializer,
    bufferTimeoutMs: extra.bufferTimeoutMs ?? 5,
    control: extra.control ?? t.producerControl(p),
    stats: createIoStats(),
    ...(extra.clock === undefined ? {} : { clock: extra.clock }),
  });
}

function gate(t: Topology, c: number): InputGate {
  return new InputGate({
    inputs: [{ inputIndex: 0, channels: t.channels.map((row) => row[c]!), createSerializer: createRecordSerializer }],
    control: t.consumerControl(c),
    stats: createIoStats(),
  });
}

function drain(g: InputGate, handler: InputHandler): void {
  while (g.poll(handler, 100) > 0);
}

describe('RecordWriter → InputGate', () => {
  it('delivers records, timestamps, watermarks, status and end of input in order', () => {
    const t = topology(1, 1);
    const w = writer(t, 0, { kind: 'forward' });
    const g = gate(t, 0);
    const { seen, handler } = recorder();
    w.emit({ a: 1 }, undefined);
    w.emit({ a: 2 }, 1000);
    w.broadcastWatermark(999);
    w.broadcastWatermarkStatus(true);
    w.broadcastWatermarkStatus(false);
    w.emit('x', -5);
    w.broadcastWatermark(Infinity);
    w.finish();
    expect(g.isFinished()).toBe(false);
    drain(g, handler);
    expect(seen).toEqual([
      ['record', { a: 1 }, undefined, 0],
      ['record', { a: 2 }, 1000, 0],
      ['wm', 999, 0],
      ['status', true, 0],
      ['status', false, 0],
      ['record', 'x', -5, 0],
      ['wm', Infinity, 0],
      ['end', 0],
    ]);
    expect(g.isFinished()).toBe(true);
  });

  it('publishes full batches by itself and counts bytes', () => {
    const t = topology(1, 1, { size: 256, buffers: 64 });
    const stats = createIoStats();
    const w = new RecordWriter({ channels: t.channels[0]!, partitioner: { kind: 'forward' }, consumerMaxParallelism: 128, producerSubtask: 0, createSerializer: createRecordSerializer, bufferTimeoutMs: Infinity, control: t.producerControl(0), stats });
    for (let i = 0; i < 200; i++) w.emit({ id: `user-${i}`, n: i }, i);
    expect(stats.buffersOut).toBeGreaterThan(5);
    const gateStats = createIoStats();
    const g = new InputGate({ inputs: [{ inputIndex: 0, channels: [t.channels[0]![0]!], createSerializer: createRecordSerializer }], control: t.consumerControl(0), stats: gateStats });
    const { seen, handler } = recorder();
    drain(g, handler);
    w.finish();
    drain(g, handler);
    const records = seen.filter((s) => s[0] === 'record');
    expect(records.map((r) => r[1])).toEqual(Array.from({ length: 200 }, (_, i) => ({ id: `user-${i}`, n: i })));
    expect(gateStats.bytesIn).toBe(stats.bytesOut);
  });

  describe('partitioners', () => {
    const values = Array.from({ length: 40 }, (_, i) => ({ key: `k${i % 13}`, i }));
    function route(producers: number, consumers: number, spec: PartitionerSpec, producer: number): number[][] {
      const t = topology(producers, consumers);
      const w = writer(t, producer, spec);
      for (const v of values) w.emit(v, undefined);
      w.finish();
      return Array.from({ length: consumers }, (_, c) => {
        const g = gate(t, c);
        const { seen, handler } = recorder();
        // Other producers never finish here; read what arrived.
        drain(g, handler);
        return seen.filter((s) => s[0] === 'record').map((s) => (s[1] as { i: number }).i);
      });
    }
    const all = values.map((v) => v.i);

    it('forward goes to the same index', () => {
      expect(route(3, 3, { kind: 'forward' }, 1)).toEqual([[], all, []]);
    });
    it('global goes to consumer 0', () => {
      expect(route(2, 3, { kind: 'global' }, 1)).toEqual([all, [], []]);
    });
    it('rebalance rotates starting at the producer index', () => {
      const out = route(3, 4, { kind: 'rebalance' }, 2);
      expect(out[2]!.slice(0, 2)).toEqual([0, 4]);
      expect(out[3]!.slice(0, 2)).toEqual([1, 5]);
      expect(out[0]!.slice(0, 2)).toEqual([2, 6]);
      expect(out.map((o) => o.length)).toEqual([10, 10, 10, 10]);
    });
    it('broadcast goes everywhere', () => {
      expect(route(1, 3, { kind: 'broadcast' }, 0)).toEqual([all, all, all]);
    });
    it('hash sends each key to the owner of its key group', () => {
      const out = route(1, 3, { kind: 'hash', keySelector: (v: { key: string }) => v.key }, 0);
      for (let c = 0; c < 3; c++) {
        for (const i of out[c]!) expect(operatorIndexForKeyGroup(keyGroupFor(values[i]!.key, 128), 128, 3)).toBe(c);
      }
      expect(out.flat().sort((a, b) => a - b)).toEqual(all);
    });
  });

  it('combines watermarks over producers and ends when every producer ended', () => {
    const t = topology(2, 1);
    const w0 = writer(t, 0, { kind: 'forward' }, { bufferTimeoutMs: 0 });
    const w1 = writer(t, 1, { kind: 'global' }, { bufferTimeoutMs: 0 });
    const g = gate(t, 0);
    const { seen, handler } = recorder();
    w0.broadcastWatermark(10);
    drain(g, handler);
    expect(seen).toEqual([]);
    w1.broadcastWatermark(4);
    drain(g, handler);
    w1.broadcastWatermark(20);
    drain(g, handler);
    w0.finish();
    drain(g, handler);
    expect(g.isFinished()).toBe(false);
    w1.broadcastWatermark(30);
    w1.finish();
    drain(g, handler);
    expect(seen).toEqual([['wm', 4, 0], ['wm', 10, 0], ['wm', 20, 0], ['wm', 30, 0], ['end', 0]]);
    expect(g.isFinished()).toBe(true);
  });

  it('keeps two inputs apart and unions edges of the same input', () => {
    const a = topology(1, 1, { edge: 'a' });
    const b = topology(1, 1, { edge: 'b' });
    const c = topology(1, 1, { edge: 'c' });
    const g = new InputGate({
      inputs: [
        { inputIndex: 0, channels: [a.channels[0]![0]!], createSerializer: createRecordSerializer },
        { inputIndex: 1, channels: [b.channels[0]![0]!], createSerializer: createRecordSerializer },
        { inputIndex: 0, channels: [c.channels[0]![0]!], createSerializer: createRecordSerializer },
      ],
      control: a.consumerControl(0),
      stats: createIoStats(),
    });
    const [wa, wb, wc] = [writer(a, 0, { kind: 'forward' }), writer(b, 0, { kind: 'forward' }), writer(c, 0, { kind: 'forward' })];
    wa.emit('from-a', undefined);
    wb.emit('from-b', undefined);
    wa.broadcastWatermark(5);
    wb.broadcastWatermark(7);
    wa.finish();
    wb.finish();
    const { seen, handler } = recorder();
    drain(g, handler);
    expect(seen).toContainEqual(['record', 'from-a', undefined, 0]);
    expect(seen).toContainEqual(['record', 'from-b', undefined, 1]);
    expect(seen).toContainEqual(['wm', 7, 1]);
    expect(seen).toContainEqual(['end', 1]);
    // Input 0 also has edge c, which has sent nothing: no watermark 5 and no end yet.
    expect(seen.filter((s) => s[0] === 'wm' && s[2] === 0)).toEqual([]);
    expect(seen).not.toContainEqual(['end', 0]);
    wc.broadcastWatermark(6);
    wc.finish();
    drain(g, handler);
    expect(seen.slice(-1)).toEqual([['end', 0]]);
    expect(g.isFinished()).toBe(true);
  });

  describe('buffer timeout', () => {
    it('flushes a batch once its first frame is bufferTimeoutMs old and reports the next deadline', () => {
      let now = 1000;
      const t = topology(1, 2);
      const w = writer(t, 0, { kind: 'rebalance' }, { bufferTimeoutMs: 5, clock: () => now });
      const g0 = gate(t, 0);
      const g1 = gate(t, 1);
      const { seen, handler } = recorder();
      expect(w.flushDue(now)).toBe(Infinity);
      w.emit('a', undefined); // channel 0 at t=1000
      now = 1002;
      w.emit('b', undefined); // channel 1 at t=1002
      w.emit('c', undefined); // channel 0 again: its deadline stays 1005
      expect(w.flushDue(1003)).toBe(1005);
      expect(g0.poll(handler, 10) + g1.poll(handler, 10)).toBe(0);
      expect(w.flushDue(1005)).toBe(1007);
      expect(g0.poll(handler, 10)).toBe(1);
      expect(g1.poll(handler, 10)).toBe(0);
      expect(w.flushDue(1007)).toBe(Infinity);
      expect(g1.poll(handler, 10)).toBe(1);
      expect(seen.map((s) => s[1])).toEqual(['a', 'c', 'b']);
    });

    it('marks only the last buffer of each channel final, with either buffer timeout', () => {
      for (const bufferTimeoutMs of [0, 5]) {
        const t = topology(1, 2);
        const w = writer(t, 0, { kind: 'broadcast' }, { bufferTimeoutMs });
        w.emit('a', undefined);
        w.broadcastWatermark(1);
        w.finish();
        for (const ep of t.channels[0]!) {
          const ring = new RingConsumer(ep);
          const finals: boolean[] = [];
          for (; ring.available() > 0; ring.release()) finals.push(ring.headIsFinal());
          expect(finals).toEqual(bufferTimeoutMs === 0 ? [false, false, true] : [true]);
        }
      }
    });

    it('publishes every record when bufferTimeoutMs is 0', () => {
      const t = topology(1, 1);
      const stats = createIoStats();
      const w = new RecordWriter({ channels: t.channels[0]!, partitioner: { kind: 'forward' }, consumerMaxParallelism: 128, producerSubtask: 0, createSerializer: createRecordSerializer, bufferTimeoutMs: 0, control: t.producerControl(0), stats });
      w.emit(1, undefined);
      w.emit(2, undefined);
      expect(stats.buffersOut).toBe(2);
      expect(w.flushDue(0)).toBe(Infinity);
    });
  });

  describe('errors', () => {
    it('a broken input channel fails the gate once what arrived before the break is read', () => {
      const t = topology(1, 1);
      const w = writer(t, 0, { kind: 'forward' }, { bufferTimeoutMs: 0 });
      const g = gate(t, 0);
      const { seen, handler } = recorder();
      w.emit('before', undefined);
      breakChannelRing(t.channels[0]![0]!, 'data connection to TaskManager tm-2 (127.0.0.1:1) was lost');
      expect(() => drain(g, handler)).toThrow(/input channel 0 of input 0 is broken: data connection to TaskManager tm-2/);
      expect(seen).toEqual([['record', 'before', undefined, 0]]);
      expect(() => w.emit('after', undefined)).toThrow(ChannelBrokenError);
    });

    it('names the record size and the bufferSizeBytes option when a record cannot fit', () => {
      const t = topology(1, 1, { size: 128 });
      const w = writer(t, 0, { kind: 'forward' });
      w.emit('small', undefined);
      let err: unknown;
      try {
        w.emit({ big: 'x'.repeat(500) }, 1);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SluiceError);
      expect((err as SluiceError).code).toBe('RECORD_TOO_LARGE');
      expect((err as SluiceError).message).toMatch(/record of 5\d\d bytes .* empty network buffer of 128 bytes; raise the job's bufferSizeBytes/);
      // The writer is still usable and the failed record left no trace.
      w.emit('after', undefined);
      w.finish();
      const { seen, handler } = recorder();
      drain(gate(t, 0), handler);
      expect(seen.filter((s) => s[0] === 'record').map((s) => s[1])).toEqual(['small', 'after']);
    });

    it('rejects an unserializable record without corrupting the stream', () => {
      const t = topology(1, 1);
      const w = writer(t, 0, { kind: 'forward' });
      w.emit({ a: 1 }, undefined);
      expect(() => w.emit({ a: 1, fn: () => 0 }, undefined)).toThrow(/UNSERIALIZABLE|withSerializer/);
      w.emit({ a: 2 }, undefined);
      w.finish();
      const { seen, handler } = recorder();
      drain(gate(t, 0), handler);
      expect(seen.filter((s) => s[0] === 'record').map((s) => s[1])).toEqual([{ a: 1 }, { a: 2 }]);
    });

    it('throws CancellationError instead of blocking on a full ring of a cancelled task', () => {
      const t = topology(1, 1, { size: 64, buffers: 2 });
      // Counts the writer's blocking waits (its only way to block).
      const control = t.producerControl(0);
      let waits = 0;
      const waitSync = control.waitSync.bind(control);
      control.waitSync = (seen, timeoutMs) => {
        waits++;
        waitSync(seen, timeoutMs);
      };
      const w = writer(t, 0, { kind: 'forward' }, { bufferTimeoutMs: 0, control });
      w.emit(1, undefined);
      w.emit(2, undefined);
      t.shuffle.cancel('j', 0, 'src', 0);
      expect(() => w.emit(3, undefined)).toThrow(CancellationError);
      expect(waits).toBe(0);
    });
  });

  describe('waitForData', () => {
    it('returns at once when data is waiting or arrived after poll began, and times out otherwise', async () => {
      const t = topology(1, 1);
      const w = writer(t, 0, { kind: 'forward' }, { bufferTimeoutMs: 0 });
      const g = gate(t, 0);
      const { handler } = recorder();
      // With nothing to read it waits out its timeout (a lower bound: load only lengthens it).
      const t0 = performance.now();
      await g.waitForData(30);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(25);

      // "At once": settled before the next turn of the event loop, so a wait that could only end
      // by its (one minute) timeout loses the race against a zero-delay timer, however busy the machine.
      w.emit('x', undefined);
      expect(await settlesAtOnce(g.waitForData(60_000))).toBe(true);

      expect(g.poll(handler, 10)).toBe(1);
      // A publish between poll and wait must not be missed.
      w.emit('y', undefined);
      expect(await settlesAtOnce(g.waitForData(60_000))).toBe(true);
    });

    it('wakes when a publish happens during the wait', async () => {
      const t = topology(1, 1);
      const w = writer(t, 0, { kind: 'forward' }, { bufferTimeoutMs: 0 });
      const g = gate(t, 0);
      const { seen, handler } = recorder();
      expect(g.poll(handler, 10)).toBe(0);
      setTimeout(() => w.emit('late', undefined), 20);
      // Woken by the publish: the wait's own timeout is far beyond the test's.
      await g.waitForData(10 * 60_000);
      g.poll(handler, 10);
      expect(seen).toEqual([['record', 'late', undefined, 0]]);
    });
  });
});

describe('checkpoint barriers at the InputGate (aligned)', () => {
  it('holds back a channel after its barrier until every open channel delivered it', () => {
    const t = topology(2, 1);
    const w0 = writer(t, 0, { kind: 'forward' });
    const w1 = writer(t, 1, { kind: 'forward' });
    const g = gate(t, 0);
    const { seen, handler } = recorder();
    w0.emit('a0', undefined);
    w0.broadcastBarrier(1);
    w0.emit('a1-after', undefined); // same batch as the barrier: must wait
    w0.flushAll();
    w1.emit('b0', undefined);
    w1.flushAll();
    drain(g, handler);
    // Channel 0 is blocked after its barrier; channel 1's pre-barrier record still flows.
    expect(seen).toEqual([
      ['record', 'a0', undefined, 0],
      ['record', 'b0', undefined, 0],
    ]);
    w1.emit('b1-before', undefined);
    w1.broadcastBarrier(1);
    w1.emit('b2-after', undefined);
    w1.flushAll();
    drain(g, handler);
    expect(seen.slice(2, 4)).toEqual([
      ['record', 'b1-before', undefined, 0],
      ['barrier', 1],
    ]);
    // After alignment both channels resume, including the rest of the batch that held the barrier.
    const after = seen.slice(4).map((s) => s[1]).sort();
    expect(after).toEqual(['a1-after', 'b2-after']);
  });

  it('does not wait for a channel that ended, and completes when the last missing one ends', () => {
    const t = topology(2, 1);
    const w0 = writer(t, 0, { kind: 'forward' });
    const w1 = writer(t, 1, { kind: 'forward' });
    const g = gate(t, 0);
    const { seen, handler } = recorder();
    w0.broadcastBarrier(7);
    w0.emit('late', undefined);
    w0.flushAll();
    drain(g, handler);
    expect(seen).toEqual([]);
    w1.emit('last', undefined);
    w1.finish();
    drain(g, handler);
    expect(seen).toEqual([
      ['record', 'last', undefined, 0],
      ['barrier', 7],
      ['record', 'late', undefined, 0],
    ]);
  });

  it('ignores stale barriers and abandons an alignment overtaken by a newer checkpoint', () => {
    const t = topology(2, 1);
    const w0 = writer(t, 0, { kind: 'forward' });
    const w1 = writer(t, 1, { kind: 'forward' });
    const g = gate(t, 0);
    const { seen, handler } = recorder();
    w0.broadcastBarrier(1);
    w1.broadcastBarrier(1);
    drain(g, handler);
    expect(seen).toEqual([['barrier', 1]]);
    w0.broadcastBarrier(1); // stale: already aligned
    w0.broadcastBarrier(2);
    drain(g, handler);
    w1.broadcastBarrier(3); // 2 never comes on channel 1
    w0.broadcastBarrier(3);
    drain(g, handler);
    expect(seen).toEqual([['barrier', 1], ['abandoned', 2], ['barrier', 3]]);
  });
});

/** Whether `p` settles before a zero-delay timer fires (i.e. without waiting for anything). */
async function settlesAtOnce(p: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const later = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), 0);
  });
  try {
    return await Promise.race([p.then(() => true as const), later]);
  } finally {
    clearTimeout(timer);
  }
}
