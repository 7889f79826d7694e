/**
 * The `mesos` ClusterDriver: the ResourceManager's workers as Mesos tasks of Sluice's custom
 * executor. It owns what a framework scheduler decides — the framework id and the worker records
 * in the HA store (each written before the call it guards), offers to launches, status updates
 * to worker events, reconciliation after every subscription, the executors' reports — and leaves
 * the wire to the MasterConnection and placement to the matcher. Every callback only posts onto
 * one mailbox; state changes happen there, in order.
 *
 * Three ways to stop: close() leaves every TaskManager running for the next scheduler (leadership
 * lost, process restart); terminate() kills them but keeps the framework, so a restart resumes;
 * teardown() ends the framework in Mesos and forgets it.
 */
import { createLogger, describeError, hasErrorCode, SluiceError, type Logger } from '@sluice/common';
import { HA_FENCED, type LeaderToken, type MesosStore } from '@sluice/ha';
import type { ClusterDriver, ClusterDriverEvents, WorkerSpec } from '@sluice/jobmanager';
import type { FrameworkInfo, SchedulerCall, SchedulerEvent, SchedulerEventType } from '@sluice/mesos-proto';
import { Mailbox } from '@sluice/protocol';
import type { MasterConnection } from '../master/types.js';
import { LaunchBrake } from './launch-brake.js';
import { FrameworkMessages, type HttpSdTargetGroup } from './framework-messages.js';
import { buildFrameworkInfo } from './launch.js';
import { MesosDriverMetrics } from './metrics.js';
import { OfferBook } from './offer-book.js';
import { OfferInterest } from './offer-interest.js';
import { OfferHandler } from './offer-handler.js';
import { resolveMesosDriverOptions, type MesosClusterDriverOptions, type ResolvedDriverOptions } from './options.js';
import { Reconciler } from './reconciler.js';
import { StatusHandler } from './status-handler.js';
import { systemTimers, type DriverTimers } from './timers.js';
import { WorkerRecords } from './worker-records.js';
import { fromRecord, WorkerTable, type Worker } from './worker-table.js';

/** The master's words when a framework id is no longer usable: removed, or its failover timeout passed. */
const FRAMEWORK_REMOVED = /framework has been removed|framework .* (?:has been|was) (?:removed|torn down)/i;

export class MesosClusterDriver implements ClusterDriver {
  readonly metrics: MesosDriverMetrics;
  private readonly o: ResolvedDriverOptions;
  private readonly connection: MasterConnection;
  private readonly store: MesosStore;
  private readonly token: LeaderToken;
  private readonly timers: DriverTimers;
  private readonly logger: Logger;
  private readonly mailbox = new Mailbox();
  private readonly workers = new WorkerTable();
  private readonly offers: OfferBook;
  private readonly offerHandler: OfferHandler;
  private readonly reconciler: Reconciler;
  private readonly status: StatusHandler;
  private readonly messages: FrameworkMessages;
  private readonly brake: LaunchBrake;
  private readonly records: WorkerRecords;
  private events: ClusterDriverEvents | undefined;
  /** The id the next SUBSCRIBE carries: the stored one, the master's once persisted, none after a removal. */
  private frameworkId: string | undefined;
  /** SUBSCRIBED handled and its framework id persisted: calls may go out. */
  private subscribed = false;
  private readonly interest: OfferInterest;
  /** Counts subscriptions and disconnects, so a retry meant for an earlier subscription does nothing. */
  private generation = 0;
  private state: 'created' | 'running' | 'terminating' | 'closed' = 'created';
  private allGone: (() => void) | undefined;

