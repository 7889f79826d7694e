/**
 * Test doubles for the driver: an in-memory master connection that records every call together
 * with what the HA store held at that moment, hand-driven timers, a small deterministic stand-in
 * for the offer matcher, and the real `none` HA store in a temporary directory (its writes
 * delayed by a turn of the event loop, so a driver that did not wait for them would be caught).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '@sluice/common';
import { createLocalHighAvailabilityServices, type HighAvailabilityServices, type LeaderToken, type MesosStore, type WorkerRecord } from '@sluice/ha';
import type { ClusterDriverEvents, WorkerSpec } from '@sluice/jobmanager';
import { encodeTaskManagerReport, type TaskManagerReport } from '@sluice/mesos-executor';
import { encodeSchedulerCall, type FrameworkInfo, type Offer, type Resource, type SchedulerCall, type SchedulerCallType, type SchedulerEvent, type TaskState, type TaskStatus, type TaskStatusReason } from '@sluice/mesos-proto';
import type { MasterConnection, MasterConnectionEvents } from '../master/types.js';
import type { MatchInput, MatchResult, Placement, WorkerProfile } from '../offers/types.js';
import { MesosClusterDriver } from './mesos-cluster-driver.js';
import type { MesosClusterDriverOptions } from './options.js';
import type { DriverTimers, TimerHandle } from './timers.js';

export class ManualTimers implements DriverTimers {
  private t = 1_000_000;
  private seq = 0;
  private readonly due = new Map<number, { at: number; fn: () => void }>();

  nowMs(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): TimerHandle {
    const id = this.seq++;
    this.due.set(id, { at: this.t + ms, fn });
    return { cancel: () => this.due.delete(id) };
  }

  /** Moves time forward, firing every timer that falls due on the way, in time order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = [...this.due.entries()].filter(([, d]) => d.at <= end).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
      if (next === undefined) break;
      this.due.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
  }

  pending(): number {
    return this.due.size;
  }
}

export interface RecordedCall {
  call: SchedulerCall;
  /** What the store held when the call was made. */
  storedFrameworkId: string | undefined;
  storedWorkers: WorkerRecord[];
}

export class TestingMasterConnection implements MasterConnection {
  state: MasterConnection['state'] = 'idle';
  readonly calls: RecordedCall[] = [];
  /** The FrameworkInfo of every SUBSCRIBE. */
  readonly subscribes: FrameworkInfo[] = [];
  /** Calls the mesos-proto codecs refused (tests expect none). */
  readonly unencodable: string[] = [];
  private frameworkInfo: (() => FrameworkInfo) | undefined;
  private events: MasterConnectionEvents | undefined;
  private failing = new Set<SchedulerCallType>();

  constructor(private readonly dir: string) {}

  start(frameworkInfo: () => FrameworkInfo, events: MasterConnectionEvents): void {
    this.frameworkInfo = frameworkInfo;
    this.events = events;
    this.state = 'subscribing';
    this.subscribes.push(frameworkInfo());
  }

  /** The master answers the last SUBSCRIBE; resolves once the driver handled SUBSCRIBED. */
  async subscribed(frameworkId: string): Promise<void> {
    this.state = 'subscribed';
    await this.events!.onSubscribed({ frameworkId, heartbeatIntervalSeconds: 15, masterHost: 'master-1:5050', streamId: `stream-${this.subscribes.length}` });
  }

  push(event: SchedulerEvent): void {
    this.events!.onEvent(event);
  }

  /** The stream ends; like the real connection, it subscribes again at once (asking for the FrameworkInfo). */
  disconnect(reason: string): void {
    this.state = 'subscribing';
    this.events!.onDisconnected(reason);
    this.subscribes.push(this.frameworkInfo!());
  }

  failCalls(type: SchedulerCallType): void {
    this.failing.add(type);
  }

  /** Undoes failCalls(type). */
  passCalls(type: SchedulerCallType): void {
    this.failing.delete(type);
  }

