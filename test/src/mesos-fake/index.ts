/**
 * A fake Mesos master (1–3 of them sharing one state) and agents for tests, speaking the v1
 * scheduler and executor HTTP APIs as the reference describes them (protobuf and JSON, RecordIO,
 * Mesos-Stream-Id, redirects, status codes, offers in both resource formats, ACCEPT validation,
 * status update acknowledgement) and launching custom executors as real processes with a real
 * agent's environment. `startMesosCluster()` returns the handle: URLs, inspection, fault
 * injection and `stop()`. See README.md in this folder for what it does and does not do.
 */
import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { Offer, SchedulerEvent, TaskState, TaskStatus } from '@sluice/mesos-proto';
import { FakeAgent } from './agent.js';
import { failoverMaster, injectStreamFault, type StreamFault } from './faults.js';
import { FakeMaster, type CallFault } from './master.js';
import { MasterLink } from './master-agent.js';
import { MasterCore } from './master-core.js';
import { ClusterState, type FakeExecutor, type FakeFramework, type MesosClusterOptions, type ReceivedCall, type ResolvedOptions } from './model.js';
import { changeReservations } from './scheduler-calls.js';
import { parseAttributes, parseResources, toWire } from './resources.js';

export type { MesosClusterOptions, FakeAgentOptions, ReceivedCall } from './model.js';
export type { StreamFault } from './faults.js';

const DEFAULT_RESOURCES = 'cpus:4;mem:4096;disk:10000;ports:[31000-31999]';

export interface FrameworkView {
  id: string;
  info: FakeFramework['info'];
  roles: string[];
  capabilities: string[];
  connected: boolean;
  streamId: string | undefined;
  /** Every stream id this framework was given, in order. */
  streamIds: string[];
  suppressedRoles: string[];
}

export interface TaskView {
  taskId: string;
  frameworkId: string;
  agentId: string;
  executorId: string | undefined;
  state: TaskState;
  /** States in the master's view, in order. */
  history: TaskState[];
  /** Statuses sent to the scheduler, in order. */
  statuses: TaskStatus[];
}

export interface ExecutorView {
  frameworkId: string;
  executorId: string;
  agentId: string;
  pid: number | undefined;
  sandbox: string;
  /** The container's root filesystem when it runs in an image from `dockerRegistry`. */
  rootfs: string | undefined;
  phase: FakeExecutor['phase'];
  subscribed: boolean;
  exit: FakeExecutor['exit'];
}

export interface AgentHandle {
  id: string;
  index: number;
  /** 127.X.0.N, X chosen per cluster (also the default hostname). */
  ip: string;
  hostname: string;
  port: number;
  /** `ip:port` — what MESOS_AGENT_ENDPOINT holds. */
  endpoint: string;
  /** Restarts the agent process: server down for `downMs`, then the re-registration window; resolves after it. */
  restart(options?: { downMs?: number }): Promise<void>;
  /** The master loses contact with this agent (TASK_UNREACHABLE / TASK_LOST, FAILURE, offers rescinded). */
  partition(): void;
  /** The agent reregisters with the master. */
  heal(): void;
  /** Dynamically reserves `resources` (Mesos syntax, unreserved today) for `role`, like operator RESERVE_RESOURCES. */
  reserve(resources: string, role: string, principal?: string, labels?: Record<string, string>): void;
}

export interface MesosCluster {
  /** The URL of every master, by index; `masterUrl` is the first leader's. */
  readonly masterUrls: readonly string[];
  readonly masterUrl: string;
  /** `127.0.0.1:port` of the first master (what `--master` takes). */
  readonly masterAddress: string;
  readonly agents: readonly AgentHandle[];
  leaderIndex(): number | undefined;

  frameworks(): FrameworkView[];
  /** Outstanding offers as their framework sees them. */
  offers(frameworkId?: string): Offer[];
  tasks(frameworkId?: string): TaskView[];
  task(taskId: string): TaskView | undefined;
  /** Calls received by the masters and agents, in order. */
  calls(filter?: { api?: 'scheduler' | 'executor'; type?: string }): ReceivedCall[];
  /** Events sent to frameworks, in order. */
  events(frameworkId?: string): SchedulerEvent[];
  executors(): ExecutorView[];
  /** Waits until `probe` returns something other than undefined/false, re-checking on every change. */
  waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs?: number): Promise<T>;

  /** A new leader (index) after a failover; `undefined` leaves no leader (503 everywhere). */
  failoverMaster(newLeader: number | undefined): void;
  /** Framework messages in both directions are dropped while on. */
  dropFrameworkMessages(on: boolean): void;
  rescindOffer(offerId: string): boolean;
  /** SIGKILLs an executor process (tasks → TASK_FAILED REASON_EXECUTOR_TERMINATED, FAILURE to the scheduler). */
  crashExecutor(executorId: string, frameworkId?: string): void;
  injectStreamFault(frameworkId: string, fault: StreamFault): void;
  /** The next `count` scheduler calls (of `types`, if given) are answered with `status` and `body`. */
  failNextCalls(count: number, status: number, options?: { body?: string; types?: string[] }): void;
  stop(): Promise<void>;
}

