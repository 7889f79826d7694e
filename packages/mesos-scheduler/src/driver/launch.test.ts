import { decodeTaskManagerLaunch } from '@sluice/mesos-executor';
import { encodeSchedulerCall, decodeSchedulerCall } from '@sluice/mesos-proto';
import { describe, expect, it } from 'vitest';
import type { Placement } from '../offers/types.js';
import { PROFILE } from './driver.test-helper.js';
import { buildFrameworkInfo, buildTaskInfo, type TaskLaunchInput } from './launch.js';
import { resolveMesosDriverOptions, type MesosClusterDriverOptions } from './options.js';

const placement: Placement = {
  workerId: 'taskmanager-3',
  offerId: 'o1',
  agentId: 'agent-1',
  hostname: 'host-1.example',
  taskResources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, reservations: [{ type: 'STATIC', role: 'analytics' }], allocation_info: { role: 'analytics' } }],
  executorResources: [{ name: 'mem', type: 'SCALAR', scalar: { value: 64 }, allocation_info: { role: 'analytics' } }],
  ports: { rpc: 31000, data: 31001, metrics: 31002 },
  placed: { workerId: 'taskmanager-3', agentId: 'agent-1', hostname: 'host-1.example', attributes: {} },
};

const input = (over: Partial<TaskLaunchInput> = {}): TaskLaunchInput => ({
  taskId: 'taskmanager-3',
  resourceId: 'rm-3',
  slots: 4,
  frameworkId: 'fw-1',
  placement,
  executor: { command: 'sluice-executor --log-level info' },
  taskManager: { ha: { 'high-availability': 'zookeeper', 'ha-quorum': 'zk1:2181' }, secret: 'sec', workerThreads: 2, extraArgs: ['--tls-cert', 'tm.pem'] },
  ...over,
});

describe('building the TaskInfo of a TaskManager', () => {
  it('runs a command line through the shell when no arguments are given, and echoes the placement resources unchanged', () => {
    const t = buildTaskInfo(input({ executor: { command: 'sluice-executor --log-level info', environment: { SLUICE_LOG_LEVEL: 'info' } } }));
    expect(t.executor!.command).toEqual({ value: 'sluice-executor --log-level info', environment: { variables: [{ name: 'SLUICE_LOG_LEVEL', type: 'VALUE', value: 'info' }] } });
    expect(t.resources).toBe(placement.taskResources);
    expect(t.executor!.resources).toBe(placement.executorResources);
    expect(t.kill_policy).toEqual({ grace_period: { nanoseconds: 15e9 } });
    expect(t.discovery?.ports?.ports?.map((p) => [p.name, p.number])).toEqual([['rpc', 31000], ['data', 31001], ['metrics', 31002]]);
    expect(decodeTaskManagerLaunch(t.data!)).toEqual({
      v: 1,
      resourceId: 'rm-3',
      ha: { 'high-availability': 'zookeeper', 'ha-quorum': 'zk1:2181' },
      secret: 'sec',
      slots: 4,
      ports: { rpc: 31000, data: 31001, metrics: 31002 },
      bindHost: 'host-1.example',
      advertisedHost: 'host-1.example',
      workerThreads: 2,
      extraArgs: ['--tls-cert', 'tm.pem'],
    });
  });

  it('runs the executor in Docker on the host network when asked', () => {
    const t = buildTaskInfo(input({ executor: { command: '/opt/sluice/bin/executor', container: { type: 'DOCKER', image: 'registry/sluice:1', forcePull: true, parameters: { 'memory-swap': '-1' } } } }));
    expect(t.executor!.container).toEqual({ type: 'DOCKER', docker: { image: 'registry/sluice:1', network: 'HOST', force_pull_image: true, parameters: [{ key: 'memory-swap', value: '-1' }] } });
  });

  it('mounts the agent directories asked for into either kind of container', () => {
    const volumes = [{ hostPath: '/mnt/nfs/sluice', containerPath: '/mnt/sluice', mode: 'RW' as const }, { hostPath: '/etc/pki', containerPath: '/etc/pki', mode: 'RO' as const }];
    const wire = [{ mode: 'RW', container_path: '/mnt/sluice', host_path: '/mnt/nfs/sluice' }, { mode: 'RO', container_path: '/etc/pki', host_path: '/etc/pki' }];
    const mesos = buildTaskInfo(input({ executor: { command: 'exec sluice-mesos-executor', container: { type: 'MESOS', image: 'sluice/agent:1', volumes } } }));
    expect(mesos.executor!.container).toEqual({ type: 'MESOS', volumes: wire, mesos: { image: { type: 'DOCKER', docker: { name: 'sluice/agent:1' } } } });
    const docker = buildTaskInfo(input({ executor: { command: 'exec sluice-mesos-executor', container: { type: 'DOCKER', image: 'sluice/agent:1', volumes } } }));
    expect(docker.executor!.container).toMatchObject({ type: 'DOCKER', volumes: wire });
    const back = decodeSchedulerCall(encodeSchedulerCall({ type: 'ACCEPT', framework_id: { value: 'f' }, accept: { offer_ids: [{ value: 'o' }], operations: [{ type: 'LAUNCH', launch: { task_infos: [mesos] } }] } }, 'protobuf'), 'protobuf');
    expect(back.accept!.operations![0]!.launch!.task_infos![0]!.executor!.container!.volumes).toEqual(wire);
  });

  it('encodes as a valid ACCEPT in both of Mesos\u2019s encodings', () => {
    const call = { type: 'ACCEPT' as const, framework_id: { value: 'fw-1' }, accept: { offer_ids: [{ value: 'o1' }], operations: [{ type: 'LAUNCH' as const, launch: { task_infos: [buildTaskInfo(input())] } }], filters: { refuse_seconds: 5 } } };
    for (const enc of ['protobuf', 'json'] as const) {
      const back = decodeSchedulerCall(encodeSchedulerCall(call, enc), enc);
      expect(back.accept!.operations![0]!.launch!.task_infos![0]!.executor!.executor_id).toEqual({ value: 'taskmanager-3-executor' });
    }
  });

  it('builds the FrameworkInfo with the stored id, and never the deprecated role', () => {
    const info = buildFrameworkInfo({ user: 'root', name: 'Sluice prod', failoverTimeoutSeconds: 3600, checkpoint: false, hostname: 'sched-1' }, PROFILE, 'fw-9');
    expect(info).toEqual({
      user: 'root',
      name: 'Sluice prod',
      id: { value: 'fw-9' },
      failover_timeout: 3600,
      checkpoint: false,
      roles: ['*'],
      hostname: 'sched-1',
      capabilities: [{ type: 'MULTI_ROLE' }, { type: 'PARTITION_AWARE' }, { type: 'TASK_KILLING_STATE' }, { type: 'RESERVATION_REFINEMENT' }],
    });
  });
});

