/**
 * Task reconciliation as Mesos asks for it after every (re)subscription: an explicit RECONCILE
 * naming every task Sluice believes Mesos has, repeated with a doubling backoff for the tasks
 * that have not answered yet; once all have, an implicit RECONCILE (all of the framework's
 * tasks, which finds the ones Sluice does not know) and then one periodically. Answers arrive
 * as ordinary status updates; the driver calls `answered` for each.
 *
 * An UNREACHABLE task is asked about on its own, with the same doubling backoff, until it
 * answers anything else: Mesos sends nothing when a partitioned agent comes back, so without
 * asking the driver would learn the task runs again only at the next implicit round.
 *
 * All methods run on the driver's mailbox; timers come back through `run`.
 */
import type { DriverTimers, TimerHandle } from './timers.js';

export interface ReconcileTask {
  taskId: string;
  agentId?: string;
}

export interface ReconcilerOptions {
  timers: DriverTimers;
  /** Posts a timer's work onto the driver's mailbox. */
  run: (action: () => void) => void;
  initialBackoffMs: number;
  maxBackoffMs: number;
  implicitIntervalMs: number;
  /** Sends RECONCILE with these tasks; empty = implicit. */
  send: (tasks: ReconcileTask[]) => void;
}

export class Reconciler {
  private readonly unanswered = new Map<string, ReconcileTask>();
  private backoffMs: number;
  private timer: TimerHandle | undefined;
  /** Bumped by start/stop, so a timer of an earlier round does nothing. */
  private round = 0;
  /** No explicit round in progress. */
  private explicitDone = true;
  private readonly unreachable = new Map<string, ReconcileTask>();
  private unreachableTimer: TimerHandle | undefined;
  private unreachableBackoffMs: number;

  constructor(private readonly o: ReconcilerOptions) {
    this.backoffMs = o.initialBackoffMs;
    this.unreachableBackoffMs = o.initialBackoffMs;
  }

  /** A new subscription: reconcile `tasks` explicitly (none: go straight to implicit). */
  start(tasks: ReconcileTask[]): void {
    this.stop();
    for (const t of tasks) this.unanswered.set(t.taskId, t);
    this.explicitDone = false;
    this.explicit();
  }

  /** Adds tasks to the explicit round in progress (or starts one): e.g. after an ACCEPT that may not have arrived. */
  ask(tasks: ReconcileTask[]): void {
    if (tasks.length === 0) return;
    const idle = this.explicitDone;
    if (idle) this.stop();
    for (const t of tasks) this.unanswered.set(t.taskId, t);
    if (!idle) return; // the round in progress asks for them at its next retry
    this.explicitDone = false;
    this.explicit();
  }

  /** A status update of `taskId` arrived (with or without REASON_RECONCILIATION). */
  answered(taskId: string): void {
    if (!this.unanswered.delete(taskId) || this.explicitDone || this.unanswered.size > 0) return;
    this.finishExplicit();
  }

  /** `task` is UNREACHABLE: ask about it until it answers with another state (see `reachable`). */
  unreachableTask(task: ReconcileTask): void {
    this.unreachable.set(task.taskId, task);
    if (this.unreachableTimer === undefined) this.askUnreachableLater();
  }

  /** A status other than UNREACHABLE arrived for `taskId`; true when it was unreachable. */
  reachable(taskId: string): boolean {
    if (!this.unreachable.delete(taskId)) return false;
    if (this.unreachable.size > 0) return true;
    this.unreachableTimer?.cancel();
    this.unreachableTimer = undefined;
    this.unreachableBackoffMs = this.o.initialBackoffMs;
    return true;
  }

  /** Task ids still waiting for an answer. */
  waiting(): string[] {
    return [...this.unanswered.keys()];
  }

  stop(): void {
    this.round++;
    this.timer?.cancel();
    this.timer = undefined;
    this.unanswered.clear();
    this.backoffMs = this.o.initialBackoffMs;
    this.explicitDone = true;
    // A new subscription reconciles every task; the unreachable ones answer UNREACHABLE again.
    this.unreachableTimer?.cancel();
    this.unreachableTimer = undefined;
    this.unreachable.clear();
    this.unreachableBackoffMs = this.o.initialBackoffMs;
  }

  private askUnreachableLater(): void {
    const wait = this.unreachableBackoffMs;
    this.unreachableBackoffMs = Math.min(wait * 2, this.o.maxBackoffMs);
    const timer = this.o.timers.after(wait, () =>
      this.o.run(() => {
        if (this.unreachableTimer !== timer) return; // cancelled after it fired
        this.unreachableTimer = undefined;
        if (this.unreachable.size === 0) return;
        this.o.send([...this.unreachable.values()]);
        this.askUnreachableLater();
      }),
    );
    this.unreachableTimer = timer;
  }

  private schedule(ms: number, action: () => void): void {
    const round = this.round;
    this.timer?.cancel();
    this.timer = this.o.timers.after(ms, () =>
      this.o.run(() => {
        if (round === this.round) action();
      }),
    );
  }

  private explicit(): void {
    if (this.unanswered.size === 0) {
      this.finishExplicit();
      return;
    }
    this.o.send([...this.unanswered.values()]);
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.o.maxBackoffMs);
    this.schedule(wait, () => this.explicit());
  }

  private finishExplicit(): void {
    this.explicitDone = true;
    this.backoffMs = this.o.initialBackoffMs;
    this.implicit();
  }

  private implicit(): void {
    this.o.send([]);
    this.schedule(this.o.implicitIntervalMs, () => this.implicit());
  }
}
