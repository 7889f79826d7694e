/**
 * The exactly-once proof job. A generator (one subtask, so per-key order is fixed) emits
 * sequence numbers; a keyed function keeps each key's count and sum in ValueState and emits
 * `{ key, seq, count, sum }` per record, plus one final line per key from an event-time timer
 * registered on the key's first record; a two-phase-commit file sink writes a pending file per
 * checkpoint and publishes it (rename) only when the checkpoint completes.
 *
 * Failures: while `failures` is larger than the job's attempt number, each attempt of keyed
 * subtask `attempt % parallelism` dies after a random number of records — even attempts by
 * throwing, odd ones by ending its worker thread — but only on records before 70% of the input,
 * so no subtask can have finished when another fails (see the README on bounded jobs).
 *
 * Params: out (directory, required), events (default 300000), keys (default 50), rate (records/s,
 * default 60000), failures (default 0), interval (checkpoint ms, default 100), sourceParallelism
 * (default 1; more makes per-key order, and so the running sums, depend on timing).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ValueStateDescriptor,
  WatermarkStrategy,
  type KeyedProcessContext,
  type Collector,
  type KeyedProcessFunction,
  type OnTimerContext,
  type RuntimeContext,
  type Sink,
  type SinkWriter,
  type SinkWriterContext,
  type DataStream,
  type StreamExecutionEnvironment,
  type ValueState,
} from '@sluice/api';

export interface Line {
  key: number;
  seq: number;
  count: number;
  sum: number;
  final?: true;
}

/**
 * The injected failures: while the job's attempt number is below `failures`, subtask
 * `attempt % parallelism` dies after a random number (`from` + up to `spread`) of calls — even
 * attempts by throwing, odd ones by ending its worker thread — but only for input positions
 * before `failBefore`.
 */
export class FailureInjector {
  private failAfter = Infinity;
  private calls = 0;
  private attempt = 0;

  constructor(
    private readonly failures: number,
    private readonly failBefore: number,
    private readonly from: number,
    private readonly spread: number,
  ) {}

  open(ctx: RuntimeContext): void {
    const info = ctx.getTaskInfo();
    this.attempt = info.attempt;
    if (info.attempt < this.failures && info.subtaskIndex === info.attempt % info.parallelism) {
      this.failAfter = this.from + Math.floor(Math.random() * this.spread);
    }
  }

  /** Counts a call at input position `at`; fails when its time has come. */
  call(at: number, what: string): void {
    if (++this.calls < this.failAfter || at >= this.failBefore) return;
    if (this.attempt % 2 === 1) process.exit(3); // the worker thread dies, as in a crash
    throw new Error(`injected failure after ${this.calls} ${what} (attempt ${this.attempt})`);
  }
}

export class CountAndSum implements KeyedProcessFunction<number, number, Line> {
  private count!: ValueState<number>;
  private sum!: ValueState<number>;
  private readonly failure: FailureInjector;

  constructor(failures: number, failBefore: number) {
    this.failure = new FailureInjector(failures, failBefore, 2_000, 10_000);
  }

  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count', 0));
    this.sum = ctx.getState(new ValueStateDescriptor<number>('sum', 0));
    this.failure.open(ctx);
  }

  processElement(seq: number, ctx: KeyedProcessContext<number>, out: Collector<Line>): void {
    this.failure.call(seq, 'records');
    const count = this.count.value()! + 1;
    const sum = this.sum.value()! + seq;
    if (count === 1) ctx.timerService().registerEventTimeTimer(Number.MAX_SAFE_INTEGER);
    this.count.update(count);
    this.sum.update(sum);
    out.collect({ key: ctx.getCurrentKey(), seq, count, sum });
  }

  onTimer(_ts: number, ctx: OnTimerContext<number>, out: Collector<Line>): void {
    out.collect({ key: ctx.getCurrentKey(), seq: -1, count: this.count.value()!, sum: this.sum.value()!, final: true });
  }
}

/**
 * Two-phase commit to files: records of a checkpoint go to `.pending/part-<subtask>-<id>`,
 * renamed into the output directory when the checkpoint completes. On restore, the files the
 * restored checkpoint covered are committed and any later pending ones deleted.
 */
export class TransactionalFileSink<T = Line> implements Sink<T> {
  constructor(private readonly dir: string) {}

  createWriter(ctx: SinkWriterContext): SinkWriter<T> {
    return new TransactionalFileWriter<T>(this.dir, ctx);
  }
}

/** For tests: every line the sink has committed in `dir` (pending files excluded). */
export function committedLines<T = Line>(dir: string): T[] {
  if (!existsSync(dir)) return [];
  const out: T[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.startsWith('part-')) continue;
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) if (line !== '') out.push(JSON.parse(line) as T);
  }
  return out;
}