  constructor(private readonly options: MesosClusterDriverOptions) {
    this.o = resolveMesosDriverOptions(options);
    this.connection = options.connection;
    this.store = options.store;
    this.token = options.leaderToken;
    this.timers = options.timers ?? systemTimers;
    this.logger = (options.logger ?? createLogger()).child('mesos-driver');
    this.metrics = options.metrics ?? new MesosDriverMetrics();
    this.records = new WorkerRecords(this.store, this.token, options.profile.name, this.workers, this.logger, () => void this.shutdown());
    const run = (action: () => void | Promise<void>): void => void this.mailbox.run(action).catch((err: unknown) => this.logger.error(`mesos driver: ${describeError(err)}`));
    this.brake = new LaunchBrake(this.o.failureRate, this.timers, this.workers, this.logger, run, () => this.matchHeld());
    this.offers = new OfferBook(this.timers, this.o.offerHoldTimeoutMs, run, (id) => this.offerHandler.decline([id], this.o.refuseSeconds));
    this.interest = new OfferInterest({
      connection: this.connection,
      timers: this.timers,
      logger: this.logger,
      run,
      retryMs: this.o.reconcileInitialBackoffMs,
      onSuppress: () => this.offerHandler.decline(this.offers.ids(), this.o.idleRefuseSeconds),
    });
    this.reconciler = new Reconciler({
      timers: this.timers,
      run,
      initialBackoffMs: this.o.reconcileInitialBackoffMs,
      maxBackoffMs: this.o.reconcileMaxBackoffMs,
      implicitIntervalMs: this.o.implicitReconcileIntervalMs,
      send: (tasks) => {
        this.metrics.reconciliations.inc({ kind: tasks.length === 0 ? 'implicit' : 'explicit' });
        this.send({ type: 'RECONCILE', reconcile: { tasks: tasks.map((t) => ({ task_id: { value: t.taskId }, ...(t.agentId === undefined ? {} : { agent_id: { value: t.agentId } }) })) } }, 'RECONCILE');
      },
    });
    const base = { workers: this.workers, metrics: this.metrics, logger: this.logger };
    this.offerHandler = new OfferHandler({
      ...base,
      offers: this.offers,
      match: options.match,
      profile: options.profile,
      constraints: options.constraints ?? [],
      roles: this.o.roles,
      executor: options.executor,
      taskManager: options.taskManager,
      refuseSeconds: this.o.refuseSeconds,
      idleRefuseSeconds: this.o.idleRefuseSeconds,
      nowMs: () => this.timers.nowMs(),
      frameworkId: () => (this.subscribed ? this.frameworkId : undefined),
      persist: (w, change) => this.records.persist(w, change),
      send: (call, what, onFailure) => this.send(call, what, onFailure),
      reconcile: (ws) => this.reconciler.ask(ws.map((w) => ({ taskId: w.taskId, ...(w.agentId === undefined ? {} : { agentId: w.agentId }) }))),
      after: (ms, fn) => void this.timers.after(ms, () => {
        if (!this.isClosed()) fn();
      }),
    });
    this.status = new StatusHandler({
      ...base,
      remove: (w) => this.records.remove(w),
      kill: (taskId, agentId) => this.kill(taskId, agentId),
      send: (call, what) => this.send(call, what),
      answered: (taskId) => this.reconciler.answered(taskId),
      unreachable: (taskId, agentId, unreachable) => {
        if (unreachable) this.reconciler.unreachableTask({ taskId, ...(agentId === undefined ? {} : { agentId }) });
        else if (this.reconciler.reachable(taskId)) this.logger.info(`TaskManager task ${taskId} is reachable again`);
      },
      started: (w) => this.events?.onWorkerStarted(w.resourceId),
      terminated: (w, reason, failed) => this.terminated(w, reason, failed),
    });
    this.messages = new FrameworkMessages(this.workers, this.metrics, this.logger, () => this.timers.nowMs());
    this.metrics.attach({
      subscribed: () => this.subscribed,
      workers: () => this.workers.counts(),
      heldOffers: () => this.offers.size,
      reportedSlots: () => this.messages.slots(),
    });
  }

  async initialize(events: ClusterDriverEvents): Promise<void> {
    if (this.state !== 'created') throw new SluiceError('ILLEGAL_STATE', 'the mesos driver was already initialized');
    this.events = events;
    this.frameworkId = await this.store.frameworkId();
    const { records, problems } = await this.store.workers();
    for (const p of problems) {
      this.logger.warn(`cannot read the record of worker ${p.jobId} at ${p.where} (${p.problem}); if Mesos still runs its task, reconciliation finds it unknown and kills it`);
    }
    for (const r of records) this.workers.add(fromRecord(r, 1));
    // Their TaskManagers register again at this ResourceManager: it must not start others meanwhile.
    const recovered = this.workers.all().filter((w) => w.state !== 'released');
    if (recovered.length > 0) events.onWorkersRecovered?.(recovered.map((w) => ({ resourceId: w.resourceId, numberOfSlots: w.slots })));
    this.state = 'running';
    this.logger.info(this.frameworkId === undefined ? 'registering a new Mesos framework' : 'resuming the Mesos framework', {
      frameworkId: this.frameworkId ?? '',
      workers: records.length,
    });
    this.connection.start(() => this.frameworkInfo(), {
      onSubscribed: (info) => {
        const generation = ++this.generation;
        return this.mailbox.run(() => this.subscribedTo(info.frameworkId, info.masterHost, generation));
      },
      onEvent: (event) => this.onEvent(event),
      onDisconnected: (reason) => this.onDisconnected(reason),
    });
  }

