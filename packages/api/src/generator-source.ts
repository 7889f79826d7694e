/**
 * GeneratorSource: records computed from their index, for fromGenerator, fromSequence, tests and
 * benchmarks. Record n depends only on (seed, n), and split i of n covers the indices ≡ i (mod n),
 * so the multiset of records is the same at every parallelism and a split's position is just its
 * next index. An optional rate limit (records per second over all subtasks) is shared by splits.
 */
import { ConfigurationError } from '@sluice/common';
import { SeededRandom } from './seeded-random.js';
import type {
  Boundedness,
  ReaderOutput,
  ReaderStatus,
  Source,
  SourceReader,
  SourceReaderContext,
  SourceSplit,
  SplitEnumeratorContext,
} from './source.js';

export interface GeneratorSourceOptions<T> {
  /** Number of records; undefined = unbounded. */
  count?: number;
  /** Records per second over all subtasks together; undefined = as fast as downstream takes them. */
  ratePerSecond?: number;
  seed?: number;
  /** Must depend only on `index` and `rng` (re-seeded for each index) to stay deterministic. */
  generate: (index: number, rng: SeededRandom) => T;
  /**
   * Optional, for generators that are faster a burst at a time: emits into `out`, in order, the
   * records `generate` gives for the indices `first, first + stride, …` (`count` of them, with
   * `rng` re-seeded from `seed` for each; `seededWords` gives those states for a whole burst).
   * When present the source calls it instead of `generate`, once per burst of up to
   * GENERATOR_BURST records, so the two must give the same records.
   */
  generateBurst?: (first: number, stride: number, count: number, seed: number, out: BurstOutput<T>) => void;
  name?: string;
}

/** Where a burst generator puts its records: the split's output. */
export interface BurstOutput<T> {
  collect(record: T): void;
}

export interface GeneratorSplit extends SourceSplit {
  readonly splitId: string;
  /** The split covers indices `offset, offset + stride, offset + 2·stride, …` below the count. */
  readonly offset: number;
  readonly stride: number;
  /** The position: the next index this split will emit. */
  readonly nextIndex: number;
}

/** Records per pollNext at most: large enough to amortise the call, small enough to stay responsive. */
export const GENERATOR_BURST = 1024;

export class GeneratorSource<T> implements Source<T, GeneratorSplit> {
  readonly boundedness: Boundedness;
  readonly splitType = 'generator';
  readonly count: number | undefined;
  readonly ratePerSecond: number | undefined;
  readonly seed: number;
  readonly generate: (index: number, rng: SeededRandom) => T;
  readonly generateBurst: ((first: number, stride: number, count: number, seed: number, out: BurstOutput<T>) => void) | undefined;
  readonly name: string | undefined;

  constructor(options: GeneratorSourceOptions<T>) {
    if (typeof options.generate !== 'function') {
      throw new ConfigurationError('GeneratorSource needs a generate(index, rng) function');
    }
    if (options.count !== undefined && (!Number.isSafeInteger(options.count) || options.count < 0)) {
      throw new ConfigurationError(`generator count must be a non-negative integer (or undefined for unbounded), got ${options.count}`);
    }
    const rate = options.ratePerSecond;
    if (rate !== undefined && (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0)) {
      throw new ConfigurationError(`generator ratePerSecond must be a positive number, got ${String(rate)}`);
    }
    if (options.seed !== undefined && !Number.isInteger(options.seed)) {
      throw new ConfigurationError(`generator seed must be an integer, got ${options.seed}`);
    }
    this.count = options.count;
    this.ratePerSecond = rate;
    this.seed = options.seed ?? 0;
    if (options.generateBurst !== undefined && typeof options.generateBurst !== 'function') {
      throw new ConfigurationError('GeneratorSource generateBurst must be a function (first, stride, count, seed, out) when given');
    }
    this.generate = options.generate;
    this.generateBurst = options.generateBurst;
    this.name = options.name;
    this.boundedness = options.count === undefined ? 'unbounded' : 'bounded';
  }

  enumerateSplits(ctx: SplitEnumeratorContext): GeneratorSplit[] {
    const n = ctx.parallelism;
    if (!Number.isInteger(n) || n <= 0) throw new ConfigurationError(`generator needs a positive source parallelism, got ${n}`);
    const splits: GeneratorSplit[] = [];
    for (let i = 0; i < n; i++) splits.push({ splitId: `generator-${i}-of-${n}`, offset: i, stride: n, nextIndex: i });
    return splits;
  }

  createReader(ctx: SourceReaderContext): SourceReader<T, GeneratorSplit> {
    return new GeneratorReader<T>(this, ctx);
  }

  describe(): string {
    if (this.name !== undefined) return this.name;
    const rate = this.ratePerSecond === undefined ? '' : `, ${this.ratePerSecond}/s`;
    return `Generator(${this.count === undefined ? 'unbounded' : this.count}${rate})`;
  }
}

interface ActiveSplit {
  readonly splitId: string;
  readonly offset: number;
  readonly stride: number;
  next: number;
  output: ReaderOutput<unknown> | undefined;
}