describe('checking the driver options', () => {
  const base = {
    leaderToken: 'dispatcher/local-0123456789abcdef',
    profile: PROFILE,
    framework: { user: 'sluice' },
    executor: { command: 'x' },
    taskManager: { cluster: 'sluice://h:1', secret: 's' },
  } as unknown as MesosClusterDriverOptions;

  it.each([
    [{ framework: { user: '' } }, /framework.user must be a non-empty string/],
    [{ profile: { ...PROFILE, ports: ['rpc', 'data'] } }, /must name the ports rpc, data, metrics.*lacks metrics/],
    [{ profile: { ...PROFILE, cpus: 0 } }, /profile.cpus must be a positive number/],
    [{ taskManager: { secret: 's' } }, /needs the cluster address .* or the HA flags/],
    [{ taskManager: { cluster: 'http://h:1', secret: 's' } }, /taskManager.cluster must be sluice:\/\/host:port/],
    [{ framework: { user: 'u', roles: ['a', 'a'] } }, /names 'a' twice/],
    [{ framework: { user: 'u', roles: [] } }, /at least one role/],
    [{ refuseSeconds: 400 * 24 * 3600 }, /refuseSeconds must be a positive number of at most 31536000/],
    [{ reconciliation: { initialBackoffMs: 10_000, maxBackoffMs: 1_000 } }, /maxBackoffMs \(1000\) must not be below initialBackoffMs \(10000\)/],
  ])('refuses %j', (over, message) => {
    expect(() => resolveMesosDriverOptions({ ...base, ...over } as MesosClusterDriverOptions)).toThrow(message);
  });

  it('fills in the defaults', () => {
    expect(resolveMesosDriverOptions(base)).toMatchObject({ roles: ['*'], offerHoldTimeoutMs: 10_000, refuseSeconds: 5, idleRefuseSeconds: 120, implicitReconcileIntervalMs: 600_000 });
  });
});
