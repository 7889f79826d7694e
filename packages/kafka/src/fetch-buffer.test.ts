import { describe, expect, it } from 'vitest';
import { FetchBuffer } from './fetch-buffer.js';
import type { KafkaPartitionSplit } from './split.js';

const msgs = (...offsets: number[]) => offsets.map((o) => ({ offset: String(o) }));
const split = (partition: number, offset: number, stopOffset?: number): KafkaPartitionSplit =>
  stopOffset === undefined ? { splitId: `t-${partition}`, topic: 't', partition, offset } : { splitId: `t-${partition}`, topic: 't', partition, offset, stopOffset };

function drain(b: FetchBuffer<{ offset: string }>): string[] {
  const out: string[] = [];
  for (let r = b.take(); r !== undefined; r = b.take()) out.push(`${r.state.partition}@${r.message.offset}`);
  return out;
}

describe('FetchBuffer', () => {
  it('hands out records in arrival order and drops re-fetched offsets (after a seek or rejoin)', () => {
    const b = new FetchBuffer<{ offset: string }>(100);
    b.addSplit(split(0, 5));
    b.addSplit(split(1, 0));
    expect(b.accept('t', 0, msgs(3, 4, 5, 6), 6)).toBe(2);
    expect(b.accept('t', 1, msgs(0, 1), 1)).toBe(2);
    expect(b.accept('t', 0, msgs(5, 6, 7), 7)).toBe(1);
    expect(b.accept('other', 0, msgs(0), 0)).toBe(0);
    expect(drain(b)).toEqual(['0@5', '0@6', '1@0', '1@1', '0@7']);
  });

  it('tracks positions: next offset to emit while queued, fetched position (past gaps) once drained', () => {
    const b = new FetchBuffer<{ offset: string }>(100);
    const s = b.addSplit(split(0, 0));
    b.accept('t', 0, msgs(0, 1, 2), 4); // 3 and 4 were a transaction marker / compacted away
    expect(b.position(s)).toBe(0);
    b.take();
    expect(b.position(s)).toBe(1);
    drain(b);
    expect(b.position(s)).toBe(5);
    b.advanceTo('t', 0, 9);
    expect(b.position(s)).toBe(10);
    b.advanceTo('t', 0, 2); // stale: never backwards
    expect(b.position(s)).toBe(10);
    expect(b.fetchPositions()).toEqual([{ topic: 't', partition: 0, offset: 10 }]);
  });

  it('notes the offsets a fetch stepped over (deleted, compacted or markers), not re-fetches or contiguous batches', () => {
    const b = new FetchBuffer<{ offset: string }>(100);
    const s0 = b.addSplit(split(0, 10));
    const s1 = b.addSplit(split(1, 0, 50));
    b.accept('t', 0, msgs(10, 11), 11);
    b.accept('t', 0, msgs(8, 9, 10, 11, 12), 12); // a re-fetch: duplicates, then the next offset
    expect(b.hasGaps).toBe(false);
    b.accept('t', 0, msgs(40, 41), 41); // 13..39 gone
    b.accept('t', 1, msgs(60), 60); // beyond the stop offset: the gap ends there
    expect(b.drainGaps()).toEqual([
      { state: s0, from: 13, to: 40 },
      { state: s1, from: 0, to: 50 },
    ]);
    expect(b.drainGaps()).toEqual([]);
    for (let i = 0; i < 300; i++) b.accept('t', 0, msgs(100 + 2 * i), 100 + 2 * i);
    const kept = b.drainGaps();
    expect(kept).toHaveLength(256);
    expect(kept.at(-1)).toEqual({ state: s0, from: 697, to: 698 });
  });

  it('stops a bounded partition at its stop offset, pauses it for good and reports it finished once drained', () => {
    const b = new FetchBuffer<{ offset: string }>(100);
    const s = b.addSplit(split(0, 0, 3));
    expect(b.accept('t', 0, msgs(0, 1, 2, 3, 4), 4)).toBe(3);
    expect(b.drainPauseChanges().pause).toEqual([s]);
    expect(b.isFinished(s)).toBe(false);
    drain(b);
    expect(b.isFinished(s)).toBe(true);
    expect(b.drainPauseChanges()).toEqual({ pause: [], resume: [] });
    expect(b.fetchPositions()).toEqual([]);
  });

  it('finishes a bounded partition that ends in records the consumer filtered out', () => {
    const b = new FetchBuffer<{ offset: string }>(100);
    const s = b.addSplit(split(0, 0, 4));
    b.accept('t', 0, msgs(0, 1, 2), 2);
    drain(b);
    expect(b.isFinished(s)).toBe(false);
    b.advanceTo('t', 0, 3); // the commit marker at offset 3
    expect(b.isFinished(s)).toBe(true);
  });

  it('an empty bounded partition (start = stop) is finished at once', () => {
    const b = new FetchBuffer<{ offset: string }>(100);
    expect(b.isFinished(b.addSplit(split(0, 7, 7)))).toBe(true);
  });

  it('pauses a partition at the high-water mark and resumes it at the low-water mark', () => {
    const b = new FetchBuffer<{ offset: string }>(4, 1);
    const s0 = b.addSplit(split(0, 0));
    const s1 = b.addSplit(split(1, 0));
    b.accept('t', 0, msgs(0, 1, 2, 3, 4), 4);
    b.accept('t', 1, msgs(0), 0);
    expect(b.drainPauseChanges()).toEqual({ pause: [s0], resume: [] });
    expect(s0.paused).toBe(true);
    b.take();
    b.take();
    b.take();
    expect(b.hasPauseChanges()).toBe(false); // 2 queued for p0: above low water
    b.take();
    expect(b.drainPauseChanges()).toEqual({ pause: [], resume: [s0] });
    expect(s0.paused).toBe(false);
    expect(s1.paused).toBe(false);
  });
});