  requestWorker(spec: WorkerSpec): Promise<void> {
    return this.mailbox.run(async () => {
      if (this.state !== 'running') throw new SluiceError('DRIVER_TERMINATED', `cannot start worker '${spec.resourceId}': the mesos driver is ${this.state}`);
      if (this.workers.ofResource(spec.resourceId) !== undefined) throw new SluiceError('WORKER_EXISTS', `worker '${spec.resourceId}' was already requested`);
      if (!Number.isInteger(spec.numberOfSlots) || spec.numberOfSlots < 1) {
        throw new SluiceError('INVALID_WORKER_SPEC', `worker '${spec.resourceId}' asks for ${spec.numberOfSlots} slots; expected a positive integer`);
      }
      const w: Worker = { taskId: this.workers.nextTaskId(), resourceId: spec.resourceId, slots: spec.numberOfSlots, state: 'new', started: false };
      await this.records.put(w);
      this.workers.add(w);
      this.brake.apply(w);
      this.logger.info('worker requested', { taskId: w.taskId, resourceId: w.resourceId });
      await this.matchHeld();
    });
  }

  releaseWorker(resourceId: string): Promise<void> {
    return this.mailbox.run(async () => {
      const w = this.workers.ofResource(resourceId);
      if (w === undefined) return;
      if (w.state === 'new') {
        await this.forget(w, 'released before it was launched');
        this.updateOfferInterest();
        return;
      }
      if (w.state === 'launched' && !(await this.records.persist(w, { state: 'released' }))) return;
      this.kill(w.taskId, w.agentId);
    });
  }

  /**
   * Kills every TaskManager and waits (bounded) for their ends, then stops talking to Mesos.
   * With `teardown` it then also ends the framework in Mesos: an intentional cluster stop.
   */
  async terminate(options: { teardown?: boolean } = {}): Promise<void> {
    const started = await this.mailbox.run(async () => {
      if (this.state !== 'running') return false;
      this.state = 'terminating';
      for (const w of this.workers.all()) {
        if (w.state === 'new') await this.forget(w, 'the mesos driver terminated');
        else if (w.state === 'released' || (await this.records.persist(w, { state: 'released' }))) {
          this.kill(w.taskId, w.agentId);
        }
      }
      this.updateOfferInterest();
      return true;
    });
    if (!started) return;
    await this.untilNoWorkers(this.o.terminateTimeoutMs);
    const left = this.workers.all().map((w) => w.taskId);
    if (left.length > 0) this.logger.warn(`terminating without the end of ${left.join(', ')}: their records stay Released, so the next start kills them again`);
    if (options.teardown === true) {
      try {
        await this.mailbox.run(() => this.tearDownFramework());
      } catch (err) {
        this.logger.warn(`the Mesos framework stays registered: ${describeError(err)}`);
      }
    }
    await this.shutdown();
  }

  /** Ends the framework in Mesos (TEARDOWN: every task killed) and forgets it: an intentional cluster stop. */
  async teardown(): Promise<void> {
    await this.mailbox.run(() => this.tearDownFramework());
    await this.shutdown();
  }

  private async tearDownFramework(): Promise<void> {
    const id = this.frameworkId;
    if (id === undefined) return;
    if (!this.subscribed) {
      throw new SluiceError('MESOS_NOT_SUBSCRIBED', `cannot tear down framework ${id}: not subscribed to a Mesos master; retry when connected, or have an operator POST frameworkId=${id} to the master's /master/teardown`, { retriable: true });
    }
    await this.connection.call({ type: 'TEARDOWN' });
    this.logger.info('tore the Mesos framework down', { frameworkId: id });
    await this.store.clearFrameworkId(this.token);
    this.frameworkId = undefined;
    for (const w of this.workers.all()) await this.forget(w, `framework ${id} torn down`);
  }

  /** Stops talking to Mesos and leaves every TaskManager running (the next scheduler adopts them). */
  close(): Promise<void> {
    return this.shutdown();
  }

  /** Whether the worker's executor reported its TaskManager registered within `reportFreshnessMs` (the ResourceManager asks when RPC to it breaks). */
  isWorkerReportedAlive(resourceId: string): boolean {
    return this.messages.vouchesFor(resourceId, this.o.reportFreshnessMs);
  }

  /** Prometheus HTTP SD target groups: every running TaskManager with a reported metrics address. */
  httpSdTargets(): HttpSdTargetGroup[] {
    return this.messages.targets(this.frameworkId ?? '');
  }

