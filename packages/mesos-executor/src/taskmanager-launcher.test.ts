import { parseTaskManagerArgs } from '@sluice/cluster';
import { describe, expect, it } from 'vitest';
import { taskManagerLaunch } from './executor-harness.test-helper.js';
import { secretFileOf, taskManagerArgs } from './taskmanager-launcher.js';

describe('taskManagerArgs', () => {
  it('gives the TaskManager the flags its own parser reads back as the launch said', () => {
    const launch = taskManagerLaunch({ ports: { rpc: 31000, data: 31001, metrics: 31002 }, bindHost: '0.0.0.0', workerThreads: 4 });
    expect(parseTaskManagerArgs(taskManagerArgs(launch, '/sandbox/.sluice-secret-taskmanager-1'))).toEqual({
      cluster: 'sluice://127.0.0.1:6123',
      secretFile: '/sandbox/.sluice-secret-taskmanager-1',
      slots: 2,
      resourceId: 'taskmanager-1',
      bindHost: '0.0.0.0',
      advertisedHost: 'agent-1.test',
      rpcPort: 31000,
      dataPort: 31001,
      metricsPort: 31002,
      metricsHost: '0.0.0.0',
      workerThreads: 4,
    });
  });

  it('passes the HA flags (adding --high-availability zookeeper) instead of --cluster, and the extra flags last', () => {
    const { cluster: _cluster, ...rest } = taskManagerLaunch();
    const launch = { ...rest, ha: { 'ha-quorum': 'zk-1:2181,zk-2:2181', 'ha-root': '/sluice', 'ha-cluster-id': 'prod' }, extraArgs: ['--cache-dir', '/sandbox/cache'] };
    const args = taskManagerArgs(launch, '/s');
    expect(args.slice(0, 5)).toEqual(['--high-availability', 'zookeeper', '--ha-quorum=zk-1:2181,zk-2:2181', '--ha-root=/sluice', '--ha-cluster-id=prod']);
    expect(args.slice(-2)).toEqual(['--cache-dir', '/sandbox/cache']);
    expect(parseTaskManagerArgs(args)).toMatchObject({
      ha: { mode: 'zookeeper', quorum: 'zk-1:2181,zk-2:2181', rootPath: '/sluice', clusterId: 'prod' },
      cacheDir: '/sandbox/cache',
    });
  });

  it('keeps the secret file name inside the sandbox whatever the task id holds', () => {
    expect(secretFileOf('/sandbox', '../../etc/passwd')).toBe('/sandbox/.sluice-secret-.._.._etc_passwd');
  });
});