function resolveOptions(o: MesosClusterOptions): ResolvedOptions {
  return {
    masters: o.masters ?? 1,
    heartbeatIntervalSeconds: o.heartbeatIntervalSeconds ?? 15,
    offerTimeoutMs: o.offerTimeoutMs,
    allocationIntervalMs: o.allocationIntervalMs ?? 1000,
    authenticate: o.authenticate,
    statusUpdateRetryMs: o.statusUpdateRetryMs ?? 10_000,
    executorRegistrationTimeoutMs: o.executorRegistrationTimeoutMs ?? 60_000,
    executorReregistrationTimeoutMs: o.executorReregistrationTimeoutMs ?? 2000,
    recoveryTimeoutMs: o.recoveryTimeoutMs ?? 900_000,
    executorShutdownGracePeriodMs: o.executorShutdownGracePeriodMs ?? 5000,
    executorAuthentication: o.executorAuthentication ?? false,
    recoveringMs: o.recoveringMs ?? 200,
    agentEnv: o.agentEnv ?? {},
    images: o.images ?? {},
    dockerRegistry: o.dockerRegistry,
  };
}

export async function startMesosCluster(options: MesosClusterOptions = {}): Promise<MesosCluster> {
  if (options.dockerRegistry !== undefined && !isAbsolute(options.dockerRegistry)) {
    // The agent's own check (LocalPuller::create).
    throw new Error(`dockerRegistry '${options.dockerRegistry}': expecting a registry path starting with '/'`);
  }
  const state = new ClusterState(resolveOptions(options));
  state.workDir = await mkdtemp(join(tmpdir(), 'sluice-mesos-fake-'));
  const core = new MasterCore(state);
  const link = new MasterLink(core);
  const faults: CallFault[] = [];
  const masters = Array.from({ length: state.options.masters }, (_, i) => new FakeMaster(i, core, faults));
  const agents: FakeAgent[] = [];
  const stopAll = async (): Promise<void> => {
    state.stopped = true;
    core.stop();
    await Promise.all(agents.map((a) => a.stop()));
    await Promise.all(masters.map((m) => m.stop()));
    await rm(state.workDir, { recursive: true, force: true });
  };
  // Agents get addresses of their own in 127/8 (Linux routes all of it to lo), on a network chosen
  // per cluster: TaskManagers bind the ports their offers name on their agent's address, so two
  // fake clusters alive at once (test runs side by side) must not hand out the same address and port.
  const loopbackNet = options.loopbackNetwork ?? randomInt(1, 255);
  try {
    for (const m of masters) await m.start();
    for (const [i, spec] of (options.agents ?? [{}]).entries()) {
      const ip = `127.${loopbackNet}.0.${i + 2}`;
      const s = {
        id: state.agentId(), index: i, ip, hostname: spec.hostname ?? ip, port: 0, total: parseResources(spec.resources ?? DEFAULT_RESOURCES),
        attributes: parseAttributes(spec.attributes ?? ''), domain: spec.domain === undefined ? undefined : { fault_domain: { region: { name: spec.domain.region }, zone: { name: spec.domain.zone } } },
        partitioned: false, down: false, recovering: false, executors: new Map(), updates: new Map(), updateTimers: new Map(),
      };
      state.agents.push(s);
      const agent = new FakeAgent(state, s, link);
      agents.push(agent);
      core.agentGateways.set(s.id, agent);
      await agent.start();
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  core.allocator.start();
  return createHandle(state, core, link, masters, agents, faults, stopAll);
}

function createHandle(state: ClusterState, core: MasterCore, link: MasterLink, masters: FakeMaster[], agents: FakeAgent[], faults: CallFault[], stopAll: () => Promise<void>): MesosCluster {
  const taskView = (t: { taskId: string; frameworkId: string; agentId: string; executorId: string | undefined; state: TaskState; history: TaskState[]; statuses: TaskStatus[] }): TaskView => ({
    taskId: t.taskId, frameworkId: t.frameworkId, agentId: t.agentId, executorId: t.executorId, state: t.state, history: [...t.history], statuses: [...t.statuses],
  });
  const agentHandles: AgentHandle[] = agents.map((agent) => ({
    id: agent.state.id,
    index: agent.state.index,
    ip: agent.state.ip,
    hostname: agent.state.hostname,
    get port() {
      return agent.state.port;
    },
    get endpoint() {
      return agent.endpoint;
    },
    restart: (o = {}) => agent.restart(o.downMs ?? 0),
    partition: () => link.partition(agent.state),
    heal: () => {
      link.heal(agent.state, (f, t) => agent.taskState(f, t));
      agent.updates.resume();
    },
    reserve: (resources, role, principal, labels) => {
      core.allocator.dropOffers((o) => o.agentId === agent.state.id);
      const wire = parseResources(resources).map((r) => {
        const w = toWire(r, { refinement: true, multiRole: false });
        w.reservations = [{ type: 'DYNAMIC', role, ...(principal === undefined ? {} : { principal }), ...(labels === undefined ? {} : { labels: { labels: Object.entries(labels).map(([key, value]) => ({ key, value })) } }) }];
        return w;
      });
      if (changeReservations(agent.state, wire, true, undefined, undefined) === undefined) {
        throw new Error(`agent ${agent.state.id} has no unreserved '${resources}' to reserve for role '${role}'`);
      }
      core.allocator.schedule();
      state.changed();
    },
  }));
  const waitFor = <T>(what: string, probe: () => T | undefined | false, timeoutMs = 30_000): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const check = (): boolean => {
        let v: T | undefined | false;
        try {
          v = probe();
        } catch (err) {
          finish();
          reject(err as Error);
          return true;
        }
        if (v === undefined || v === false) return false;
        finish();
        resolve(v);
        return true;
      };
      const onChange = (): void => void check();
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        state.changes.off('change', onChange);
      };
      state.changes.on('change', onChange);
      check();
    });
  const leaderUrl = masters[0]!.url;
  return {
    masterUrls: masters.map((m) => m.url),
    masterUrl: leaderUrl,
    masterAddress: leaderUrl.slice('http://'.length),
    agents: agentHandles,
    leaderIndex: () => state.leader,
    frameworks: () =>
      [...state.frameworks.values()].map((f) => ({
        id: f.id, info: structuredClone(f.info), roles: [...f.roles], capabilities: [...f.capabilities], connected: f.stream !== undefined && !f.stream.closed,
        streamId: f.streamId, streamIds: [...f.streamIds], suppressedRoles: [...f.suppressedRoles],
      })),
    offers: (frameworkId) =>
      [...state.offers.values()].filter((o) => frameworkId === undefined || o.frameworkId === frameworkId).flatMap((o) => {
        const f = state.frameworks.get(o.frameworkId);
        return f === undefined ? [] : [core.allocator.wire(o, f)];
      }),
    tasks: (frameworkId) => [...state.tasks.values(), ...state.completedTasks].filter((t) => frameworkId === undefined || t.frameworkId === frameworkId).map(taskView),
    task: (taskId) => {
      const t = [...state.tasks.values()].find((x) => x.taskId === taskId) ?? [...state.completedTasks].reverse().find((x) => x.taskId === taskId);
      return t === undefined ? undefined : taskView(t);
    },
    calls: (filter = {}) => state.calls.filter((c) => (filter.api === undefined || c.api === filter.api) && (filter.type === undefined || c.call.type === filter.type)),
    events: (frameworkId) => state.events.filter((e) => frameworkId === undefined || e.frameworkId === frameworkId).map((e) => e.event),
    executors: () =>
      state.executorLog.map((e) => ({
        frameworkId: e.frameworkId, executorId: e.executorId, agentId: e.agentId, pid: e.pid, sandbox: e.sandbox, rootfs: e.rootfs, phase: e.phase,
        subscribed: e.stream !== undefined && !e.stream.closed, exit: e.exit,
      })),
    waitFor,
    failoverMaster: (newLeader) => {
      if (newLeader !== undefined && (newLeader < 0 || newLeader >= masters.length)) throw new RangeError(`no master ${newLeader}: there are ${masters.length}`);
      failoverMaster(core, newLeader);
    },
    dropFrameworkMessages: (on) => {
      state.dropFrameworkMessages = on;
    },
    rescindOffer: (offerId) => core.allocator.rescind(offerId),
    crashExecutor: (executorId, frameworkId) => {
      const ex = agents.flatMap((a) => [...a.state.executors.values()].map((e) => ({ a, e }))).find(({ e }) => e.executorId === executorId && e.phase !== 'terminated' && (frameworkId === undefined || e.frameworkId === frameworkId));
      if (ex === undefined) throw new Error(`no live executor '${executorId}'`);
      ex.a.crash(ex.e);
    },
    injectStreamFault: (frameworkId, fault) => injectStreamFault(core, frameworkId, fault),
    failNextCalls: (count, status, o = {}) => {
      faults.push({ count, status, body: o.body ?? '', types: o.types });
    },
    stop: stopAll,
  };
}
