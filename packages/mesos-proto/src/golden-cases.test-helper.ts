/**
 * The golden cases of fixtures/make-fixtures.py, written again as Sluice's plain objects (numbers
 * for safe int64s, Buffers for bytes). Kept by hand in step with the Python cases: the golden
 * test fails on any difference.
 */
import type {
  AgentInfo, ExecutorCall, ExecutorEvent, ExecutorInfo, Offer, Resource, ReservationInfo, SchedulerCall,
  SchedulerEvent, TaskInfo, TaskStatus,
} from './index.js';

export const UUID = Buffer.from('9b2f6a3e4c1d4e8a9f001a2b3c4d5e6f', 'hex');
const UUID2 = Buffer.from('0c8e5f7a21b34d6c8e9fa0b1c2d3e4f5', 'hex');
const BINARY = Buffer.concat([Buffer.from([0, 1, 2, 0x0a, 0x7f, 0x80, 0xfe, 0xff]), Buffer.from('slots=4')]);
export const UTF8_JSON = Buffer.from('{"slots":{"free":2,"total":4},"host":"zürich-☃-𝄞"}', 'utf8');
const FW = { value: '4d2f1c1e-9e8a-4b7b-a2a5-6c0d0f6b1e11-0007' };
const AGENT = { value: 'e1b3c1a4-77e9-4c0a-bb51-3b8f2c8d9a10-S3' };
const EXEC = { value: 'sluice-executor-taskmanager-1' };
const TASK = { value: 'taskmanager-1' };

const scalar = (name: string, value: number, extra: Partial<Resource> = {}): Resource => ({ name, type: 'SCALAR', scalar: { value }, ...extra });
const ports = (pairs: [number, number][], extra: Partial<Resource> = {}): Resource => ({
  name: 'ports', type: 'RANGES', ranges: { range: pairs.map(([begin, end]) => ({ begin, end })) }, ...extra,
});
const ALLOC: Partial<Resource> = { allocation_info: { role: 'sluice/batch' } };
const STATIC: ReservationInfo = { type: 'STATIC', role: 'sluice' };
const REFINED: ReservationInfo = { type: 'DYNAMIC', role: 'sluice/batch', principal: 'sluice', labels: { labels: [{ key: 'owner', value: 'sluice' }] } };
const FAULT_DOMAIN = { fault_domain: { region: { name: 'eu-west' }, zone: { name: 'eu-west-1a' } } };

const executorInfo = (): ExecutorInfo => ({
  type: 'CUSTOM',
  executor_id: EXEC,
  framework_id: FW,
  name: 'Sluice executor',
  command: {
    uris: [
      { value: 'http://10.0.0.5:8081/artifacts/sluice.tgz', extract: true, cache: true },
      { value: 'http://10.0.0.5:8081/jobs/job-1.mjs', extract: false, executable: false, output_file: 'job/job.mjs' },
    ],
    environment: {
      variables: [
        { name: 'SLUICE_RPC_SECRET', type: 'SECRET', secret: { type: 'VALUE', value: { data: Buffer.from('s3cr3t') } } },
        { name: 'SLUICE_JOBMANAGER', value: '10.0.0.5:6123' },
      ],
    },
    shell: false,
    value: './sluice/bin/sluice-executor',
    arguments: ['sluice-executor', '--log-level', 'info'],
  },
  resources: [scalar('cpus', 0.1, ALLOC), scalar('mem', 32, ALLOC)],
  shutdown_grace_period: { nanoseconds: 10_000_000_000 },
  labels: { labels: [{ key: 'sluice.component', value: 'executor' }] },
});

const taskInfo = (): TaskInfo => ({
  name: 'Sluice TaskManager 1',
  task_id: TASK,
  agent_id: AGENT,
  resources: [
    scalar('cpus', 1.5, { reservations: [STATIC, REFINED], ...ALLOC }),
    scalar('cpus', 0.5, ALLOC),
    scalar('mem', 2048, { reservations: [STATIC], ...ALLOC }),
    ports([[31000, 31001]], ALLOC),
    scalar('disk', 1024, ALLOC),
  ],
  executor: executorInfo(),
  container: { type: 'MESOS', mesos: { image: { type: 'DOCKER', docker: { name: 'registry.local:5000/sluice/taskmanager:1.0' }, cached: false } } },
  kill_policy: { grace_period: { nanoseconds: 30_000_000_000 } },
  data: UTF8_JSON,
  labels: { labels: [{ key: 'sluice.slots', value: '4' }, { key: 'flag' }] },
  discovery: {
    visibility: 'FRAMEWORK',
    name: 'taskmanager-1',
    ports: { ports: [{ number: 31000, name: 'rpc', protocol: 'tcp' }, { number: 31001, name: 'metrics' }] },
  },
  limits: { cpus: { value: 2 }, mem: { value: 4096 } },
});

