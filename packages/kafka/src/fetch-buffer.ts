/**
 * The bounded buffer between kafkajs's fetch loop and `pollNext`, and the per-partition
 * bookkeeping around it: positions, bounded-mode ends, and when a partition must be paused or
 * resumed. Pure (no kafkajs), so the rules are table-tested; the reader applies the pause and
 * resume decisions to the consumer.
 *
 * Offsets: `fetched` is the next offset the buffer has not seen yet, `emitted` the next offset
 * `take()` hands out. A partition's position (what a snapshot stores) is `emitted` while records
 * are queued and `fetched` otherwise, which also steps over gaps (compaction, transaction
 * markers). Records at offsets below `fetched` are duplicates (a re-fetch after a seek or a group
 * rejoin) and are dropped, so the stream is exactly the partition's log from the start offset.
 */
import type { KafkaPartitionSplit } from './split.js';

export interface OffsetMessage {
  readonly offset: string;
}

export interface PartitionState {
  readonly splitId: string;
  readonly topic: string;
  readonly partition: number;
  readonly stopOffset: number | undefined;
  fetched: number;
  emitted: number;
  queued: number;
  /** Paused in the consumer: by backpressure, or for good once a bounded partition is fully fetched. */
  paused: boolean;
}

export interface QueuedRecord<M> {
  readonly state: PartitionState;
  readonly message: M;
}

/**
 * Offsets `[from, to)` of one partition that a fetch stepped over: the first record it delivered
 * lay beyond the next offset expected. Compaction, transaction markers and aborted records leave
 * such gaps, and so does kafkajs when the expected offset was deleted (retention, DeleteRecords)
 * and it moved to the log's new start; only the log start offset tells which.
 */
export interface OffsetGap {
  readonly state: PartitionState;
  readonly from: number;
  readonly to: number;
}

/** Gaps kept until the reader looks at them; beyond this the oldest are dropped. */
const MAX_GAPS = 256;

export interface PauseChanges {
  pause: PartitionState[];
  resume: PartitionState[];
}

export class FetchBuffer<M extends OffsetMessage> {
  private readonly partitions = new Map<string, PartitionState>();
  private queue: (QueuedRecord<M> | undefined)[] = [];
  private head = 0;
  private toPause = new Set<PartitionState>();
  private toResume = new Set<PartitionState>();
  private gaps: OffsetGap[] = [];

  /**
   * @param highWater queued records of one partition at which it is paused
   * @param lowWater queued records at or below which a paused partition is resumed
   */
  constructor(private readonly highWater: number, private readonly lowWater: number = Math.floor(highWater / 2)) {}

  addSplit(split: KafkaPartitionSplit): PartitionState {
    const key = keyOf(split.topic, split.partition);
    const existing = this.partitions.get(key);
    if (existing !== undefined) return existing;
    const state: PartitionState = {
      splitId: split.splitId,
      topic: split.topic,
      partition: split.partition,
      stopOffset: split.stopOffset,
      fetched: split.offset,
      emitted: split.offset,
      queued: 0,
      paused: false,
    };
    this.partitions.set(key, state);
    if (fullyFetched(state)) this.requestPause(state);
    return state;
  }

  get(topic: string, partition: number): PartitionState | undefined {
    return this.partitions.get(keyOf(topic, partition));
  }

  states(): IterableIterator<PartitionState> {
    return this.partitions.values();
  }

  get size(): number {
    return this.queue.length - this.head;
  }

  /**
   * Takes a fetched batch of one partition (in offset order). `lastOffset` is the batch's last
   * offset including records kafkajs filtered out (transaction markers), so the position moves
   * past them. Returns how many records were queued.
   */
  accept(topic: string, partition: number, messages: readonly M[], lastOffset?: number): number {
    const state = this.partitions.get(keyOf(topic, partition));
    if (state === undefined) return 0;
    const stop = state.stopOffset ?? Infinity;
    let added = 0;
    for (const message of messages) {
      const offset = Number(message.offset);
      if (offset < state.fetched) continue;
      if (added === 0 && offset > state.fetched) this.noteGap({ state, from: state.fetched, to: Math.min(offset, stop) });
      if (offset >= stop) break;
      this.queue.push({ state, message });
      state.fetched = offset + 1;
      added++;
    }
    if (lastOffset !== undefined) this.advance(state, lastOffset);
    state.queued += added;
    if (state.queued >= this.highWater || fullyFetched(state)) this.requestPause(state);
    return added;
  }

  /** A batch with no records for the user (all filtered): only the position moves. */
  advanceTo(topic: string, partition: number, lastOffset: number): void {
    const state = this.partitions.get(keyOf(topic, partition));
    if (state === undefined) return;
    this.advance(state, lastOffset);
    if (fullyFetched(state)) this.requestPause(state);
  }

  take(): QueuedRecord<M> | undefined {
    if (this.head >= this.queue.length) return undefined;
    const r = this.queue[this.head]!;
    this.queue[this.head++] = undefined;
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    const s = r.state;
    s.queued--;
    s.emitted = Number(r.message.offset) + 1;
    if (s.paused && s.queued <= this.lowWater && !fullyFetched(s)) {
      this.toPause.delete(s);
      this.toResume.add(s);
    }
    return r;
  }

  /** Gaps stepped over since the last call, oldest first. */
  drainGaps(): OffsetGap[] {
    const gaps = this.gaps;
    this.gaps = [];
    return gaps;
  }

  get hasGaps(): boolean {
    return this.gaps.length > 0;
  }

  /** Pause / resume decisions since the last call; the caller applies them to the consumer. */
  drainPauseChanges(): PauseChanges {
    const changes = { pause: [...this.toPause], resume: [...this.toResume] };
    for (const s of changes.pause) s.paused = true;
    for (const s of changes.resume) s.paused = false;
    this.toPause.clear();
    this.toResume.clear();
    return changes;
  }

  hasPauseChanges(): boolean {
    return this.toPause.size > 0 || this.toResume.size > 0;
  }

  /** The next offset to read for this partition, as a snapshot stores it. */
  position(s: PartitionState): number {
    return s.queued > 0 ? s.emitted : Math.max(s.emitted, s.fetched);
  }

  /** Bounded and everything up to the stop offset handed out. */
  isFinished(s: PartitionState): boolean {
    return s.queued === 0 && fullyFetched(s);
  }

  /** Offsets the consumer should be at (after a seek or rejoin), for partitions still fetching. */
  fetchPositions(): { topic: string; partition: number; offset: number }[] {
    const out: { topic: string; partition: number; offset: number }[] = [];
    for (const s of this.partitions.values()) if (!fullyFetched(s)) out.push({ topic: s.topic, partition: s.partition, offset: s.fetched });
    return out;
  }

  private advance(state: PartitionState, lastOffset: number): void {
    // Never backwards: a stale batch (fetched before a seek) ends below what was accepted.
    const next = Math.min(lastOffset + 1, state.stopOffset ?? Infinity);
    if (Number.isFinite(lastOffset) && next > state.fetched) state.fetched = next;
  }

  private noteGap(gap: OffsetGap): void {
    if (this.gaps.length >= MAX_GAPS) this.gaps.shift();
    this.gaps.push(gap);
  }

  private requestPause(state: PartitionState): void {
    this.toResume.delete(state);
    if (!state.paused) this.toPause.add(state);
  }
}

function keyOf(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`;
}

function fullyFetched(s: PartitionState): boolean {
  return s.stopOffset !== undefined && s.fetched >= s.stopOffset;
}