  /** What `/healthz` shows. */
  health(): { state: string; subscribed: boolean; frameworkId?: string } {
    return { state: this.state, subscribed: this.subscribed, ...(this.frameworkId === undefined ? {} : { frameworkId: this.frameworkId }) };
  }

  // ---- subscription ----

  private frameworkInfo(): FrameworkInfo {
    return buildFrameworkInfo(this.options.framework, this.options.profile, this.frameworkId);
  }

  private async subscribedTo(frameworkId: string, masterHost: string, generation: number): Promise<void> {
    if (this.isClosed() || generation !== this.generation) return;
    // Persisted before anything relies on it: a restart must resubscribe with this id.
    try {
      await this.store.putFrameworkId(this.token, frameworkId);
    } catch (err) {
      this.records.failed(`cannot record the framework id ${frameworkId}; sending nothing to Mesos until it is recorded`, err);
      if (!hasErrorCode(err, HA_FENCED)) {
        this.timers.after(this.o.reconcileInitialBackoffMs, () => void this.mailbox.run(() => this.subscribedTo(frameworkId, masterHost, generation)));
      }
      return;
    }
    if (this.isClosed() || generation !== this.generation) return; // disconnected meanwhile: the next SUBSCRIBED starts over
    if (this.frameworkId !== undefined && this.frameworkId !== frameworkId) this.logger.warn(`the master named framework ${frameworkId}, not ${this.frameworkId}`);
    this.frameworkId = frameworkId;
    this.subscribed = true;
    this.interest.reset();
    this.logger.info('subscribed to the Mesos master', { frameworkId, master: masterHost });
    const known = this.workers.all().filter((w) => w.state !== 'new');
    for (const w of known) if (w.state === 'released') this.kill(w.taskId, w.agentId);
    this.reconciler.start(known.map((w) => ({ taskId: w.taskId, ...(w.agentId === undefined ? {} : { agentId: w.agentId }) })));
    this.updateOfferInterest();
  }

  private onDisconnected(reason: string): void {
    this.generation++;
    if (FRAMEWORK_REMOVED.test(reason)) this.frameworkRemoved(reason);
    void this.mailbox.run(() => {
      if (!this.subscribed) return;
      this.subscribed = false;
      this.interest.reset();
      this.offers.clear();
      this.reconciler.stop();
      this.logger.warn(`lost the Mesos master subscription (${reason}); resubscribing`);
    });
  }

  /** Synchronous part: the next SUBSCRIBE (which the connection may send at once) registers a new framework. */
  private frameworkRemoved(message: string): void {
    const old = this.frameworkId;
    if (old === undefined) return;
    this.frameworkId = undefined;
    void this.mailbox.run(async () => {
      this.logger.warn(
        `Mesos removed framework ${old} (${message}): an operator tore it down, or it was away longer than its failover timeout. ` +
          'Its TaskManagers were killed by Mesos; subscribing as a new framework and replacing them',
      );
      this.subscribed = false;
      this.offers.clear();
      this.reconciler.stop();
      try {
        await this.store.clearFrameworkId(this.token);
      } catch (err) {
        this.records.failed(`cannot forget framework ${old} in the store`, err);
      }
      for (const w of this.workers.all()) if (w.state !== 'new') await this.forget(w, `framework ${old} was removed by Mesos`);
    });
  }

  // ---- events ----

  private onEvent(event: SchedulerEvent): void {
    if (event.type === 'ERROR' && FRAMEWORK_REMOVED.test(event.error?.message ?? '')) this.frameworkRemoved(event.error?.message ?? '');
    void this.mailbox.run(() => this.handle(event)).catch((err: unknown) => this.logger.error(`handling a ${event.type ?? 'typeless'} event failed: ${describeError(err)}`));
  }

