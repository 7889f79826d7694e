import { describe, expect, it } from 'vitest';
import { RingConsumer, RingProducer, ringByteLength } from '../io/channel-ring.js';
import { TaskControl } from '../io/task-control.js';
import type { ChannelEndpoint } from './channel-endpoint.js';
import { LocalShuffleService, type ChannelRequest } from './local-shuffle-service.js';
import { RING_SLAB_BYTES } from './ring-slabs.js';

const req = (over: Partial<ChannelRequest> = {}): ChannelRequest => ({
  jobId: 'job',
  attempt: 0,
  edgeId: 'e',
  producerVertexId: 'v1',
  producerSubtask: 0,
  consumerVertexId: 'v2',
  consumerSubtask: 1,
  bufferSizeBytes: 1024,
  buffers: 4,
  ...over,
});

describe('LocalShuffleService', () => {
  it('returns the same memory for the same key, whoever asks first', () => {
    const s = new LocalShuffleService();
    const a = s.channel(req());
    const b = s.channel(req());
    expect(b).toBe(a);
    expect(a.producerControl).toBe(s.taskControl('job', 0, 'v1', 0));
    expect(a.consumerControl).toBe(s.taskControl('job', 0, 'v2', 1));
    expect(a.buffers).toBe(4);
    expect(a.bufferSizeBytes).toBe(1024);
  });

  it('keeps attempts, edges and subtask pairs apart', () => {
    const s = new LocalShuffleService();
    const base = s.channel(req());
    expect(s.channel(req({ attempt: 1 })).ring).not.toBe(base.ring);
    expect(s.channel(req({ edgeId: 'f' })).ringOffset).not.toBe(base.ringOffset);
    expect(s.channel(req({ consumerSubtask: 0 })).ringOffset).not.toBe(base.ringOffset);
    expect(s.taskControl('job', 1, 'v1', 0)).not.toBe(s.taskControl('job', 0, 'v1', 0));
  });

  it('refuses a second request with different sizes', () => {
    const s = new LocalShuffleService();
    s.channel(req());
    expect(() => s.channel(req({ buffers: 8 }))).toThrow(/requested with 8 × 1024 bytes but exists with 4 × 1024/);
  });

  it('cancel sets the flag and rings the doorbell of that subtask only', () => {
    const s = new LocalShuffleService();
    const c0 = new TaskControl(s.taskControl('job', 0, 'v1', 0));
    const c1 = new TaskControl(s.taskControl('job', 0, 'v1', 1));
    expect(s.cancel('job', 0, 'v1', 0)).toBe(true);
    expect(c0.cancelled()).toBe(true);
    expect(c0.doorbell()).toBe(1);
    expect(c1.cancelled()).toBe(false);
    expect(s.isCancelled('job', 0, 'v1', 0)).toBe(true);
    expect(s.cancel('job', 0, 'nope', 0)).toBe(false);
    s.cancelJob('job', 0);
    expect(c1.cancelled()).toBe(true);
  });

  it('carves rings from slabs above the largest mmap threshold, one page-aligned region each', () => {
    const s = new LocalShuffleService();
    const size = { bufferSizeBytes: 32 * 1024, buffers: 8 };
    const rings = Array.from({ length: 300 }, (_, i) => s.channel(req({ ...size, producerSubtask: i })));
    const bytes = ringByteLength(8, 32 * 1024);
    const slabs = new Set(rings.map((r) => r.ring));
    // 300 rings of 256 KiB do not fit one 64 MiB slab: two slabs, each past glibc's 32 MiB.
    expect(slabs.size).toBe(2);
    for (const slab of slabs) expect(slab.byteLength).toBeGreaterThan(32 * 2 ** 20);
    for (const slab of slabs) {
      const regions = rings.filter((r) => r.ring === slab).map((r) => r.ringOffset ?? 0).sort((a, b) => a - b);
      regions.forEach((offset, i) => {
        expect(offset % 4096).toBe(0);
        expect(offset + bytes).toBeLessThanOrEqual(regions[i + 1] ?? slab.byteLength);
      });
    }
    const huge = s.channel(req({ edgeId: 'huge', bufferSizeBytes: RING_SLAB_BYTES, buffers: 2 }));
    expect(huge.ringOffset).toBe(0);
    expect(huge.ring.byteLength).toBeGreaterThanOrEqual(ringByteLength(2, RING_SLAB_BYTES));
  });

  it('rings sharing a slab carry their batches apart', () => {
    const s = new LocalShuffleService();
    const a = s.channel(req({ producerSubtask: 0 }));
    const b = s.channel(req({ producerSubtask: 1 }));
    expect(b.ring).toBe(a.ring);
    const send = (ep: ChannelEndpoint, bytes: number[]): void => void new RingProducer(ep).tryPublish(new Uint8Array(bytes), bytes.length);
    send(a, [1, 2, 3]);
    send(b, [7]);
    const read = (ep: ChannelEndpoint): number[][] => {
      const c = new RingConsumer(ep);
      const out: number[][] = [];
      while (c.available() > 0) {
        out.push(Array.from(c.data.subarray(c.headOffset(), c.headOffset() + c.headLength())));
        c.release();
      }
      return out;
    };
    expect(read(a)).toEqual([[1, 2, 3]]);
    expect(read(b)).toEqual([[7]]);
  });

  it('releaseJob forgets one attempt', () => {
    const s = new LocalShuffleService();
    const old = s.channel(req());
    s.channel(req({ attempt: 1 }));
    s.releaseJob('job', 0);
    expect(s.jobCount).toBe(1);
    expect(s.channel(req()).ring).not.toBe(old.ring);
  });
});
