/**
 * CollectionSource: emits a fixed array once, in order, from a single split (so a single
 * subtask). The items live in the job module; every worker rebuilding the job has them, so only
 * the position — the index of the next item — travels in checkpoints.
 */
import type {
  Boundedness,
  ReaderOutput,
  ReaderStatus,
  Source,
  SourceReader,
  SourceSplit,
} from './source.js';

export interface CollectionSplit extends SourceSplit {
  readonly splitId: string;
  /** Index of the next item to emit. */
  readonly position: number;
}

const BURST = 1024;
const SPLIT_ID = 'collection';

export class CollectionSource<T> implements Source<T, CollectionSplit> {
  readonly boundedness: Boundedness = 'bounded';
  readonly splitType = 'collection';
  readonly items: readonly T[];

  constructor(items: readonly T[], private readonly name = 'Collection') {
    // A copy, so that mutating the caller's array after the job is defined changes nothing.
    this.items = Object.freeze([...items]);
  }

  enumerateSplits(): CollectionSplit[] {
    return [{ splitId: SPLIT_ID, position: 0 }];
  }

  createReader(): SourceReader<T, CollectionSplit> {
    return new CollectionReader<T>(this.items);
  }

  describe(): string {
    return this.name;
  }
}

class CollectionReader<T> implements SourceReader<T, CollectionSplit> {
  private splits: { splitId: string; position: number }[] = [];
  private noMoreSplits = false;
  private wakeUp: (() => void) | undefined;

  constructor(private readonly items: readonly T[]) {}

  addSplits(splits: CollectionSplit[]): void {
    for (const s of splits) this.splits.push({ splitId: s.splitId, position: s.position });
    this.signal();
  }

  notifyNoMoreSplits(): void {
    this.noMoreSplits = true;
    this.signal();
  }

  pollNext(output: ReaderOutput<T>): ReaderStatus {
    const split = this.splits.find((s) => s.position < this.items.length);
    if (split === undefined) return this.noMoreSplits ? 'end' : 'nothing';
    const items = this.items;
    const end = Math.min(items.length, split.position + BURST);
    for (let i = split.position; i < end; i++) output.collect(items[i] as T);
    split.position = end;
    if (end < items.length || this.splits.some((s) => s.position < items.length)) return 'more';
    return this.noMoreSplits ? 'end' : 'nothing';
  }

  isAvailable(): Promise<void> {
    if (this.noMoreSplits || this.splits.some((s) => s.position < this.items.length)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.wakeUp = resolve;
    });
  }

  snapshotState(): CollectionSplit[] {
    return this.splits.map((s) => ({ splitId: s.splitId, position: s.position }));
  }

  close(): void {
    this.signal();
  }

  private signal(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
  }
}
