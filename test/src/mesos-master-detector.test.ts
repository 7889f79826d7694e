/**
 * The Mesos master connection finding its leader in a real ZooKeeper (test/src/zookeeper.ts), as
 * Mesos masters register there: ephemeral sequential `json.info_<seq>` znodes holding MasterInfo
 * as JSON, the lowest sequence leading. The masters are the scripted ones of the connection's
 * unit tests.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@sluice/common';
import { createMasterConnection, type HttpMasterConnection } from '@sluice/mesos-scheduler';
import { ZooKeeperClient } from '@sluice/zookeeper';
import { capturingLogger, RecordingScheduler, TestingMesosMaster } from '../../packages/mesos-scheduler/src/master/testing-master.test-helper.js';
import { startZookeeper, zookeeperSkipReason, type ZookeeperEnsemble } from './zookeeper.js';

const skipReason = await zookeeperSkipReason();
if (skipReason !== undefined) console.log(`Mesos master detection tests skipped (${skipReason})`);

/** MasterInfo as a Mesos master writes it into ZooKeeper (ip is IPv4 in network order: 127.0.0.1). */
function masterInfo(master: TestingMesosMaster, id: string, withHostname: boolean): string {
  return JSON.stringify({
    id,
    ip: 16777343,
    port: master.port,
    pid: `master@127.0.0.1:${master.port}`,
    hostname: withHostname ? '127.0.0.1' : 'master-host-that-does-not-resolve',
    version: '1.11.0',
    address: { ...(withHostname ? { hostname: '127.0.0.1' } : {}), ip: '127.0.0.1', port: master.port },
  });
}

describe.skipIf(skipReason !== undefined)('Mesos master detection from ZooKeeper', () => {
  let zk: ZookeeperEnsemble;
  const cleanups: Array<() => Promise<void>> = [];

  async function session(): Promise<ZooKeeperClient> {
    const client = new ZooKeeperClient({ connectString: zk.connectString, sessionTimeoutMs: 10_000, logger: silentLogger });
    cleanups.push(() => client.close());
    await client.start();
    return client;
  }

  async function master(): Promise<TestingMesosMaster> {
    const m = await TestingMesosMaster.start();
    cleanups.push(() => m.stop());
    return m;
  }

  function connect(path: string): { connection: HttpMasterConnection; scheduler: RecordingScheduler; log: ReturnType<typeof capturingLogger> } {
    const log = capturingLogger();
    const connection = createMasterConnection({ master: `zk://${zk.connectString}${path}`, logger: log.logger, backoffInitialMs: 5, backoffMaxMs: 40 });
    cleanups.unshift(() => connection.close());
    const scheduler = new RecordingScheduler();
    let stored: string | undefined;
    scheduler.onSubscribedHook = () => {
      stored = scheduler.subscribed.at(-1)?.frameworkId;
    };
    connection.start(() => ({ user: 'sluice', name: 'sluice-test', ...(stored === undefined ? {} : { id: { value: stored } }) }), scheduler);
    return { connection, scheduler, log };
  }

  beforeAll(async () => {
    zk = await startZookeeper();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  afterAll(async () => {
    await zk?.stop();
  });

  it('waits for a master to register, subscribes to the lowest sequence, and follows the leader when it goes', async () => {
    const a = await master();
    const b = await master();
    const { connection, scheduler, log } = connect('/mesos');
    await log.until(/no Mesos master registered in ZooKeeper .* at \/mesos yet \(the path does not exist\); waiting for one/);
    expect(connection.state).toBe('subscribing');

    const sessionA = await session();
    const sessionB = await session();
    const nodeA = await sessionA.create('/mesos/json.info_', masterInfo(a, 'master-a', true), { mode: 'ephemeral_sequential', parents: true });
    await scheduler.until(() => scheduler.subscribed.length === 1, 'SUBSCRIBED from the first leader');
    expect(nodeA).toMatch(/^\/mesos\/json\.info_\d{10}$/);
    expect(scheduler.subscribed[0]?.masterHost).toBe(a.address);

    // A later registration does not lead; when the leader's session ends, its node goes and b leads.
    await sessionB.create('/mesos/json.info_', masterInfo(b, 'master-b', false), { mode: 'ephemeral_sequential' });
    await sessionA.close();
    await scheduler.until(() => scheduler.subscribed.length === 2, 'SUBSCRIBED from the new leader');

    expect(scheduler.subscribed[1]?.masterHost).toBe(b.address);
    expect(scheduler.log).toEqual(['subscribed', 'disconnected', 'subscribed']);
    expect(scheduler.disconnects).toEqual([`the leading Mesos master is now ${b.address}`]);
    expect(b.subscribes()[0]?.call).toMatchObject({ framework_id: { value: 'fw-1' } });
    await a.until(() => a.streams[0]?.closed === true, "the old leader's stream closed");
    expect(a.subscribes()).toHaveLength(1);
  });

  it('ignores nodes that are not registrations and logs an unusable one', async () => {
    const a = await master();
    const registrar = await session();
    await registrar.create('/mesos2/log_replicas', '', { parents: true });
    await registrar.create('/mesos2/json.info_', 'not json', { mode: 'ephemeral_sequential' });
    const { scheduler, log } = connect('/mesos2');
    await log.until(/the leading Mesos master's registration \/mesos2\/json\.info_\d+ in ZooKeeper .* is unusable: not JSON/);

    // A working master registers after it; the broken leader's node goes, so the new one leads.
    await registrar.create('/mesos2/json.info_', masterInfo(a, 'master-a', true), { mode: 'ephemeral_sequential' });
    const [broken] = (await registrar.getChildren('/mesos2')).filter((c) => c.startsWith('json.info_')).sort();
    await registrar.delete(`/mesos2/${broken as string}`);
    await scheduler.until(() => scheduler.subscribed.length === 1, 'SUBSCRIBED');
    expect(scheduler.subscribed[0]?.masterHost).toBe(a.address);
  });
});
