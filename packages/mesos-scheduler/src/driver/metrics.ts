/**
 * The scheduler's own Prometheus series: what happened to offers, launches, failures and
 * reconciliation (counters the driver increments), and what holds now — subscription, workers
 * by state, the slots each TaskManager last reported (gauges read from the driver at scrape
 * time, so they never go stale). Labels are bounded by the number of workers.
 */
import { Counter, Gauge, Registry } from 'prom-client';

/** What the gauges read from the driver when scraped. */
export interface DriverStateView {
  subscribed(): boolean;
  workers(): { pending: number; launched: number; running: number };
  heldOffers(): number;
  /** Per running TaskManager, the slots its executor last reported. */
  reportedSlots(): { taskId: string; free: number; total: number }[];
}

export class MesosDriverMetrics {
  readonly registry: Registry;
  readonly offersReceived: Counter;
  readonly offersDeclined: Counter;
  readonly offersUsed: Counter;
  readonly offersRescinded: Counter;
  readonly launches: Counter;
  readonly taskFailures: Counter<'state'>;
  readonly reconciliations: Counter<'kind'>;
  readonly frameworkMessages: Counter<'result'>;
  private view: DriverStateView | undefined;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const r = [registry];
    this.offersReceived = new Counter({ name: 'sluice_mesos_offers_received_total', help: 'Offers received from the Mesos master.', registers: r });
    this.offersDeclined = new Counter({ name: 'sluice_mesos_offers_declined_total', help: 'Offers declined (nothing to place, or held past the hold timeout).', registers: r });
    this.offersUsed = new Counter({ name: 'sluice_mesos_offers_used_total', help: 'Offers accepted with at least one TaskManager launch.', registers: r });
    this.offersRescinded = new Counter({ name: 'sluice_mesos_offers_rescinded_total', help: 'Offers the master rescinded while Sluice held them.', registers: r });
    this.launches = new Counter({ name: 'sluice_mesos_task_launches_total', help: 'TaskManager tasks launched.', registers: r });
    this.taskFailures = new Counter({
      name: 'sluice_mesos_task_failures_total',
      help: 'TaskManager tasks that ended without being released, by final state.',
      labelNames: ['state'],
      registers: r,
    });
    this.reconciliations = new Counter({
      name: 'sluice_mesos_reconciliation_rounds_total',
      help: 'RECONCILE calls sent: explicit (listed tasks) or implicit (all tasks).',
      labelNames: ['kind'],
      registers: r,
    });
    this.frameworkMessages = new Counter({
      name: 'sluice_mesos_framework_messages_total',
      help: 'Framework messages from executors: accepted reports, or ignored (unreadable, unknown task).',
      labelNames: ['result'],
      registers: r,
    });
    const view = (): DriverStateView | undefined => this.view;
    new Gauge({
      name: 'sluice_mesos_subscribed',
      help: '1 while subscribed to the leading Mesos master, else 0.',
      registers: r,
      collect() {
        this.set(view()?.subscribed() === true ? 1 : 0);
      },
    });
    new Gauge({
      name: 'sluice_mesos_offers_held',
      help: 'Offers held now, waiting for a worker that fits.',
      registers: r,
      collect() {
        this.set(view()?.heldOffers() ?? 0);
      },
    });
    new Gauge({
      name: 'sluice_mesos_workers',
      help: 'TaskManager workers by state: pending (wanted, not launched), launched (not yet running), running.',
      labelNames: ['state'],
      registers: r,
      collect() {
        const w = view()?.workers() ?? { pending: 0, launched: 0, running: 0 };
        for (const [state, n] of Object.entries(w)) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'sluice_mesos_taskmanager_slots',
      help: "Slots of each running TaskManager, as its executor last reported them (slots: free or total).",
      labelNames: ['task_id', 'slots'],
      registers: r,
      collect() {
        this.reset();
        for (const s of view()?.reportedSlots() ?? []) {
          this.set({ task_id: s.taskId, slots: 'free' }, s.free);
          this.set({ task_id: s.taskId, slots: 'total' }, s.total);
        }
      },
    });
  }

  /** The driver whose state the gauges show. */
  attach(view: DriverStateView): void {
    this.view = view;
  }
}