  private readonly handlers: Record<SchedulerEventType, (e: SchedulerEvent) => void | Promise<void>> = {
    OFFERS: (e) => this.offersArrived(e),
    RESCIND: (e) => {
      if (e.rescind !== undefined && this.offers.take(e.rescind.offer_id.value) !== undefined) this.metrics.offersRescinded.inc();
    },
    UPDATE: async (e) => {
      if (e.update === undefined) return;
      this.workers.sawTaskId(e.update.status.task_id.value);
      await this.status.update(e.update.status);
      if (this.workers.size === 0) this.allGone?.();
      await this.matchHeld();
    },
    MESSAGE: (e) => {
      if (e.message !== undefined) this.messages.receive(e.message.executor_id.value, e.message.data);
    },
    FAILURE: (e) => {
      const f = e.failure ?? {};
      if (f.executor_id === undefined) this.logger.warn('Mesos removed an agent', { agentId: f.agent_id?.value ?? '' });
      // Status 0: it ended by itself after its task (a released TaskManager); anything else is worth a look.
      else this.logger[f.status === 0 ? 'info' : 'warn']('an executor exited', { executorId: f.executor_id.value, agentId: f.agent_id?.value ?? '', status: f.status ?? -1 });
    },
    ERROR: (e) => this.logger.error(`the Mesos master sent an error: ${e.error?.message ?? '(no message)'}`),
    INVERSE_OFFERS: () => this.logger.debug('ignoring inverse offers (maintenance): TaskManagers are moved by the ResourceManager, not by Mesos schedules'),
    RESCIND_INVERSE_OFFER: () => undefined,
    UPDATE_OPERATION_STATUS: () => undefined,
    SUBSCRIBED: () => undefined,
    HEARTBEAT: () => undefined,
    UNKNOWN: (e) => this.logger.warn(`ignoring an event of a type this Sluice does not know (${e.type ?? 'none'})`),
  };

  private handle(e: SchedulerEvent): void | Promise<void> {
    return (this.handlers[e.type ?? 'UNKNOWN'] ?? this.handlers.UNKNOWN)(e);
  }

  private async offersArrived(e: SchedulerEvent): Promise<void> {
    const offers = e.offers?.offers ?? [];
    this.metrics.offersReceived.inc(offers.length);
    if (!this.subscribed || this.state === 'closed') return;
    for (const o of offers) this.offers.add(o);
    await this.matchHeld();
  }

  // ---- helpers ----

  /** Launches what the held offers fit, then says whether offers are still wanted. */
  private async matchHeld(): Promise<void> {
    this.updateOfferInterest();
    await this.offerHandler.matchHeld();
    this.updateOfferInterest();
  }

  /** A method, not a field test: the state changes across awaits. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  /** REVIVE when a worker becomes wanted, SUPPRESS when none is (declining what is held). */
  private updateOfferInterest(): void {
    if (!this.subscribed) return;
    this.interest.update(this.state === 'running' && this.workers.pending(this.timers.nowMs()).length > 0);
  }

  /**
   * Ends a worker no status update will end: its record removed (one the store refuses to remove
   * stays for the next start to reconcile or launch) and the ResourceManager told.
   */
  private async forget(w: Worker, reason: string): Promise<void> {
    await this.records.remove(w).catch(() => this.workers.delete(w));
    this.terminated(w, reason, false);
  }

  private terminated(w: Worker, reason: string, failed: boolean): void {
    if (failed) this.brake.recordFailure();
    this.logger.info('worker terminated', { taskId: w.taskId, resourceId: w.resourceId, reason });
    this.events?.onWorkerTerminated(w.resourceId, reason);
  }

  private kill(taskId: string, agentId: string | undefined): void {
    const task = { taskId, ...(agentId === undefined ? {} : { agentId }) };
    // A KILL that failed is asked about: a reconciliation answer that the task still runs sends the KILL again.
    this.send({ type: 'KILL', kill: { task_id: { value: taskId }, ...(agentId === undefined ? {} : { agent_id: { value: agentId } }) } }, `KILL of ${taskId}`, () => this.reconciler.ask([task]));
  }

  private send(call: SchedulerCall, what: string, onFailure?: () => void): void {
    if (!this.subscribed) {
      this.logger.debug(`not subscribed; ${what} not sent`);
      return;
    }
    this.connection.call(call).catch((err: unknown) => {
      this.logger.warn(`${what} failed: ${describeError(err)}`);
      if (onFailure !== undefined) void this.mailbox.run(onFailure);
    });
  }

  private untilNoWorkers(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.timers.after(timeoutMs, () => done());
      const done = (): void => {
        timer.cancel();
        this.allGone = undefined;
        resolve();
      };
      this.allGone = done;
      void this.mailbox.run(() => {
        if (this.workers.size === 0) done();
      });
    });
  }

  private async shutdown(): Promise<void> {
    const wasOpen = await this.mailbox.run(() => {
      if (this.state === 'closed') return false;
      this.offerHandler.decline(this.offers.ids(), this.o.refuseSeconds);
      this.state = 'closed';
      this.subscribed = false;
      this.reconciler.stop();
      this.brake.stop();
      return true;
    });
    if (wasOpen) await this.connection.close();
  }
}
