import { describe, expect, it } from 'vitest';
import type { ChannelEndpoint } from '../shuffle/channel-endpoint.js';
import { RingConsumer, RingProducer, createChannelRing } from './channel-ring.js';
import { TaskControl, createTaskControlBuffer } from './task-control.js';

function endpoint(buffers: number, size: number): ChannelEndpoint {
  return { ring: createChannelRing(buffers, size), producerControl: createTaskControlBuffer(), consumerControl: createTaskControlBuffer(), bufferSizeBytes: size, buffers };
}

describe('channel ring', () => {
  it('hands buffers over in order and counts credits', () => {
    const ep = endpoint(3, 64);
    const p = new RingProducer(ep);
    const c = new RingConsumer(ep);
    expect(p.freeBuffers()).toBe(3);
    for (let i = 1; i <= 3; i++) expect(p.tryPublish(new Uint8Array([i, i, i]), i)).toBe(true);
    expect(p.tryPublish(new Uint8Array([9]), 1)).toBe(false);
    expect(p.freeBuffers()).toBe(0);
    expect(c.available()).toBe(3);
    for (let i = 1; i <= 3; i++) {
      expect(c.headLength()).toBe(i);
      expect(Array.from(c.data.subarray(c.headOffset(), c.headOffset() + i))).toEqual(new Array(i).fill(i));
      c.release();
    }
    expect(c.available()).toBe(0);
    expect(p.freeBuffers()).toBe(3);
  });

  it('rings the consumer on publish and the producer on release', () => {
    const ep = endpoint(2, 64);
    const producerCtl = new TaskControl(ep.producerControl);
    const consumerCtl = new TaskControl(ep.consumerControl);
    const p = new RingProducer(ep);
    const c = new RingConsumer(ep);
    p.tryPublish(new Uint8Array(1), 1);
    expect(consumerCtl.doorbell()).toBe(1);
    c.release();
    expect(producerCtl.doorbell()).toBe(1);
  });

  it('keeps going across many wraps of the slot index', () => {
    const ep = endpoint(3, 64);
    const p = new RingProducer(ep);
    const c = new RingConsumer(ep);
    for (let i = 0; i < 10_000; i++) {
      expect(p.tryPublish(new Uint8Array([i & 0xff]), 1)).toBe(true);
      if (i % 2 === 1) {
        expect(c.available()).toBe(2);
        for (let k = 0; k < 2; k++) {
          expect(c.data[c.headOffset()]).toBe((i - 1 + k) & 0xff);
          c.release();
        }
      }
    }
  });

  it('validates sizes and endpoint/ring agreement', () => {
    expect(() => createChannelRing(0, 1024)).toThrow(/buffersPerChannel/);
    expect(() => createChannelRing(4, 10)).toThrow(/bufferSizeBytes/);
    const ep = endpoint(2, 64);
    expect(() => new RingProducer({ ...ep, buffers: 3 })).toThrow(/does not match/);
  });
});