  async call(call: SchedulerCall): Promise<void> {
    if (this.state !== 'subscribed') throw new Error(`not subscribed (${call.type})`);
    // What the real connection would put on the wire: a call the codecs refuse fails the test here.
    try {
      for (const enc of ['protobuf', 'json'] as const) encodeSchedulerCall({ framework_id: { value: 'fw' }, ...call }, enc);
    } catch (err) {
      this.unencodable.push(`${call.type}: ${String(err)}`);
      throw err;
    }
    this.calls.push({ call, storedFrameworkId: readFrameworkId(this.dir), storedWorkers: readWorkers(this.dir) });
    if (call.type !== undefined && this.failing.has(call.type)) throw new Error(`the master refused ${call.type}`);
  }

  async close(): Promise<void> {
    this.state = 'closed';
  }

  of(type: SchedulerCallType): RecordedCall[] {
    return this.calls.filter((c) => c.call.type === type);
  }

  types(): (SchedulerCallType | undefined)[] {
    return this.calls.map((c) => c.call.type);
  }
}

// The `none` store's files, read synchronously at the moment of a call.
function readFrameworkId(dir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'mesos', 'framework-id'), 'utf8')) as { frameworkId: string }).frameworkId;
  } catch {
    return undefined;
  }
}
function readWorkers(dir: string): WorkerRecord[] {
  const d = join(dir, 'mesos', 'workers');
  return readdirSync(d)
    .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(d, f), 'utf8')) as WorkerRecord);
}

/** Each write waits one event-loop turn before it reaches the real store. */
function slowWrites(store: MesosStore): MesosStore {
  const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
  return {
    frameworkId: () => store.frameworkId(),
    workers: () => store.workers(),
    putFrameworkId: async (t, id) => turn().then(() => store.putFrameworkId(t, id)),
    clearFrameworkId: async (t) => turn().then(() => store.clearFrameworkId(t)),
    putWorker: async (t, r) => turn().then(() => store.putWorker(t, r)),
    removeWorker: async (t, id) => turn().then(() => store.removeWorker(t, id)),
  };
}

export interface TestingStore {
  dir: string;
  ha: HighAvailabilityServices;
  store: MesosStore;
  token: LeaderToken;
  close(): Promise<void>;
}

export async function openTestingStore(): Promise<TestingStore> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-mesos-driver-'));
  const ha = createLocalHighAvailabilityServices({ directory: dir, pollIntervalMs: 20 });
  const election = ha.leaderElection('dispatcher');
  const token = await new Promise<LeaderToken>((resolve) => void election.start({ grantLeadership: resolve, revokeLeadership: () => undefined }));
  return {
    dir,
    ha,
    store: slowWrites(ha.mesos),
    token,
    async close() {
      await ha.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export class TestingEvents implements ClusterDriverEvents {
  readonly started: string[] = [];
  readonly terminated: { resourceId: string; reason: string }[] = [];
  readonly recovered: WorkerSpec[][] = [];
  onWorkerStarted(resourceId: string): void {
    this.started.push(resourceId);
  }
  onWorkerTerminated(resourceId: string, reason: string): void {
    this.terminated.push({ resourceId, reason });
  }
  onWorkersRecovered(workers: WorkerSpec[]): void {
    this.recovered.push(workers);
  }
}

export const PROFILE: WorkerProfile = { name: 'default', cpus: 1, memMb: 1024, diskMb: 0, gpus: 0, ports: ['rpc', 'data', 'metrics'], executor: { cpus: 0.1, memMb: 64 } };

const scalar = (name: string, value: number): Resource => ({ name, type: 'SCALAR', scalar: { value }, role: '*' });

/** An offer of agent `agent` on host `host`; hosts named `small-*` fit no worker in the stand-in matcher. */
export function offer(id: string, agent = 'agent-1', host = 'host-1', firstPort = 31000): Offer {
  return {
    id: { value: id },
    framework_id: { value: 'fw-1' },
    agent_id: { value: agent },
    hostname: host,
    resources: [scalar('cpus', 4), scalar('mem', 8192), { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: firstPort, end: firstPort + 99 }] }, role: '*' }],
    attributes: [{ name: 'rack', type: 'TEXT', text: { value: `rack-of-${host}` } }],
  };
}

/**
 * The stand-in matcher: one pending worker per offer, in order, except on `small-*` hosts; ports
 * from the offer's first range; the attribute `rack` kept for placed workers.
 */
