import { silentLogger } from '@sluice/common';
import { ResourceManager } from '@sluice/jobmanager';
import { decodeTaskManagerLaunch } from '@sluice/mesos-executor';
import { LocalRpcService } from '@sluice/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDriver, eventually, offer, openTestingStore, status, type TestingStore } from './driver.test-helper.js';
import { MesosClusterDriver } from './mesos-cluster-driver.js';

let s: TestingStore;
let rm: ResourceManager | undefined;
let driver: MesosClusterDriver | undefined;

beforeEach(async () => {
  s = await openTestingStore();
});

afterEach(async () => {
  await rm?.stop();
  await driver?.close();
  rm = undefined;
  driver = undefined;
  await s.close();
});

describe('the mesos driver under the ResourceManager', () => {
  it('launches the workers the ResourceManager asks for under its ids, and one replacement per failed worker', async () => {
    const h = createDriver(s, { logger: silentLogger });
    const conn = h.conn;
    driver = h.driver;
    rm = new ResourceManager({ rpc: new LocalRpcService(), address: 'resourcemanager', driver, minWorkers: 2, slotsPerWorker: 3, logger: silentLogger });
    await rm.start();
    await conn.subscribed('fw-1');
    await eventually('two workers recorded', async () => (await s.ha.mesos.workers()).records.length === 2);
    conn.push({ type: 'OFFERS', offers: { offers: [offer('o1', 'agent-1', 'host-1'), offer('o2', 'agent-2', 'host-2')] } });
    await eventually('two launches', () => conn.of('ACCEPT').length === 2);
    const launches = conn.of('ACCEPT').map((c) => decodeTaskManagerLaunch(c.call.accept!.operations![0]!.launch!.task_infos![0]!.data!));
    expect(launches.map((l) => l.slots)).toEqual([3, 3]);
    const records = (await s.ha.mesos.workers()).records;
    expect(launches.map((l) => l.resourceId).sort()).toEqual(records.map((r) => r.resourceId).sort());

    conn.push(status('taskmanager-1', 'TASK_FAILED', { reason: 'REASON_EXECUTOR_TERMINATED' }));
    await eventually('a replacement recorded', async () => (await s.ha.mesos.workers()).records.some((r) => r.workerId === 'taskmanager-3'));
    await new Promise((r) => setTimeout(r, 50));
    expect((await s.ha.mesos.workers()).records.map((r) => [r.workerId, r.state])).toEqual([
      ['taskmanager-2', 'launched'],
      ['taskmanager-3', 'new'],
    ]);
  });
});