class TransactionalFileWriter<T> implements SinkWriter<T> {
  private lines: string[] = [];
  private readonly pending = new Map<number, string>();
  private readonly subtask: number;
  private readonly pendingDir: string;

  constructor(private readonly dir: string, ctx: SinkWriterContext) {
    this.subtask = ctx.taskInfo.subtaskIndex;
    this.pendingDir = join(dir, '.pending');
    mkdirSync(this.pendingDir, { recursive: true });
    const covered = new Set<string>();
    for (const state of (ctx.restoredState ?? []) as { files: string[] }[]) for (const f of state.files) covered.add(f);
    for (const f of covered) this.commitFile(f);
    // Anything else pending from this subtask was written after the restored checkpoint.
    for (const f of readdirSync(this.pendingDir)) if (f.startsWith(`part-${this.subtask}-`) && !covered.has(f)) rmSync(join(this.pendingDir, f));
  }

  write(value: T): void {
    this.lines.push(JSON.stringify(value));
  }

  snapshotState(checkpointId: number): { files: string[] } {
    const name = `part-${this.subtask}-${checkpointId}`;
    writeFileSync(join(this.pendingDir, name), this.lines.length === 0 ? '' : `${this.lines.join('\n')}\n`);
    this.lines = [];
    this.pending.set(checkpointId, name);
    // Everything prepared and not yet committed: a restore commits all of it.
    return { files: [...this.pending.values()] };
  }

  notifyCheckpointComplete(checkpointId: number): void {
    for (const [id, name] of this.pending) {
      if (id > checkpointId) continue;
      this.commitFile(name);
      this.pending.delete(id);
    }
  }

  flush(endOfInput: boolean): void {
    if (!endOfInput) return;
    writeFileSync(join(this.dir, `part-${this.subtask}-final`), this.lines.length === 0 ? '' : `${this.lines.join('\n')}\n`);
    this.lines = [];
  }

  close(): void {}

  private commitFile(name: string): void {
    const from = join(this.pendingDir, name);
    if (existsSync(from)) renameSync(from, join(this.dir, name));
  }
}

/**
 * What both exactly-once jobs start with: the output directory, checkpoints into it every
 * `interval` ms, a fixed-delay restart strategy that outlasts the injected failures, and the
 * sequence generator (event time = the sequence number) at `sourceParallelism` (default 1).
 */
export function checkpointedSequence(env: StreamExecutionEnvironment, jobName: string, defaults: { events: number; rate: number }): {
  out: string;
  events: number;
  failures: number;
  sequence: DataStream<number>;
} {
  const out = env.params.out;
  if (out === undefined) throw new Error(`${jobName} job needs -D out=<directory>`);
  const events = Number(env.params.events ?? String(defaults.events));
  const failures = Number(env.params.failures ?? '0');
  env.setJobName(jobName);
  env.enableCheckpointing(Number(env.params.interval ?? '100'), { dir: join(out, '.checkpoints'), retained: 2 });
  env.setRestartStrategy({ type: 'fixed-delay', attempts: failures + 2, delayMs: 50 });
  const sequence = env
    .fromGenerator(
      { count: events, seed: 1, name: 'sequence', ratePerSecond: Number(env.params.rate ?? String(defaults.rate)), generate: (seq) => seq },
      WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((seq) => seq),
    )
    .setParallelism(Number(env.params.sourceParallelism ?? '1'))
    .uid('sequence');
  return { out, events, failures, sequence };
}

/** What a failure-free run commits: per key, its sequence numbers in order with running count and sum, then the final line. */
export function failureFreeLines(events: number, keys: number): Line[] {
  const count = new Array<number>(keys).fill(0);
  const sum = new Array<number>(keys).fill(0);
  const out: Line[] = [];
  for (let seq = 0; seq < events; seq++) {
    const k = seq % keys;
    out.push({ key: k, seq, count: ++count[k]!, sum: (sum[k]! += seq) });
  }
  for (let k = 0; k < keys; k++) out.push({ key: k, seq: -1, count: count[k]!, sum: sum[k]!, final: true });
  return out;
}

export default function build(env: StreamExecutionEnvironment): void {
  const keys = Number(env.params.keys ?? '50');
  const { out, events, failures, sequence } = checkpointedSequence(env, 'exactly-once', { events: 300_000, rate: 60_000 });
  sequence
    .keyBy((seq) => seq % keys)
    .process(new CountAndSum(failures, Math.floor(events * 0.7)))
    .uid('count-and-sum')
    .name('count-and-sum')
    .sinkTo(new TransactionalFileSink(out))
    .uid('files')
    .name('files');
}