const status = (fields: Omit<TaskStatus, 'task_id' | 'agent_id'>): TaskStatus => ({ task_id: TASK, agent_id: AGENT, ...fields });

const offers = (): Offer[] => [
  {
    id: { value: 'o-1' }, framework_id: FW, agent_id: AGENT, hostname: 'agent-3.eu-west-1a',
    url: { scheme: 'http', address: { hostname: 'agent-3', ip: '10.0.0.13', port: 5051 }, path: '/slave(1)' },
    domain: FAULT_DOMAIN,
    allocation_info: { role: 'sluice/batch' },
    resources: [
      scalar('cpus', 4, { reservations: [STATIC, REFINED], ...ALLOC }),
      scalar('cpus', 8, ALLOC),
      scalar('mem', 16384, { reservations: [STATIC], ...ALLOC }),
      scalar('mem', 2048.5, ALLOC),
      ports([[31000, 31099], [32000, 32000]], ALLOC),
      scalar('disk', 100000, { disk: { source: { type: 'MOUNT', mount: { root: '/mnt/disk0' } } }, ...ALLOC }),
      scalar('cpus', 2, { revocable: {}, ...ALLOC }),
      scalar('gpus', 1, ALLOC),
    ],
    attributes: [
      { name: 'rack', type: 'TEXT', text: { value: 'r12' } },
      { name: 'ssd', type: 'SCALAR', scalar: { value: 2 } },
      { name: 'zones', type: 'SET', set: { item: ['a', 'b'] } },
      { name: 'vlan', type: 'RANGES', ranges: { range: [{ begin: 10, end: 20 }] } },
    ],
    executor_ids: [EXEC],
    // Beyond 2^53: kept exact as a decimal string.
    unavailability: { start: { nanoseconds: '1767225600000000000' }, duration: { nanoseconds: 3_600_000_000_000 } },
  },
  {
    id: { value: 'o-2' }, framework_id: FW, agent_id: { value: 'S4' }, hostname: 'agent-4',
    resources: [
      scalar('cpus', 2, { role: 'sluice', reservation: { principal: 'ops', labels: { labels: [{ key: 'k', value: 'v' }] } } }),
      scalar('mem', 1024, { role: '*' }),
    ],
  },
];

const agentInfo: AgentInfo = {
  hostname: 'agent-3', port: 5051, id: AGENT,
  resources: [scalar('cpus', 16), ports([[31000, 32000]])],
  attributes: [{ name: 'rack', type: 'TEXT', text: { value: 'r12' } }],
  domain: FAULT_DOMAIN,
};

export type GoldenCase =
  | { type: 'mesos.v1.scheduler.Call'; value: SchedulerCall }
  | { type: 'mesos.v1.scheduler.Event'; value: SchedulerEvent }
  | { type: 'mesos.v1.executor.Call'; value: ExecutorCall }
  | { type: 'mesos.v1.executor.Event'; value: ExecutorEvent };

const call = (value: SchedulerCall): GoldenCase => ({ type: 'mesos.v1.scheduler.Call', value });
const event = (value: SchedulerEvent): GoldenCase => ({ type: 'mesos.v1.scheduler.Event', value });
const execCall = (value: ExecutorCall): GoldenCase => ({ type: 'mesos.v1.executor.Call', value });
const execEvent = (value: ExecutorEvent): GoldenCase => ({ type: 'mesos.v1.executor.Event', value });

