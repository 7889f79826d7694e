import { describe, expect, it } from 'vitest';
import type { ChannelEndpoint } from '../shuffle/channel-endpoint.js';
import { ChannelBrokenError, RingConsumer, RingProducer, breakChannelRing, createChannelRing } from './channel-ring.js';
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

  it('rings the consumer only when a publish makes an empty ring non-empty', () => {
    const ep = endpoint(3, 64);
    const consumerCtl = new TaskControl(ep.consumerControl);
    const p = new RingProducer(ep);
    const c = new RingConsumer(ep);
    p.tryPublish(new Uint8Array(1), 1);
    p.tryPublish(new Uint8Array(1), 1);
    // The second buffer joined one the consumer has not read yet: it will be read before the consumer sleeps.
    expect(consumerCtl.doorbell()).toBe(1);
    c.release();
    p.tryPublish(new Uint8Array(1), 1);
    expect(consumerCtl.doorbell()).toBe(1);
    c.release();
    c.release();
    expect(c.available()).toBe(0);
    p.tryPublish(new Uint8Array(1), 1);
    expect(consumerCtl.doorbell()).toBe(2);
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

  it('marks the final buffer without changing its length', () => {
    const ep = endpoint(2, 64);
    const p = new RingProducer(ep);
    const c = new RingConsumer(ep);
    p.tryPublish(new Uint8Array([1, 2]), 2);
    p.tryPublish(new Uint8Array([6]), 1, true);
    expect([c.headLength(), c.headIsFinal()]).toEqual([2, false]);
    c.release();
    expect([c.headLength(), c.headIsFinal()]).toEqual([1, true]);
  });

  it('a broken ring wakes both ends, keeps its reason and refuses publishes', () => {
    const ep = endpoint(2, 64);
    const p = new RingProducer(ep);
    const c = new RingConsumer(ep);
    expect(c.brokenReason()).toBeUndefined();
    breakChannelRing(ep, 'connection to TaskManager tm-2 lost — ü');
    breakChannelRing(ep, 'a second reason is ignored');
    expect(new TaskControl(ep.producerControl).doorbell()).toBe(1);
    expect(new TaskControl(ep.consumerControl).doorbell()).toBe(1);
    expect(c.brokenReason()).toBe('connection to TaskManager tm-2 lost — ü');
    expect(() => p.tryPublish(new Uint8Array(1), 1)).toThrow(ChannelBrokenError);
    expect(() => p.tryPublish(new Uint8Array(1), 1)).toThrow(/output channel is broken: connection to TaskManager tm-2 lost/);
    breakChannelRing(endpoint(1, 64), 'x'.repeat(2000));
  });

  it('validates sizes and endpoint/ring agreement', () => {
    expect(() => createChannelRing(0, 1024)).toThrow(/buffersPerChannel/);
    expect(() => createChannelRing(4, 10)).toThrow(/bufferSizeBytes/);
    const ep = endpoint(2, 64);
    expect(() => new RingProducer({ ...ep, buffers: 3 })).toThrow(/does not match/);
  });
});
