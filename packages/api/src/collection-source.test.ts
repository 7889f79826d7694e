import { describe, expect, it } from 'vitest';
import { CollectionSource } from './collection-source.js';
import type { ReaderOutput } from './source.js';

class TestingReaderOutput<T> implements ReaderOutput<T> {
  readonly values: T[] = [];
  collect(value: T): void {
    this.values.push(value);
  }
  createSplitOutput(): ReaderOutput<T> {
    return this;
  }
  releaseSplitOutput(): void {}
}

describe('CollectionSource', () => {
  it('has one split whatever the parallelism, and emits the items once in order', () => {
    const items = Array.from({ length: 2500 }, (_, i) => ({ n: i }));
    const source = new CollectionSource(items);
    expect(source.boundedness).toBe('bounded');
    const splits = source.enumerateSplits();
    expect(splits).toEqual([{ splitId: 'collection', position: 0 }]);
    const reader = source.createReader();
    reader.addSplits(splits);
    reader.notifyNoMoreSplits();
    const out = new TestingReaderOutput<{ n: number }>();
    const statuses = [reader.pollNext(out), reader.pollNext(out), reader.pollNext(out)];
    expect(statuses).toEqual(['more', 'more', 'end']);
    expect(out.values).toEqual(items);
  });

  it('snapshots its position and resumes from it without repeating records', () => {
    const source = new CollectionSource(Array.from({ length: 1500 }, (_, i) => i));
    const reader = source.createReader();
    reader.addSplits(source.enumerateSplits());
    const out = new TestingReaderOutput<number>();
    reader.pollNext(out);
    const snapshot = reader.snapshotState(1);
    expect(snapshot).toEqual([{ splitId: 'collection', position: 1024 }]);
    const restored = source.createReader();
    restored.addSplits(snapshot);
    restored.notifyNoMoreSplits();
    const rest = new TestingReaderOutput<number>();
    expect(restored.pollNext(rest)).toBe('end');
    expect([...out.values, ...rest.values]).toEqual(Array.from({ length: 1500 }, (_, i) => i));
  });

  it('copies the items, so later changes to the caller array do not leak into the job', () => {
    const items = [1, 2, 3];
    const source = new CollectionSource(items);
    items.push(4);
    expect(source.items).toEqual([1, 2, 3]);
  });

  it('waits for splits or for the end of split assignment before finishing', async () => {
    const source = new CollectionSource(['a']);
    const reader = source.createReader();
    const out = new TestingReaderOutput<string>();
    expect(reader.pollNext(out)).toBe('nothing');
    const available = reader.isAvailable();
    reader.addSplits(source.enumerateSplits());
    await available;
    expect(reader.pollNext(out)).toBe('nothing'); // all read, but more splits might still come
    const done = reader.isAvailable();
    reader.notifyNoMoreSplits();
    await done;
    expect(reader.pollNext(out)).toBe('end');
    expect(out.values).toEqual(['a']);
  });
});