export class StandInMatcher {
  readonly inputs: MatchInput[] = [];
  readonly match = (input: MatchInput): MatchResult => {
    this.inputs.push(input);
    const placements: Placement[] = [];
    const unused: string[] = [];
    const pending = [...input.pending];
    for (const o of input.offers) {
      const w = o.hostname.startsWith('small-') ? undefined : pending.shift();
      if (w === undefined) {
        unused.push(o.id.value);
        continue;
      }
      const first = Number(o.resources?.find((r) => r.name === 'ports')?.ranges?.range?.[0]?.begin ?? 31000);
      const rack = o.attributes?.find((a) => a.name === 'rack')?.text?.value ?? '';
      placements.push({
        workerId: w.workerId,
        offerId: o.id.value,
        agentId: o.agent_id.value,
        hostname: o.hostname,
        taskResources: [scalar('cpus', w.profile.cpus), scalar('mem', w.profile.memMb)],
        executorResources: [scalar('cpus', w.profile.executor.cpus), scalar('mem', w.profile.executor.memMb)],
        ports: { rpc: first, data: first + 1, metrics: first + 2 },
        placed: { workerId: w.workerId, agentId: o.agent_id.value, hostname: o.hostname, attributes: { rack }, zone: 'zone-a' },
      });
    }
    return { placements, unusedOfferIds: unused, unplaced: pending.map((w) => ({ workerId: w.workerId, reason: 'no offer left' })) };
  };
}

export function status(taskId: string, state: TaskState, o: { uuid?: boolean; reason?: TaskStatusReason; message?: string; agent?: string } = {}): SchedulerEvent {
  const s: TaskStatus = { task_id: { value: taskId }, state, agent_id: { value: o.agent ?? 'agent-1' }, source: 'SOURCE_EXECUTOR' };
  if (o.uuid !== false) s.uuid = Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
  if (o.reason !== undefined) s.reason = o.reason;
  if (o.message !== undefined) s.message = o.message;
  if (o.reason === 'REASON_RECONCILIATION') {
    delete s.uuid;
    s.source = 'SOURCE_MASTER';
  }
  return { type: 'UPDATE', update: { status: s } };
}

export function reportMessage(taskId: string, r: Partial<TaskManagerReport> = {}, executorId = `${taskId}-executor`): SchedulerEvent {
  const report: TaskManagerReport = { v: 1, kind: 'taskmanager-report', taskId, phase: 'registered', slots: { total: 4, free: 3 }, metrics: {}, at: 1, ...r };
  return { type: 'MESSAGE', message: { agent_id: { value: 'agent-1' }, executor_id: { value: executorId }, data: encodeTaskManagerReport(report) } };
}

export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger('debug', 'test', (l) => lines.push(l)), lines };
}

/** Polls `check` until it returns something other than undefined/false; fails naming `what` after 5 s. */
export async function eventually<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> {
  for (let i = 0; i < 1000; i++) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface Harness {
  driver: MesosClusterDriver;
  conn: TestingMasterConnection;
  timers: ManualTimers;
  events: TestingEvents;
  matcher: StandInMatcher;
  lines: string[];
}

/** A driver over the testing store and an in-memory connection, not yet initialized (the ResourceManager does that). */
export function createDriver(s: TestingStore, over: Partial<MesosClusterDriverOptions> = {}, timers = new ManualTimers()): Harness {
  const conn = new TestingMasterConnection(s.dir);
  const matcher = new StandInMatcher();
  const { logger, lines } = capturingLogger();
  const driver = new MesosClusterDriver({
    connection: conn,
    store: s.store,
    leaderToken: s.token,
    profile: PROFILE,
    framework: { user: 'sluice' },
    executor: { command: 'bin/sluice-executor' },
    taskManager: { cluster: 'sluice://10.0.0.1:6123', secret: 'cluster-secret' },
    match: matcher.match,
    timers,
    logger,
    ...over,
  });
  return { driver, conn, timers, events: new TestingEvents(), matcher, lines };
}

export async function startDriver(s: TestingStore, over: Partial<MesosClusterDriverOptions> = {}, timers = new ManualTimers()): Promise<Harness> {
  const h = createDriver(s, over, timers);
  await h.driver.initialize(h.events);
  return h;
}
