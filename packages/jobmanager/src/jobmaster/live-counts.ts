/**
 * Live record counts of a job's running subtasks, for its details (REST `GET /jobs/:id`). The
 * TaskManagers count; the JobMaster pulls their counts when someone asks for the details, at most
 * once per `maxAgeMs`, and answers from what it has after at most `waitMs`.
 *
 * Why a pull and not the TaskManager→JobMaster heartbeat: at the heartbeat's 10 s default a status
 * line that polls every second would see its rates jump between 0 and ten times the truth, and a
 * faster heartbeat would cost every job, watched or not. A pull costs nothing while nobody
 * watches, and each poll of a once-a-second status line gets counts at most `maxAgeMs` old (kept
 * below a second so the two rates do not beat against each other). Final counts need no pull:
 * every subtask reports them with its terminal state.
 */
import type { Clock } from '@sluice/common';
import type { ExecutionCounts, JobMasterToken, Outbox, TaskExecutorGateway } from '@sluice/protocol';
import type { ExecutionGraph } from './execution-graph.js';

export interface LiveCountsOptions {
  /** Counts younger than this are answered without asking the TaskManagers again (default 500 ms). */
  maxAgeMs?: number;
  /** How long a request waits for TaskManagers' answers before using the counts it has (default 1 s). */
  waitMs?: number;
}

export const DEFAULT_LIVE_COUNTS_OPTIONS = Object.freeze({ maxAgeMs: 500, waitMs: 1_000 });

export interface LiveCountsHost {
  clock: Clock;
  /** Runs an action on the JobMaster's mailbox. */
  run<T>(action: () => T): Promise<T>;
  /** The current attempt's executions (replaced on every restart). */
  graph(): ExecutionGraph;
  /** Asks one TaskManager for the counts of this job's subtasks running there. */
  fetch(taskManagerAddress: string, timeoutMs: number): Promise<ExecutionCounts[]>;
}

/** The latest counts of one execution, and its backpressure between its two latest readings. */
export interface CountsSample {
  operators: ExecutionCounts['operators'];
  time?: NonNullable<ExecutionCounts['time']>;
  backpressure?: number;
}

export class LiveCounts {
  private readonly samples = new Map<string, CountsSample>();
  private readonly maxAgeMs: number;
  private readonly waitMs: number;
  private lastPullMs = Number.NEGATIVE_INFINITY;
  private pulling: Promise<void> | undefined;

  constructor(
    private readonly host: LiveCountsHost,
    options: LiveCountsOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_LIVE_COUNTS_OPTIONS.maxAgeMs;
    this.waitMs = options.waitMs ?? DEFAULT_LIVE_COUNTS_OPTIONS.waitMs;
  }

  /** Pulls fresh counts unless the last pull is recent; resolves when they are in, or after `waitMs`. */
  refresh(): Promise<void> {
    const now = this.host.clock.nowMs();
    if (this.pulling === undefined && now - this.lastPullMs >= this.maxAgeMs) {
      this.lastPullMs = now;
      this.pulling = this.pull().finally(() => (this.pulling = undefined));
    }
    return this.pulling ?? Promise.resolve();
  }

  /** The latest counts of an execution of the current attempt, if any arrived. */
  get(executionId: string): CountsSample | undefined {
    return this.samples.get(executionId);
  }

  private async pull(): Promise<void> {
    const addresses = await this.host.run(() => {
      const onTaskManagers = this.host.graph().onTaskManagers();
      return [...new Set(onTaskManagers.flatMap((e) => (e.slot === undefined ? [] : [e.slot.taskManagerAddress])))];
    });
    if (addresses.length === 0) return;
    // Each answer is kept when it comes, even after the wait is over: the next request has it.
    const answers = addresses.map((address) =>
      this.host.fetch(address, this.waitMs).then(
        (counts) => this.host.run(() => this.store(counts)),
        () => undefined, // the outbox logged it; the counts stay as they were
      ),
    );
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.waitMs)));
    await Promise.race([Promise.all(answers), waited]);
    clearTimeout(timer);
  }

  private store(counts: readonly ExecutionCounts[]): void {
    const graph = this.host.graph();
    for (const id of this.samples.keys()) if (graph.get(id) === undefined) this.samples.delete(id);
    for (const c of counts) {
      if (graph.get(c.executionId) === undefined) continue;
      const sample: CountsSample = { operators: c.operators };
      if (c.time !== undefined) sample.time = c.time;
      const backpressure = backpressureBetween(this.samples.get(c.executionId), sample);
      if (backpressure !== undefined) sample.backpressure = backpressure;
      this.samples.set(c.executionId, sample);
    }
  }
}

/**
 * The share of the time between two readings the subtask spent blocked on a full output; from
 * its start at the first reading; the previous value when no time passed in between.
 */
export function backpressureBetween(prev: CountsSample | undefined, next: CountsSample): number | undefined {
  const t = next.time;
  if (t === undefined) return undefined;
  const p = prev?.time;
  const blocked = t.backpressuredMs - (p?.backpressuredMs ?? 0);
  const total = t.busyMs + t.backpressuredMs + t.idleMs - (p === undefined ? 0 : p.busyMs + p.backpressuredMs + p.idleMs);
  if (!(total > 0)) return prev?.backpressure;
  return Math.min(1, Math.max(0, blocked / total));
}

/** Live counts of `token`'s job, pulled through the JobMaster's ordered outbox. */
export function liveCountsOf(input: { token: JobMasterToken; outbox: Outbox; clock: Clock; run<T>(action: () => T): Promise<T>; graph(): ExecutionGraph; options?: LiveCountsOptions }): LiveCounts {
  const { token, outbox } = input;
  return new LiveCounts(
    {
      clock: input.clock,
      run: input.run,
      graph: input.graph,
      // Not retried after a timeout: a late answer to a read is a stale one.
      fetch: (address, timeoutMs) =>
        outbox.call<TaskExecutorGateway, ExecutionCounts[]>(address, 'request for execution counts', (tm) => tm.requestExecutionCounts(token), { timeoutMs, idempotent: false }),
    },
    input.options,
  );
}