export const GOLDEN_CASES: Readonly<Record<string, GoldenCase>> = {
  'scheduler-call-subscribe': call({
    type: 'SUBSCRIBE',
    subscribe: {
      framework_info: {
        user: 'sluice', name: 'Sluice', failover_timeout: 604800, checkpoint: true,
        roles: ['sluice', 'sluice/batch'], hostname: 'sluice-rm-1', principal: 'sluice',
        webui_url: 'http://sluice-rm-1:8081/',
        capabilities: (['MULTI_ROLE', 'PARTITION_AWARE', 'TASK_KILLING_STATE', 'RESERVATION_REFINEMENT', 'GPU_RESOURCES'] as const).map((type) => ({ type })),
        labels: { labels: [{ key: 'sluice.cluster', value: 'prod' }] },
      },
      suppressed_roles: ['sluice/batch'],
      offer_constraints: {
        role_constraints: {
          sluice: {
            groups: [{
              attribute_constraints: [
                { selector: { attribute_name: 'rack' }, predicate: { text_matches: { regex: 'r1[0-9]' } } },
                { selector: { pseudoattribute_type: 'HOSTNAME' }, predicate: { exists: {} } },
              ],
            }],
          },
        },
      },
    },
  }),
  'scheduler-call-resubscribe': call({
    framework_id: FW, type: 'SUBSCRIBE',
    subscribe: { framework_info: { user: 'sluice', name: 'Sluice', id: FW, failover_timeout: 604800, checkpoint: true, roles: ['sluice'], capabilities: [{ type: 'MULTI_ROLE' }] } },
  }),
  'scheduler-call-accept-launch': call({
    framework_id: FW, type: 'ACCEPT',
    accept: { offer_ids: [{ value: 'o-1' }, { value: 'o-3' }], operations: [{ type: 'LAUNCH', launch: { task_infos: [taskInfo()] } }], filters: { refuse_seconds: 10 } },
  }),
  'scheduler-call-accept-launch-group': call({
    framework_id: FW, type: 'ACCEPT',
    accept: {
      offer_ids: [{ value: 'o-9' }],
      operations: [
        { type: 'RESERVE', id: { value: 'op-1' }, reserve: { resources: [scalar('cpus', 1, { reservations: [STATIC, REFINED], ...ALLOC })] } },
        {
          type: 'LAUNCH_GROUP',
          launch_group: {
            executor: { type: 'DEFAULT', executor_id: { value: 'group-executor' }, framework_id: FW, resources: [scalar('cpus', 0.1, ALLOC)] },
            task_group: {
              tasks: [
                {
                  name: 'tm-2', task_id: { value: 'taskmanager-2' }, agent_id: AGENT, resources: [scalar('cpus', 1, ALLOC)],
                  command: { value: 'sluice taskmanager', shell: true },
                  container: {
                    type: 'DOCKER',
                    docker: {
                      image: 'sluice/taskmanager:1.0', network: 'BRIDGE', port_mappings: [{ host_port: 31000, container_port: 6121, protocol: 'tcp' }],
                      privileged: false, parameters: [{ key: 'ulimit', value: 'nofile=65536' }], force_pull_image: true,
                    },
                  },
                },
                { name: 'tm-3', task_id: { value: 'taskmanager-3' }, agent_id: AGENT, resources: [scalar('mem', 512, ALLOC)], max_completion_time: { nanoseconds: 86_400_000_000_000 } },
              ],
            },
          },
        },
      ],
    },
  }),
  'scheduler-call-decline': call({ framework_id: FW, type: 'DECLINE', decline: { offer_ids: [{ value: 'o-1' }, { value: 'o-2' }], filters: { refuse_seconds: 3600 } } }),
  'scheduler-call-acknowledge': call({ framework_id: FW, type: 'ACKNOWLEDGE', acknowledge: { agent_id: AGENT, task_id: TASK, uuid: UUID } }),
  'scheduler-call-reconcile': call({ framework_id: FW, type: 'RECONCILE', reconcile: { tasks: [{ task_id: TASK, agent_id: AGENT }, { task_id: { value: 'taskmanager-2' } }] } }),
  'scheduler-call-reconcile-implicit': call({ framework_id: FW, type: 'RECONCILE', reconcile: {} }),
  'scheduler-call-kill': call({ framework_id: FW, type: 'KILL', kill: { task_id: TASK, agent_id: AGENT, kill_policy: { grace_period: { nanoseconds: 5_000_000_000 } } } }),
  'scheduler-call-suppress': call({ framework_id: FW, type: 'SUPPRESS', suppress: { roles: ['sluice'] } }),
  'scheduler-call-revive': call({ framework_id: FW, type: 'REVIVE', revive: { roles: ['sluice', 'sluice/batch'] } }),
  'scheduler-call-message': call({ framework_id: FW, type: 'MESSAGE', message: { agent_id: AGENT, executor_id: EXEC, data: BINARY } }),
  'scheduler-call-shutdown': call({ framework_id: FW, type: 'SHUTDOWN', shutdown: { executor_id: EXEC, agent_id: AGENT } }),
  'scheduler-call-teardown': call({ framework_id: FW, type: 'TEARDOWN' }),
  'scheduler-event-subscribed': event({
    type: 'SUBSCRIBED',
    subscribed: {
      framework_id: FW, heartbeat_interval_seconds: 15,
      master_info: {
        id: 'a3f0c2d1-5e6b-4a7c-8d9e-0f1a2b3c4d5e', ip: 1006633482, port: 5050, pid: 'master@10.0.0.60:5050', hostname: 'mesos-master-1', version: '1.12.0',
        address: { hostname: 'mesos-master-1', ip: '10.0.0.60', port: 5050 }, domain: FAULT_DOMAIN,
        capabilities: [{ type: 'AGENT_UPDATE' }, { type: 'AGENT_DRAINING' }, { type: 'QUOTA_V2' }],
      },
    },
  }),
  'scheduler-event-offers': event({ type: 'OFFERS', offers: { offers: offers() } }),
  'scheduler-event-update': event({
    type: 'UPDATE',
    update: {
      status: status({
        state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', message: 'TaskManager registered', data: UTF8_JSON, executor_id: EXEC,
        timestamp: 1767225600.125, uuid: UUID, healthy: true, labels: { labels: [{ key: 'slots', value: '4' }] },
        container_status: { container_id: { value: 'c-1' }, network_infos: [{ ip_addresses: [{ protocol: 'IPv4', ip_address: '10.0.0.13' }], name: 'host' }], executor_pid: 4242 },
      }),
    },
  }),
  'scheduler-event-update-reconciliation': event({
    type: 'UPDATE',
    update: {
      status: status({
        state: 'TASK_UNREACHABLE', source: 'SOURCE_MASTER', reason: 'REASON_RECONCILIATION', message: 'Reconciliation: Task is unreachable',
        timestamp: 1767225700.5, unreachable_time: { nanoseconds: '1767225690000000000' },
      }),
    },
  }),
  'scheduler-event-update-failed': event({
    type: 'UPDATE',
    update: {
      status: status({
        state: 'TASK_FAILED', source: 'SOURCE_AGENT', reason: 'REASON_CONTAINER_LIMITATION_MEMORY', uuid: UUID2, executor_id: EXEC,
        limitation: { resources: [scalar('mem', 2048)] },
      }),
    },
  }),
  'scheduler-event-rescind': event({ type: 'RESCIND', rescind: { offer_id: { value: 'o-1' } } }),
  'scheduler-event-message': event({ type: 'MESSAGE', message: { agent_id: AGENT, executor_id: EXEC, data: UTF8_JSON } }),
  'scheduler-event-failure': event({ type: 'FAILURE', failure: { agent_id: AGENT, executor_id: EXEC, status: 9 } }),
  'scheduler-event-error': event({ type: 'ERROR', error: { message: 'Framework has been removed' } }),
  'scheduler-event-heartbeat': event({ type: 'HEARTBEAT' }),
  'executor-call-subscribe': execCall({
    executor_id: EXEC, framework_id: FW, type: 'SUBSCRIBE',
    subscribe: {
      unacknowledged_tasks: [{ name: 'tm-1', task_id: TASK, agent_id: AGENT, resources: [scalar('cpus', 1)], executor: { executor_id: EXEC, command: { value: 'sluice-executor' } } }],
      unacknowledged_updates: [{ status: status({ state: 'TASK_STARTING', source: 'SOURCE_EXECUTOR', executor_id: EXEC, uuid: UUID, timestamp: 1767225600 }) }],
    },
  }),
  'executor-call-update': execCall({
    executor_id: EXEC, framework_id: FW, type: 'UPDATE',
    update: {
      status: {
        task_id: TASK, state: 'TASK_KILLED', source: 'SOURCE_EXECUTOR', reason: 'REASON_EXECUTOR_TERMINATED',
        message: 'TaskManager exited with signal SIGTERM', uuid: UUID2, timestamp: 1767225800.75,
      },
    },
  }),
  'executor-call-message': execCall({ executor_id: EXEC, framework_id: FW, type: 'MESSAGE', message: { data: UTF8_JSON } }),
  'executor-call-heartbeat': execCall({ executor_id: EXEC, framework_id: FW, type: 'HEARTBEAT' }),
  'executor-event-subscribed': execEvent({
    type: 'SUBSCRIBED',
    subscribed: {
      executor_info: executorInfo(),
      framework_info: {
        user: 'sluice', name: 'Sluice', id: FW, failover_timeout: 604800, checkpoint: true, roles: ['sluice'],
        capabilities: [{ type: 'MULTI_ROLE' }, { type: 'TASK_KILLING_STATE' }],
      },
      agent_info: agentInfo,
      container_id: { value: 'c-2', parent: { value: 'c-1' } },
    },
  }),
  'executor-event-launch': execEvent({ type: 'LAUNCH', launch: { task: taskInfo() } }),
  'executor-event-kill': execEvent({ type: 'KILL', kill: { task_id: TASK, kill_policy: { grace_period: { nanoseconds: 30_000_000_000 } } } }),
  'executor-event-acknowledged': execEvent({ type: 'ACKNOWLEDGED', acknowledged: { task_id: TASK, uuid: UUID } }),
  'executor-event-message': execEvent({ type: 'MESSAGE', message: { data: BINARY } }),
  'executor-event-shutdown': execEvent({ type: 'SHUTDOWN' }),
};
