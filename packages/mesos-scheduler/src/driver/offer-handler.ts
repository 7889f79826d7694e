/**
 * From offers to launches: hands the held offers, the pending workers and the placed ones to the
 * matcher, records each placed worker Launched (agent, host, attributes) before the ACCEPT that
 * launches it, sends one ACCEPT per used offer and DECLINEs what nothing can use — at once when
 * no worker is wanted, otherwise when the hold timeout passes. An ACCEPT that failed has its
 * tasks reconciled and its offer declined. Runs on the driver's mailbox.
 */
import { describeError, type Logger } from '@sluice/common';
import type { SchedulerCall, TaskInfo } from '@sluice/mesos-proto';
import type { MatchInput, MatchResult, Placement, PlacementConstraint, WorkerProfile } from '../offers/types.js';
import { buildTaskInfo } from './launch.js';
import type { MesosDriverMetrics } from './metrics.js';
import type { OfferBook } from './offer-book.js';
import type { ExecutorLaunchSpec, TaskManagerLaunchOptions } from './options.js';
import type { Worker, WorkerTable } from './worker-table.js';

export interface OfferHandlerDeps {
  workers: WorkerTable;
  offers: OfferBook;
  metrics: MesosDriverMetrics;
  logger: Logger;
  match: (input: MatchInput) => MatchResult;
  profile: WorkerProfile;
  constraints: readonly PlacementConstraint[];
  roles: readonly string[];
  executor: ExecutorLaunchSpec;
  taskManager: TaskManagerLaunchOptions;
  refuseSeconds: number;
  idleRefuseSeconds: number;
  nowMs: () => number;
  frameworkId: () => string | undefined;
  /** Persists the worker's record as given; false when it could not (the worker then stays New). */
  persist: (w: Worker, change: Partial<Worker>) => Promise<boolean>;
  /** Sends a call; `onFailure` runs on the mailbox when Mesos refused it or it did not arrive. */
  send: (call: SchedulerCall, what: string, onFailure?: () => void) => void;
  /** An ACCEPT that failed: its tasks may or may not exist, so they are reconciled. */
  reconcile: (workers: Worker[]) => void;
  /** Runs `fn` once after `ms` (the driver's timers). */
  after: (ms: number, fn: () => void) => void;
}

/** Times a DECLINE handing back the offer of a failed ACCEPT is sent again when it fails too. */
const DECLINE_RETRIES = 5;

export class OfferHandler {
  constructor(private readonly d: OfferHandlerDeps) {}

  /** Matches the held offers against the pending workers and launches what fits. */
  async matchHeld(): Promise<void> {
    const { d } = this;
    if (d.offers.size === 0) return;
    const pending = d.workers.pending(d.nowMs());
    if (pending.length === 0) {
      this.decline(d.offers.ids(), d.workers.all().some((w) => w.state === 'new') ? d.refuseSeconds : d.idleRefuseSeconds);
      return;
    }
    let result: MatchResult;
    try {
      result = d.match({
        offers: d.offers.offers(),
        pending: pending.map((w) => ({ workerId: w.taskId, profile: d.profile })),
        placed: d.workers.placed(),
        constraints: d.constraints,
        roles: d.roles,
      });
    } catch (err) {
      d.logger.error(`the offer matcher failed; declining the offers held: ${describeError(err)}`);
      this.decline(d.offers.ids(), d.refuseSeconds);
      return;
    }
    const byOffer = new Map<string, Placement[]>();
    for (const p of result.placements) {
      const w = d.workers.get(p.workerId);
      if (w === undefined || w.state !== 'new' || !d.offers.has(p.offerId)) {
        d.logger.error('the offer matcher placed a worker that is not pending, or on an offer not held; ignored', { workerId: p.workerId, offerId: p.offerId });
        continue;
      }
      byOffer.set(p.offerId, [...(byOffer.get(p.offerId) ?? []), p]);
    }
    for (const [offerId, placements] of byOffer) await this.launch(offerId, placements);
    for (const u of result.unplaced) d.logger.debug('no held offer fits the worker', u);
    // Offers nothing uses now are held (a worker requested soon may fit) unless nothing is wanted.
    if (d.workers.pending(d.nowMs()).length === 0) this.decline(d.offers.ids(), d.refuseSeconds);
  }

