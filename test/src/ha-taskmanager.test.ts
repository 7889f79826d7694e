/**
 * A TaskManager started by hand (`sluice taskmanager --high-availability zookeeper`, on "another
 * host") finds the leading entrypoint through ZooKeeper, and when the leader dies it registers
 * at the standby that took over — by itself, without a restart — and runs the new leader's jobs.
 * A job that finished under the first leader is not run again by the second.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomId } from '@sluice/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliProcesses, type CliProcesses } from './cli-process.js';
import { leaderOf, rest, restTokenOf, restWhenLed, startHaEntrypoint, submitBundled, waitForJobEnd, type HaClusterOptions } from './ha-cluster.js';
import { waitFor } from './leaks.js';
import { startZookeeper, zookeeperSkipReason, type ZookeeperEnsemble } from './zookeeper.js';

const skipReason = await zookeeperSkipReason();
if (skipReason !== undefined) console.log(`HA TaskManager tests skipped (${skipReason})`);

describe.skipIf(skipReason !== undefined)('high availability: a standalone TaskManager follows the leader', () => {
  let zk: ZookeeperEnsemble;
  let home = '';
  let procs: CliProcesses;
  beforeAll(async () => {
    zk = await startZookeeper();
    home = mkdtempSync(join(tmpdir(), 'sluice-ha-tm-'));
    procs = cliProcesses(home);
  }, 120_000);
  afterEach(() => procs.killAll());
  afterAll(async () => {
    await zk?.stop();
    rmSync(home, { recursive: true, force: true });
  }, 60_000);

  it('registers at the leader, then at the standby that takes over after kill -9, and runs its jobs', async () => {
    const o: HaClusterOptions = { quorum: zk.connectString, clusterId: `tm-${randomId(6)}`, storageDir: join(home, 'shared'), sessionTimeoutMs: 4_000, taskManagers: 0 };
    const a = await startHaEntrypoint(procs, 'a', home, o);
    const b = await startHaEntrypoint(procs, 'b', home, o);
    const { leader } = await leaderOf([a, b], o);
    const standby = leader === a ? b : a;
    const token = restTokenOf(o);
    const tm = procs.start(
      ['taskmanager', '--high-availability', 'zookeeper', '--ha-quorum', o.quorum, '--ha-cluster-id', o.clusterId, '--ha-session-timeout', '4000',
        '--secret-file', join(o.storageDir, o.clusterId, 'secret'), '--slots', '2', '--resource-id', 'tm-by-hand'],
      { SLUICE_LOG_LEVEL: 'info' },
    );
    const overview = (e: typeof a) => restWhenLed<{ taskManagers: number; slotsTotal: number }>(e, token, '/overview');
    await waitFor('the TaskManager registered at the leader', async () => ((await overview(leader))?.taskManagers === 1 ? true : undefined), 60_000);
    expect(tm.out.stdout).toContain(`TaskManager tm-by-hand registered at the leading entrypoint`);
    // A job that ends under the first leader is not run again by the next one.
    const finished = await submitBundled(leader, token, 'smoke.ts', {}, 2);
    expect((await waitForJobEnd(leader, token, finished, 60_000)).status).toBe('FINISHED');

    leader.process.child.kill('SIGKILL');
    await leaderOf([standby], o);
    // The standby started no TaskManager of its own (--taskmanagers 0): the one registered is the one by hand.
    await waitFor('the TaskManager registered at the new leader', async () => ((await overview(standby))?.slotsTotal === 2 ? true : undefined), 60_000);
    const tms = await rest<{ taskManagers: { resourceId: string }[] }>(standby, token, 'GET', '/taskmanagers');
    expect(tms.taskManagers.map((t) => t.resourceId)).toEqual(['tm-by-hand']);
    expect(tm.out.stdout + tm.out.stderr).toContain(`the cluster's leader moved to ${standby.rpcAddress}`);
    expect(tm.child.exitCode).toBeNull();

    const jobId = await submitBundled(standby, token, 'smoke.ts', {}, 2);
    const end = await waitForJobEnd(standby, token, jobId, 60_000);
    expect(end.result?.error?.message).toBeUndefined();
    expect(end.status).toBe('FINISHED');
    expect(standby.output()).not.toContain(`jobId=${finished}`);
    expect((await rest<{ jobs: { jobId: string }[] }>(standby, token, 'GET', '/jobs')).jobs.map((j) => j.jobId)).toEqual([jobId]);
  }, 180_000);
});