class GeneratorReader<T> implements SourceReader<T, GeneratorSplit> {
  private readonly active: ActiveSplit[] = [];
  private readonly finished: GeneratorSplit[] = [];
  private readonly rng = new SeededRandom();
  private readonly count: number;
  private noMoreSplits = false;
  private cursor = 0;
  /** The output the per-split outputs were created from; a new one invalidates them. */
  private outputOwner: ReaderOutput<T> | undefined;
  // Token bucket for the rate limit; `lastRefill` is undefined until the first poll.
  private tokens = 0;
  private lastRefill: number | undefined;
  private wakeUp: (() => void) | undefined;
  private closed = false;

  constructor(private readonly source: GeneratorSource<T>, private readonly ctx: SourceReaderContext) {
    this.count = source.count ?? Infinity;
  }

  addSplits(splits: GeneratorSplit[]): void {
    for (const s of splits) {
      if (s.nextIndex >= this.count) this.finished.push(s);
      else this.active.push({ splitId: s.splitId, offset: s.offset, stride: s.stride, next: s.nextIndex, output: undefined });
    }
    this.signal();
  }

  notifyNoMoreSplits(): void {
    this.noMoreSplits = true;
    this.signal();
  }

  pollNext(output: ReaderOutput<T>): ReaderStatus {
    if (this.active.length === 0) return this.noMoreSplits ? 'end' : 'nothing';
    let budget = GENERATOR_BURST;
    if (this.source.ratePerSecond !== undefined) {
      this.refill();
      budget = Math.min(budget, Math.floor(this.tokens));
      if (budget <= 0) return 'nothing';
    }
    if (this.outputOwner !== output) {
      for (const s of this.active) s.output = undefined;
      this.outputOwner = output;
    }
    if (this.cursor >= this.active.length) this.cursor = 0;
    const split = this.active[this.cursor]!;
    const out = (split.output ??= output.createSplitOutput(split.splitId) as ReaderOutput<unknown>) as ReaderOutput<T>;

    const { rng, count } = this;
    const { seed, generate, generateBurst } = this.source;
    const stride = split.stride;
    let index = split.next;
    let emitted = 0;
    if (generateBurst !== undefined) {
      emitted = Math.min(budget, Math.ceil((count - index) / stride));
      generateBurst(index, stride, emitted, seed, out);
      index += emitted * stride;
    } else {
      // The hot loop: one reseed, one generate and one collect per record, nothing else allocated.
      while (emitted < budget && index < count) {
        out.collect(generate(index, rng.reseed(seed, index)));
        index += stride;
        emitted++;
      }
    }
    split.next = index;
    this.tokens -= emitted;

    if (index >= count) {
      this.active.splice(this.cursor, 1);
      this.finished.push({ splitId: split.splitId, offset: split.offset, stride, nextIndex: index });
      output.releaseSplitOutput(split.splitId);
    } else {
      this.cursor++;
    }
    if (this.active.length === 0) return this.noMoreSplits ? 'end' : 'nothing';
    if (this.source.ratePerSecond !== undefined && this.tokens < 1) return 'nothing';
    return 'more';
  }

  isAvailable(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.active.length === 0) {
      if (this.noMoreSplits) return Promise.resolve();
      return new Promise<void>((resolve) => {
        this.wakeUp = resolve;
      });
    }
    const rate = this.currentRate();
    if (rate === undefined) return Promise.resolve();
    this.refill();
    const wanted = this.minBatch(rate);
    if (this.tokens >= wanted) return Promise.resolve();
    const delayMs = Math.ceil(((wanted - this.tokens) * 1000) / rate);
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delayMs);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  snapshotState(): GeneratorSplit[] {
    const live = this.active.map((s) => ({ splitId: s.splitId, offset: s.offset, stride: s.stride, nextIndex: s.next }));
    return [...live, ...this.finished.map((s) => ({ ...s }))];
  }

  close(): void {
    this.closed = true;
    this.signal();
  }

  private signal(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
  }

  /** This reader's share of the total rate: each split of a source with n splits gets rate / n. */
  private currentRate(): number | undefined {
    const total = this.source.ratePerSecond;
    if (total === undefined) return undefined;
    let share = 0;
    for (const s of this.active) share += 1 / s.stride;
    return total * share;
  }

  /**
   * Sleep until about 1 ms worth of records may go out: fast rates emit in bursts of ~1 ms (timer
   * resolution) rather than one record per wake-up, and slow ones do not bunch records up.
   */
  private minBatch(rate: number): number {
    return Math.max(1, Math.floor(rate / 1000));
  }

  private refill(): void {
    const rate = this.currentRate();
    if (rate === undefined) return;
    const now = this.ctx.now();
    if (this.lastRefill === undefined) {
      this.lastRefill = now;
      this.tokens = this.minBatch(rate);
      return;
    }
    const elapsed = Math.max(0, now - this.lastRefill);
    this.lastRefill = now;
    // Cap the bucket at ~2 ms of records: enough to ride out timer jitter, small enough that a
    // pause (descheduling, backpressure) is not followed by a burst that queues up downstream
    // and shows as latency. Each poll emits at most GENERATOR_BURST; 'more' covers the rest.
    const cap = Math.max(this.minBatch(rate), rate / 500);
    this.tokens = Math.min(cap, this.tokens + (elapsed * rate) / 1000);
  }
}