  /** DECLINEs the offers still held among `offerIds`, with a refuse filter. */
  decline(offerIds: string[], refuseSeconds: number): void {
    const ids = offerIds.filter((id) => this.d.offers.take(id) !== undefined);
    if (ids.length === 0) return;
    this.d.metrics.offersDeclined.inc(ids.length);
    this.d.send({ type: 'DECLINE', decline: { offer_ids: ids.map((value) => ({ value })), filters: { refuse_seconds: refuseSeconds } } }, `DECLINE of ${ids.length} offer(s)`);
  }

  private async launch(offerId: string, placements: Placement[]): Promise<void> {
    const { d } = this;
    const frameworkId = d.frameworkId();
    if (frameworkId === undefined) return;
    // Build every TaskInfo before recording anything: a placement that cannot be launched leaves no Launched record.
    const ready: { w: Worker; p: Placement; task: TaskInfo }[] = [];
    for (const p of placements) {
      const w = d.workers.get(p.workerId)!;
      try {
        ready.push({ w, p, task: buildTaskInfo({ taskId: w.taskId, resourceId: w.resourceId, slots: w.slots, frameworkId, placement: p, executor: d.executor, taskManager: d.taskManager }) });
      } catch (err) {
        d.logger.error(`cannot launch ${w.taskId} on offer ${offerId}: ${describeError(err)}`);
      }
    }
    const launched: { w: Worker; task: TaskInfo }[] = [];
    for (const { w, p, task } of ready) {
      const placed = p.placed;
      const change: Partial<Worker> = { state: 'launched', agentId: p.agentId, hostname: p.hostname, attributes: { ...placed.attributes } };
      if (placed.region !== undefined) change.region = placed.region;
      if (placed.zone !== undefined) change.zone = placed.zone;
      // Recorded one at a time: if the store fails, the ACCEPT carries only what is recorded.
      if (!(await d.persist(w, change))) break;
      launched.push({ w, task });
    }
    if (launched.length === 0) {
      this.decline([offerId], d.refuseSeconds);
      return;
    }
    d.offers.take(offerId);
    d.metrics.offersUsed.inc();
    d.metrics.launches.inc(launched.length);
    const ids = launched.map((l) => l.w.taskId);
    d.logger.info('launching TaskManagers', { offerId, host: launched[0]!.w.hostname ?? '', tasks: ids.join(',') });
    const workers = launched.map((l) => l.w);
    d.send(
      {
        type: 'ACCEPT',
        accept: {
          offer_ids: [{ value: offerId }],
          operations: [{ type: 'LAUNCH', launch: { task_infos: launched.map((l) => l.task) } }],
          filters: { refuse_seconds: d.refuseSeconds },
        },
      },
      `ACCEPT of offer ${offerId} launching ${ids.join(', ')}`,
      () => {
        d.reconcile(workers);
        // Mesos keeps an offer it did not take outstanding (until --offer_timeout, which is off by default):
        // hand it back, or its resources are lost to every framework. If the ACCEPT did take, the master ignores this.
        // A DECLINE lost too (the connection dropped, say) is sent again with backoff.
        const handBack = (attempt: number): void =>
          d.send({ type: 'DECLINE', decline: { offer_ids: [{ value: offerId }], filters: { refuse_seconds: 0 } } }, `DECLINE of offer ${offerId} after its ACCEPT failed`, () => {
            if (attempt < DECLINE_RETRIES) d.after(1_000 * 2 ** attempt, () => handBack(attempt + 1));
          });
        handBack(0);
      },
    );
  }
}
